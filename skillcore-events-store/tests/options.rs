//! Every option of `EventBusBuilder` is honoured, or refused by `build()`
//! with an error naming the option and the backend, on each backend: in
//! process, durable SQLite and durable PostgreSQL. One table: a row per
//! option, what it must do where it is honoured, and where it is refused.

mod common;

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::{
    handler, BuildError, Envelope, EventBus, EventBusBuilder, HandlerContext, HandlerError,
    HandlerOptions, Metadata, RetryPolicy, Scope,
};
use skillcore_events_store::{Durable, Store};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

fn grade(agg: u128, i: usize) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::from_u128(agg),
            line_item_id: "li-1".into(),
            student_id: "stu-1".into(),
            class_id: "cls-1".into(),
            points_earned: i as f64,
            points_possible: 100.0,
            score_percent: i as f64,
            letter_grade: LetterGrade::B,
            previous_score: None,
            graded_by_id: "tch-1".into(),
            posted_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
            district_id: "dst-1".into(),
            school_id: "sch-1".into(),
            comment: None,
        },
        Metadata::new("dst-1", "sch-1"),
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Memory,
    Sqlite,
    Postgres,
}

const KINDS: [Kind; 3] = [Kind::Memory, Kind::Sqlite, Kind::Postgres];

/// Puts the bus on the backend of `kind` (a fresh store for the durable ones).
async fn on(kind: Kind, b: EventBusBuilder) -> (EventBusBuilder, Option<Store>) {
    let store = match kind {
        Kind::Memory => return (b, None),
        Kind::Sqlite => common::sqlite().await.0,
        Kind::Postgres => common::postgres().await.0,
    };
    let durable = Durable::store(store.clone()).idle_poll(Duration::from_millis(10));
    (b.backend(durable), Some(store))
}

/// Each attempt of the handler under test: (the event's points earned, attempt, when).
type Attempts = Arc<Mutex<Vec<(usize, u32, Instant)>>>;

/// A bus with quiet logs whose `analytics.update_gpa` handler records every
/// attempt and then does what `act` says.
fn recording<F, Fut>(attempts: &Attempts, options: HandlerOptions, act: F) -> EventBusBuilder
where
    F: Fn(usize, u32) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let attempts = Arc::clone(attempts);
    let act = Arc::new(act);
    EventBus::builder()
        .log_events(false)
        .log_handlers(false)
        .subscribe_with::<gradebook::GradePosted, _, _>(
            "analytics.update_gpa",
            options,
            move |e, cx: HandlerContext| {
                let attempts = Arc::clone(&attempts);
                let act = Arc::clone(&act);
                async move {
                    let i = e.payload.points_earned as usize;
                    attempts
                        .lock()
                        .unwrap()
                        .push((i, cx.attempt, Instant::now()));
                    act(i, cx.attempt).await
                }
            },
        )
}

async fn fails(_: usize, _: u32) -> Result<(), HandlerError> {
    Err(HandlerError::msg("always fails"))
}

async fn settle(bus: &EventBus) {
    tokio::time::timeout(Duration::from_secs(30), bus.idle())
        .await
        .expect("the bus settles within 30 s");
}

/// The gaps between consecutive attempts of each event.
fn gaps(attempts: &Attempts) -> Vec<Duration> {
    let a = attempts.lock().unwrap();
    let mut out = Vec::new();
    for (i, n, t) in a.iter() {
        if let Some((_, _, before)) = a.iter().find(|(j, m, _)| j == i && *m + 1 == *n) {
            out.push(t.duration_since(*before));
        }
    }
    out
}

type Check = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// What a row expects of one backend.
enum Expect {
    /// The option works: this check passes.
    Honoured(fn(Kind) -> Check),
    /// `build()` refuses it with `UnsupportedOption` naming this method.
    Refused(&'static str),
}

struct Row {
    option: &'static str,
    expect: fn(Kind) -> Expect,
}

fn ensure(ok: bool, what: impl Into<String>) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what.into())
    }
}

/// `default_retries(1)`: two attempts, then one dead letter of 2 attempts.
fn retries(kind: Kind) -> Check {
    Box::pin(async move {
        let attempts = Attempts::default();
        let b = recording(&attempts, HandlerOptions::new(), fails)
            .default_retries(1)
            .default_backoff(Duration::from_millis(5));
        let (b, _store) = on(kind, b).await;
        let bus = b.build().map_err(|e| e.to_string())?;
        bus.publish(grade(1, 0)).await.map_err(|e| e.to_string())?;
        settle(&bus).await;
        let n = attempts.lock().unwrap().len();
        let letters = bus
            .dead_letters(&Scope::AllDistricts)
            .await
            .map_err(|e| e.to_string())?;
        bus.shutdown(Duration::from_secs(5)).await;
        ensure(n == 2, format!("{n} attempts, not 2"))?;
        ensure(
            letters.len() == 1 && letters[0].attempts == 2,
            format!("dead letters: {letters:?}"),
        )
    })
}

/// `default_backoff(150ms)` (default jitter ±20 %): the retry comes after
/// 120 ms at least, and well before the 2 s default.
fn backoff(kind: Kind) -> Check {
    Box::pin(async move {
        let attempts = Attempts::default();
        let b = recording(&attempts, HandlerOptions::new().retries(1), fails)
            .default_backoff(Duration::from_millis(150));
        let (b, _store) = on(kind, b).await;
        let bus = b.build().map_err(|e| e.to_string())?;
        bus.publish(grade(1, 0)).await.map_err(|e| e.to_string())?;
        settle(&bus).await;
        bus.shutdown(Duration::from_secs(5)).await;
        let g = gaps(&attempts);
        ensure(
            g.len() == 1
                && g[0] >= Duration::from_millis(120)
                && g[0] < Duration::from_millis(1500),
            format!("gaps {g:?}"),
        )
    })
}

/// `jitter(0.0)`: no retry comes before its nominal delay (with jitter, a
/// fifth of them would come up to 20 % early).
fn jitter(kind: Kind) -> Check {
    Box::pin(async move {
        let attempts = Attempts::default();
        let b = recording(&attempts, HandlerOptions::new().retries(1), fails)
            .default_backoff(Duration::from_millis(100))
            .jitter(0.0);
        let (b, _store) = on(kind, b).await;
        let bus = b.build().map_err(|e| e.to_string())?;
        for i in 0..12 {
            bus.publish(grade(i as u128 + 1, i))
                .await
                .map_err(|e| e.to_string())?;
        }
        settle(&bus).await;
        bus.shutdown(Duration::from_secs(5)).await;
        let g = gaps(&attempts);
        ensure(
            g.len() == 12 && g.iter().all(|d| *d >= Duration::from_millis(99)),
            format!("gaps {g:?}"),
        )
    })
}

/// `retry_policy(max_backoff 40 ms)`: delays are capped, so three attempts
/// with a 2 s backoff take well under a second.
fn max_backoff(kind: Kind) -> Check {
    Box::pin(async move {
        let attempts = Attempts::default();
        let b = recording(&attempts, HandlerOptions::new(), fails).retry_policy(RetryPolicy {
            attempts: 3,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_millis(40),
            jitter: 0.0,
            timeout: Some(Duration::from_secs(5)),
        });
        let (b, _store) = on(kind, b).await;
        let bus = b.build().map_err(|e| e.to_string())?;
        bus.publish(grade(1, 0)).await.map_err(|e| e.to_string())?;
        settle(&bus).await;
        bus.shutdown(Duration::from_secs(5)).await;
        let g = gaps(&attempts);
        ensure(
            g.len() == 2 && g.iter().all(|d| *d < Duration::from_millis(900)),
            format!("gaps {g:?}"),
        )
    })
}

/// `default_timeout(50ms)`: an attempt that sleeps 5 s is cut off, and the
/// dead letter says it timed out.
fn timeout(kind: Kind) -> Check {
    Box::pin(async move {
        let attempts = Attempts::default();
        let b = recording(&attempts, HandlerOptions::new().retries(0), |_, _| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        })
        .default_timeout(Some(Duration::from_millis(50)));
        let (b, _store) = on(kind, b).await;
        let bus = b.build().map_err(|e| e.to_string())?;
        let started = Instant::now();
        bus.publish(grade(1, 0)).await.map_err(|e| e.to_string())?;
        settle(&bus).await;
        let took = started.elapsed();
        let letters = bus
            .dead_letters(&Scope::AllDistricts)
            .await
            .map_err(|e| e.to_string())?;
        bus.shutdown(Duration::from_secs(5)).await;
        ensure(took < Duration::from_secs(4), format!("took {took:?}"))?;
        ensure(
            letters.len() == 1 && letters[0].last_error.contains("timed out"),
            format!("dead letters: {letters:?}"),
        )
    })
}

/// `HandlerOptions::ordered`: one aggregate's events in publish order,
/// though earlier ones take longer.
fn ordered(kind: Kind) -> Check {
    Box::pin(async move {
        let attempts = Attempts::default();
        let b = recording(
            &attempts,
            HandlerOptions::new().ordered(true),
            |i, _| async move {
                tokio::time::sleep(Duration::from_millis(4 * (8 - i as u64))).await;
                Ok(())
            },
        );
        let (b, _store) = on(kind, b).await;
        let bus = b.build().map_err(|e| e.to_string())?;
        for i in 0..8 {
            bus.publish(grade(1, i)).await.map_err(|e| e.to_string())?;
        }
        settle(&bus).await;
        bus.shutdown(Duration::from_secs(5)).await;
        let order: Vec<usize> = attempts.lock().unwrap().iter().map(|a| a.0).collect();
        ensure(
            order == (0..8).collect::<Vec<_>>(),
            format!("order {order:?}"),
        )
    })
}

/// `idempotency_window(0)` in process: the record is off, so a redelivered
/// event runs its handler again.
fn window_off(kind: Kind) -> Check {
    Box::pin(async move {
        let attempts = Attempts::default();
        let b = recording(&attempts, HandlerOptions::new(), |_, _| async { Ok(()) })
            .idempotency_window(0);
        let (b, _store) = on(kind, b).await;
        let bus = b.build().map_err(|e| e.to_string())?;
        let e = grade(1, 0);
        bus.publish(e.clone()).await.map_err(|e| e.to_string())?;
        settle(&bus).await;
        bus.publish(e).await.map_err(|e| e.to_string())?;
        settle(&bus).await;
        bus.shutdown(Duration::from_secs(5)).await;
        let n = attempts.lock().unwrap().len();
        ensure(n == 2, format!("{n} runs, not 2"))
    })
}

/// `dead_letter_capacity(1)` in process: of three dead letters, one is kept.
fn capacity(kind: Kind) -> Check {
    Box::pin(async move {
        let attempts = Attempts::default();
        let b =
            recording(&attempts, HandlerOptions::new().retries(0), fails).dead_letter_capacity(1);
        let (b, _store) = on(kind, b).await;
        let bus = b.build().map_err(|e| e.to_string())?;
        for i in 0..3 {
            bus.publish(grade(i + 1, 0))
                .await
                .map_err(|e| e.to_string())?;
        }
        settle(&bus).await;
        let letters = bus
            .dead_letters(&Scope::AllDistricts)
            .await
            .map_err(|e| e.to_string())?;
        bus.shutdown(Duration::from_secs(5)).await;
        ensure(
            letters.len() == 1,
            format!("{} letters kept", letters.len()),
        )
    })
}

/// `catalog(..)` + `require_catalog_match(true)`: a handler the catalog does
/// not declare for the event fails the build.
fn catalog_match(kind: Kind) -> Check {
    Box::pin(async move {
        let attempts = Attempts::default();
        let b = recording(&attempts, HandlerOptions::new(), |_, _| async { Ok(()) });
        let b = b
            .subscribe::<gradebook::GradePosted, _, _>("nobody.declared_this", |_e, _cx| async {
                Ok(())
            })
            .catalog(events::EVENTS)
            .require_catalog_match(true);
        let (b, _store) = on(kind, b).await;
        match b.build() {
            Err(BuildError::CatalogMismatch(r)) => ensure(
                r.undeclared
                    .iter()
                    .any(|h| h.handler == "nobody.declared_this"),
                format!("report: {r}"),
            ),
            Err(e) => Err(format!("another error: {e}")),
            Ok(_) => Err("the mismatch was not refused".into()),
        }
    })
}

/// State given with `with_state` reaches a `#[handler]` function.
#[derive(Default)]
struct Tally(AtomicU32);

#[handler(
    "gradebook.grade.posted",
    name = "options.tally",
    catalog = "../catalog"
)]
async fn tally(_e: &Envelope<gradebook::GradePosted>, t: &Tally) -> Result<(), HandlerError> {
    t.0.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

fn state(kind: Kind) -> Check {
    Box::pin(async move {
        let t = Arc::new(Tally::default());
        let b = EventBus::builder()
            .log_events(false)
            .log_handlers(false)
            .register_where(|r| r.id == "options.tally")
            .with_state(Arc::clone(&t));
        let (b, _store) = on(kind, b).await;
        let bus = b.build().map_err(|e| e.to_string())?;
        bus.publish(grade(1, 0)).await.map_err(|e| e.to_string())?;
        settle(&bus).await;
        bus.shutdown(Duration::from_secs(5)).await;
        let n = t.0.load(Ordering::SeqCst);
        ensure(n == 1, format!("the handler ran {n} times"))
    })
}

/// `log_events(true)` / `log_handlers(true)`: the per-event and per-handler
/// lines appear, naming the event id.
fn logs(kind: Kind) -> Check {
    Box::pin(async move {
        let attempts = Attempts::default();
        let b = recording(&attempts, HandlerOptions::new(), |_, _| async { Ok(()) })
            .log_events(true)
            .log_handlers(true);
        let (b, _store) = on(kind, b).await;
        let bus = b.build().map_err(|e| e.to_string())?;
        let e = grade(1, 0);
        let id = e.id.to_string();
        bus.publish(e).await.map_err(|e| e.to_string())?;
        settle(&bus).await;
        bus.shutdown(Duration::from_secs(5)).await;
        let lines = capture::lines_with(&id);
        ensure(
            lines.iter().any(|l| l.contains("gradebook.grade.posted"))
                && lines.iter().any(|l| l.contains("analytics.update_gpa")),
            format!("lines naming the event: {lines:?}"),
        )
    })
}

fn durable_refuses(kind: Kind, honoured: fn(Kind) -> Check, method: &'static str) -> Expect {
    match kind {
        Kind::Memory => Expect::Honoured(honoured),
        _ => Expect::Refused(method),
    }
}

const ROWS: &[Row] = &[
    Row {
        option: "default_retries",
        expect: |_| Expect::Honoured(retries),
    },
    Row {
        option: "default_backoff",
        expect: |_| Expect::Honoured(backoff),
    },
    Row {
        option: "jitter",
        expect: |_| Expect::Honoured(jitter),
    },
    Row {
        option: "retry_policy (max_backoff)",
        expect: |_| Expect::Honoured(max_backoff),
    },
    Row {
        option: "default_timeout",
        expect: |_| Expect::Honoured(timeout),
    },
    Row {
        option: "HandlerOptions::ordered",
        expect: |_| Expect::Honoured(ordered),
    },
    Row {
        option: "catalog + require_catalog_match",
        expect: |_| Expect::Honoured(catalog_match),
    },
    Row {
        option: "with_state",
        expect: |_| Expect::Honoured(state),
    },
    Row {
        option: "log_events + log_handlers",
        expect: |_| Expect::Honoured(logs),
    },
    Row {
        option: "idempotency_window",
        expect: |k| durable_refuses(k, window_off, "idempotency_window"),
    },
    Row {
        option: "dead_letter_capacity",
        expect: |k| durable_refuses(k, capacity, "dead_letter_capacity"),
    },
];

/// A durable backend given an option it would ignore: `build()` names both.
async fn refused(kind: Kind, method: &str) -> Result<(), String> {
    let b = EventBus::builder();
    let b = match method {
        "idempotency_window" => b.idempotency_window(10),
        "dead_letter_capacity" => b.dead_letter_capacity(10),
        other => return Err(format!("no refusal case for {other}")),
    };
    let (b, _store) = on(kind, b).await;
    match b.build() {
        Err(e @ BuildError::UnsupportedOption { .. }) => {
            let text = e.to_string();
            ensure(
                text.contains(method) && text.contains("durable") && text.contains("remove it"),
                format!("message: {text}"),
            )
        }
        Err(e) => Err(format!("another error: {e}")),
        Ok(_) => Err("build() accepted it".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_builder_option_is_honoured_or_refused_on_every_backend() {
    capture::install();
    let mut failures = Vec::new();
    for row in ROWS {
        for kind in KINDS {
            let outcome = match (row.expect)(kind) {
                Expect::Honoured(check) => check(kind).await,
                Expect::Refused(method) => refused(kind, method).await,
            };
            if let Err(why) = outcome {
                failures.push(format!("{} on {kind:?}: {why}", row.option));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test]
async fn a_closure_backend_refuses_the_in_process_settings() {
    // A backend made by a closure is not handed the builder's in-process
    // settings, so setting one is refused rather than silently dropped.
    let b = EventBus::builder().dead_letter_capacity(1).backend(|d| {
        std::sync::Arc::new(skillcore_events::backend::MemoryBackend::new(
            d,
            Default::default(),
        )) as _
    });
    assert!(matches!(
        b.build(),
        Err(BuildError::UnsupportedOption { .. })
    ));
}

/// A process-wide tracing subscriber that keeps every event's formatted
/// fields, so a row can look for the lines of its own event id.
mod capture {
    use std::fmt::Write;
    use std::sync::{Mutex, OnceLock};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    static LINES: OnceLock<Mutex<Vec<String>>> = OnceLock::new();

    fn lines() -> &'static Mutex<Vec<String>> {
        LINES.get_or_init(Mutex::default)
    }

    pub fn install() {
        let _ = tracing::subscriber::set_global_default(Keep);
    }

    pub fn lines_with(needle: &str) -> Vec<String> {
        lines()
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }

    struct Keep;

    struct Text(String);

    impl Visit for Text {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, " {}={:?}", field.name(), value);
        }
    }

    impl Subscriber for Keep {
        fn enabled(&self, m: &Metadata<'_>) -> bool {
            *m.level() <= tracing::Level::INFO
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, e: &Event<'_>) {
            let mut t = Text(String::new());
            e.record(&mut t);
            lines().lock().unwrap().push(t.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }
}
