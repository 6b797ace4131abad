//! Behaviour of the in-process bus: concurrency, isolation, per-handler
//! retries and backoff, timeouts, dead letters, idempotency, shutdown, logs.
//! Timing tests run on Tokio's paused clock, so they are exact and instant.

use skillcore_events::uuid::Uuid;
use skillcore_events::Scope;
use skillcore_events::{
    BusError, DeadLetterId, Envelope, EventBus, HandlerContext, HandlerError, HandlerOptions,
    Metadata, PublishError, RawEnvelope, RetryPolicy,
};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

mod events {
    skillcore_events::catalog!("tests/fixtures/school.yaml");
}
use events::{gradebook, LetterGrade};

type Grade = gradebook::GradePosted;

fn grade(score: f64) -> Envelope<Grade> {
    Envelope::new(
        Grade {
            result_id: Uuid::now_v7(),
            student_id: "stu-1".into(),
            score_percent: score,
            letter_grade: LetterGrade::C,
            comment: Some("see me privately about your essay".into()),
        },
        Metadata::new("dst-1", "sch-1").with_user("tch-1"),
    )
}

/// A bus whose defaults retry fast and without jitter.
fn builder() -> skillcore_events::EventBusBuilder {
    EventBus::builder()
        .retry_policy(RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(10),
            jitter: 0.0,
            ..RetryPolicy::default()
        })
        .log_events(false)
        .log_handlers(false)
}

#[derive(Default)]
struct Calls(AtomicU32);
impl Calls {
    fn hit(&self) -> u32 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    fn get(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

#[tokio::test(start_paused = true)]
async fn handlers_of_one_event_run_concurrently() {
    let spans: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
    let mut b = builder();
    for id in ["a.one", "b.two", "c.three"] {
        let spans = Arc::clone(&spans);
        b = b.subscribe::<Grade, _, _>(id, move |_, _| {
            let spans = Arc::clone(&spans);
            async move {
                let start = Instant::now();
                tokio::time::sleep(Duration::from_millis(100)).await;
                spans.lock().unwrap().push((start, Instant::now()));
                Ok(())
            }
        });
    }
    let bus = b.build().unwrap();
    let t0 = Instant::now();
    bus.publish(grade(80.0)).await.unwrap();
    bus.idle().await;
    let spans = spans.lock().unwrap();
    assert_eq!(spans.len(), 3);
    let last_start = spans.iter().map(|s| s.0).max().unwrap();
    let first_end = spans.iter().map(|s| s.1).min().unwrap();
    assert!(
        last_start < first_end,
        "handlers did not overlap: {spans:?}"
    );
    // Sequential runs would take 300 ms.
    assert_eq!(t0.elapsed(), Duration::from_millis(100));
}

#[tokio::test]
async fn a_panic_or_failure_in_one_handler_affects_neither_the_others_nor_the_publisher() {
    let ok = Arc::new(Calls::default());
    let ok2 = Arc::clone(&ok);
    let bus = builder()
        .subscribe_with::<Grade, _, _>("x.panics", HandlerOptions::new().retries(0), |_, _| async {
            panic!("boom in handler")
        })
        .subscribe_with::<Grade, _, _>("x.fails", HandlerOptions::new().retries(0), |_, _| async {
            Err(HandlerError::msg("database unavailable"))
        })
        .subscribe::<Grade, _, _>("x.works", move |_, _| {
            let ok = Arc::clone(&ok2);
            async move {
                ok.hit();
                Ok(())
            }
        })
        .build()
        .unwrap();
    let id = bus
        .publish(grade(70.0))
        .await
        .expect("publisher unaffected");
    bus.idle().await;
    assert_eq!(ok.get(), 1);
    let mut dead = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
    dead.sort_by(|a, b| a.handler_id.cmp(&b.handler_id));
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0].handler_id, "x.fails");
    assert_eq!(dead[0].last_error, "database unavailable");
    assert_eq!(dead[1].handler_id, "x.panics");
    assert_eq!(dead[1].last_error, "panicked: boom in handler");
    assert!(dead.iter().all(|d| d.envelope.id == id && d.attempts == 1));
    // The bus keeps working after a panic.
    bus.publish(grade(71.0)).await.unwrap();
    bus.idle().await;
    assert_eq!(ok.get(), 2);
}

#[tokio::test(start_paused = true)]
async fn only_the_failing_handler_is_retried() {
    let flaky = Arc::new(Calls::default());
    let steady = Arc::new(Calls::default());
    let attempts_seen: Arc<Mutex<Vec<u32>>> = Arc::default();
    let (f, s, seen) = (
        Arc::clone(&flaky),
        Arc::clone(&steady),
        Arc::clone(&attempts_seen),
    );
    let bus = builder()
        .subscribe::<Grade, _, _>("x.flaky", move |_, cx: HandlerContext| {
            let f = Arc::clone(&f);
            let seen = Arc::clone(&seen);
            async move {
                seen.lock().unwrap().push(cx.attempt);
                assert_eq!(cx.max_attempts, 3);
                if f.hit() < 3 {
                    Err(HandlerError::msg("not yet"))
                } else {
                    Ok(())
                }
            }
        })
        .subscribe::<Grade, _, _>("x.steady", move |_, _| {
            let s = Arc::clone(&s);
            async move {
                s.hit();
                Ok(())
            }
        })
        .build()
        .unwrap();
    bus.publish(grade(90.0)).await.unwrap();
    bus.idle().await;
    assert_eq!(flaky.get(), 3);
    assert_eq!(steady.get(), 1, "the succeeding handler must not re-run");
    assert_eq!(*attempts_seen.lock().unwrap(), vec![1, 2, 3]);
    assert!(bus
        .dead_letters(&Scope::AllDistricts)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test(start_paused = true)]
async fn retries_and_backoff_are_configurable_per_handler() {
    let times: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let t = Arc::clone(&times);
    let bus = builder()
        .subscribe_with::<Grade, _, _>(
            "x.always_fails",
            HandlerOptions::new()
                .retries(3)
                .backoff(Duration::from_millis(100)),
            move |_, _| {
                let t = Arc::clone(&t);
                async move {
                    t.lock().unwrap().push(Instant::now());
                    Err(HandlerError::msg("nope"))
                }
            },
        )
        .build()
        .unwrap();
    bus.publish(grade(10.0)).await.unwrap();
    bus.idle().await;
    let times = times.lock().unwrap().clone();
    let gaps: Vec<u128> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    assert_eq!(gaps, vec![100, 200, 400], "exponential backoff from 100 ms");
    let dead = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 4);
}

#[tokio::test(start_paused = true)]
async fn jitter_spreads_delays_around_the_nominal_value() {
    let times: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let t = Arc::clone(&times);
    let bus = EventBus::builder()
        .retry_policy(RetryPolicy {
            attempts: 2,
            backoff: Duration::from_millis(1000),
            jitter: 0.2,
            ..RetryPolicy::default()
        })
        .subscribe::<Grade, _, _>("x.fails", move |_, _| {
            let t = Arc::clone(&t);
            async move {
                t.lock().unwrap().push(Instant::now());
                Err(HandlerError::msg("nope"))
            }
        })
        .build()
        .unwrap();
    for _ in 0..20 {
        bus.publish(grade(10.0)).await.unwrap();
    }
    bus.idle().await;
    // Default policy: 2 s first delay; each event's delay within ±20 %.
    let policy = RetryPolicy {
        backoff: Duration::from_millis(1000),
        ..RetryPolicy::default()
    };
    let mut distinct = std::collections::BTreeSet::new();
    for seed in 0..50u64 {
        let d = policy.delay(1, seed).as_millis();
        assert!((800..=1200).contains(&d), "{d}");
        distinct.insert(d);
    }
    assert!(distinct.len() > 10, "jitter should vary: {distinct:?}");
    assert_eq!(times.lock().unwrap().len(), 40);
}

#[test]
fn odd_policies_never_panic() {
    for jitter in [f64::NAN, -1.0, 0.0, 5.0, f64::INFINITY] {
        let p = RetryPolicy {
            jitter,
            max_backoff: Duration::MAX,
            backoff: Duration::MAX,
            ..RetryPolicy::default()
        };
        for attempt in [0, 1, 2, 64, u32::MAX] {
            let _ = p.delay(attempt, 42);
        }
    }
}

#[test]
fn the_default_policy_is_the_original_three_attempts_from_two_seconds() {
    let p = RetryPolicy::default();
    assert_eq!(p.attempts, 3);
    assert_eq!(p.nominal_delay(1), Duration::from_secs(2));
    assert_eq!(p.nominal_delay(2), Duration::from_secs(4));
    assert_eq!(p.nominal_delay(40), p.max_backoff);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_counts_as_a_failed_attempt() {
    let calls = Arc::new(Calls::default());
    let c = Arc::clone(&calls);
    let bus = builder()
        .subscribe_with::<Grade, _, _>(
            "x.slow",
            HandlerOptions::new()
                .retries(1)
                .timeout(Duration::from_millis(50)),
            move |_, cx| {
                let c = Arc::clone(&c);
                async move {
                    c.hit();
                    if cx.attempt == 1 {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                    }
                    Ok(())
                }
            },
        )
        .build()
        .unwrap();
    let t0 = Instant::now();
    bus.publish(grade(50.0)).await.unwrap();
    bus.idle().await;
    assert_eq!(calls.get(), 2, "the timed-out attempt is retried");
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(60),
        "50 ms timeout + 10 ms backoff"
    );
    assert!(bus
        .dead_letters(&Scope::AllDistricts)
        .await
        .unwrap()
        .is_empty());

    // Always too slow: dead-lettered with the timeout as the error.
    let bus = builder()
        .subscribe_with::<Grade, _, _>(
            "x.hangs",
            HandlerOptions::new()
                .retries(1)
                .timeout(Duration::from_millis(50)),
            |_, _| async {
                std::future::pending::<()>().await;
                Ok(())
            },
        )
        .build()
        .unwrap();
    bus.publish(grade(50.0)).await.unwrap();
    bus.idle().await;
    let dead = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 2);
    assert_eq!(dead[0].last_error, "timed out after 50ms");
}

#[tokio::test]
async fn dead_letters_can_be_listed_retried_and_discarded() {
    let broken = Arc::new(AtomicBool::new(true));
    let calls = Arc::new(Calls::default());
    let (b2, c2) = (Arc::clone(&broken), Arc::clone(&calls));
    let bus = builder()
        .subscribe_with::<Grade, _, _>(
            "notifications.send",
            HandlerOptions::new()
                .retries(1)
                .backoff(Duration::from_millis(1)),
            move |event, _| {
                let (broken, calls) = (Arc::clone(&b2), Arc::clone(&c2));
                async move {
                    calls.hit();
                    if broken.load(Ordering::SeqCst) {
                        Err(HandlerError::msg(format!(
                            "smtp down for {}",
                            event.payload.student_id
                        )))
                    } else {
                        Ok(())
                    }
                }
            },
        )
        .build()
        .unwrap();
    let first = bus.publish(grade(40.0)).await.unwrap();
    let second = bus.publish(grade(45.0)).await.unwrap();
    bus.idle().await;
    let dead = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
    assert_eq!(dead.len(), 2);
    assert_eq!(calls.get(), 4);
    let letter = dead.iter().find(|d| d.envelope.id == first).unwrap();
    assert_eq!(letter.handler_id, "notifications.send");
    assert_eq!(letter.attempts, 2);
    assert_eq!(letter.last_error, "smtp down for stu-1");
    assert_eq!(letter.envelope.event_type, "gradebook.grade.posted");
    let payload = letter.envelope.payload_value().unwrap();
    assert_eq!(payload["scorePercent"], 40.0);

    // Fixed: retry the first, discard the second.
    broken.store(false, Ordering::SeqCst);
    bus.retry_dead_letter(&Scope::AllDistricts, letter.id)
        .await
        .unwrap();
    bus.idle().await;
    assert_eq!(calls.get(), 5);
    let other = dead.iter().find(|d| d.envelope.id == second).unwrap();
    bus.discard_dead_letter(&Scope::AllDistricts, other.id)
        .await
        .unwrap();
    assert!(bus
        .dead_letters(&Scope::AllDistricts)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(calls.get(), 5, "a discarded letter is not run");

    let unknown = DeadLetterId::from_uuid(Uuid::now_v7());
    assert!(matches!(
        bus.retry_dead_letter(&Scope::AllDistricts, unknown).await,
        Err(BusError::NotFound(id)) if id == unknown
    ));
    assert!(matches!(
        bus.discard_dead_letter(&Scope::AllDistricts, unknown).await,
        Err(BusError::NotFound(id)) if id == unknown
    ));
}

#[tokio::test]
async fn a_redelivered_event_does_not_rerun_handlers_that_succeeded() {
    let good = Arc::new(Calls::default());
    let bad = Arc::new(Calls::default());
    let (g, b) = (Arc::clone(&good), Arc::clone(&bad));
    let bus = builder()
        .subscribe::<Grade, _, _>("x.good", move |_, _| {
            let g = Arc::clone(&g);
            async move {
                g.hit();
                Ok(())
            }
        })
        .subscribe_with::<Grade, _, _>(
            "x.bad_once",
            HandlerOptions::new().retries(0),
            move |_, _| {
                let b = Arc::clone(&b);
                async move {
                    if b.hit() == 1 {
                        Err(HandlerError::msg("first delivery fails"))
                    } else {
                        Ok(())
                    }
                }
            },
        )
        .build()
        .unwrap();
    let env = grade(60.0);
    bus.publish(env.clone()).await.unwrap();
    bus.idle().await;
    assert_eq!((good.get(), bad.get()), (1, 1));
    // Redelivery (same event id): only the handler that did not succeed runs.
    bus.publish(env.clone()).await.unwrap();
    bus.idle().await;
    assert_eq!((good.get(), bad.get()), (1, 2));
    // Now both succeeded: a third delivery runs nothing.
    bus.publish(env.clone()).await.unwrap();
    bus.publish_raw(env.to_raw().unwrap()).await.unwrap();
    bus.idle().await;
    assert_eq!((good.get(), bad.get()), (1, 2));
}

#[tokio::test]
async fn the_idempotency_record_is_bounded() {
    let calls = Arc::new(Calls::default());
    let c = Arc::clone(&calls);
    let bus = builder()
        .idempotency_window(32)
        .subscribe::<Grade, _, _>("x.count", move |_, _| {
            let c = Arc::clone(&c);
            async move {
                c.hit();
                Ok(())
            }
        })
        .build()
        .unwrap();
    let first = grade(1.0);
    bus.publish(first.clone()).await.unwrap();
    bus.idle().await;
    bus.publish(first.clone()).await.unwrap();
    bus.idle().await;
    assert_eq!(calls.get(), 1, "remembered inside the window");
    let mut last = None;
    for s in 0..1000 {
        let e = grade(s as f64);
        last = Some(e.clone());
        bus.publish(e).await.unwrap();
    }
    bus.idle().await;
    assert_eq!(calls.get(), 1001);
    // The newest is still remembered; the first was forgotten (the record
    // keeps about 32 events, spread over shards by event id).
    bus.publish(last.unwrap()).await.unwrap();
    bus.idle().await;
    assert_eq!(calls.get(), 1001, "the newest event is remembered");
    bus.publish(first.clone()).await.unwrap();
    bus.idle().await;
    assert_eq!(
        calls.get(),
        1002,
        "the oldest event was forgotten: memory stays bounded"
    );
}

#[tokio::test]
async fn a_raw_envelope_that_does_not_decode_is_dead_lettered_at_once() {
    let bus = builder()
        .subscribe::<Grade, _, _>("x.never_runs", |_, _| async {
            panic!("must not be called with a bad payload")
        })
        .build()
        .unwrap();
    let mut raw = grade(1.0).to_raw().unwrap();
    raw.payload =
        serde_json::value::RawValue::from_string(r#"{"resultId":"nope"}"#.into()).unwrap();
    bus.publish_raw(raw).await.unwrap();
    bus.idle().await;
    let dead = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].attempts, 1,
        "a decode error is permanent: no retries"
    );
    assert!(
        dead[0].last_error.contains("field `resultId`"),
        "{}",
        dead[0].last_error
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_in_flight_handlers_up_to_a_deadline() {
    let done = Arc::new(Calls::default());
    let d = Arc::clone(&done);
    let bus = builder()
        .subscribe::<Grade, _, _>("x.quick", move |_, _| {
            let d = Arc::clone(&d);
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                d.hit();
                Ok(())
            }
        })
        .subscribe_with::<Grade, _, _>(
            "x.stuck",
            HandlerOptions::new().timeout(Duration::from_secs(3600)),
            |_, _| async {
                tokio::time::sleep(Duration::from_secs(600)).await;
                Ok(())
            },
        )
        .build()
        .unwrap();
    let id = bus.publish(grade(1.0)).await.unwrap();
    let t0 = Instant::now();
    let report = bus.shutdown(Duration::from_secs(1)).await;
    assert_eq!(t0.elapsed(), Duration::from_secs(1));
    assert!(!report.completed);
    assert_eq!(report.abandoned, 1);
    assert_eq!(
        done.get(),
        1,
        "the quick handler finished within the deadline"
    );
    let dead = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].handler_id, "x.stuck");
    assert_eq!(dead[0].envelope.id, id);
    assert!(dead[0].last_error.starts_with("abandoned"));
    assert!(matches!(
        bus.publish(grade(2.0)).await,
        Err(PublishError::ShuttingDown)
    ));
}

#[tokio::test(start_paused = true)]
async fn shutdown_completes_when_handlers_finish_in_time() {
    let bus = builder()
        .subscribe::<Grade, _, _>("x.quick", |_, _| async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(())
        })
        .build()
        .unwrap();
    bus.publish(grade(1.0)).await.unwrap();
    let t0 = Instant::now();
    let report = bus.shutdown(Duration::from_secs(5)).await;
    assert!(report.completed);
    assert_eq!(report.abandoned, 0);
    assert_eq!(t0.elapsed(), Duration::from_millis(50));
}

#[tokio::test]
async fn handlers_are_indexed_by_event_name() {
    let bus = builder()
        .subscribe::<Grade, _, _>("x.grades", |_, _| async { Ok(()) })
        .build()
        .unwrap();
    assert_eq!(bus.handlers_of("gradebook.grade.posted"), vec!["x.grades"]);
    assert!(bus.handlers_of("attendance.record.marked").is_empty());
    // An event nobody handles is accepted and costs one lookup.
    let marked = Envelope::new(
        events::attendance::RecordMarked {
            record_id: "r".into(),
            student_id: "s".into(),
            present: true,
        },
        Metadata::new("d", "s"),
    );
    bus.publish(marked).await.unwrap();
    bus.idle().await;
}

#[tokio::test]
async fn publish_all_delivers_a_batch() {
    let calls = Arc::new(Calls::default());
    let c = Arc::clone(&calls);
    let bus = builder()
        .subscribe::<Grade, _, _>("x.count", move |_, _| {
            let c = Arc::clone(&c);
            async move {
                c.hit();
                Ok(())
            }
        })
        .build()
        .unwrap();
    bus.publish_all((0..10).map(|i| grade(i as f64)))
        .await
        .unwrap();
    bus.idle().await;
    assert_eq!(calls.get(), 10);
}

/// Captures formatted log output of the current thread.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn log_lines_follow_the_switches_and_never_show_pii() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let bus = builder()
        .log_events(true)
        .log_handlers(true)
        .subscribe_with::<Grade, _, _>(
            "x.fails",
            HandlerOptions::new().retries(0),
            |e, _| async move {
                Err(HandlerError::msg(format!(
                    "cannot grade {}",
                    e.payload.student_id
                )))
            },
        )
        .subscribe::<Grade, _, _>("analytics.update_gpa", |_, _| async { Ok(()) })
        .build()
        .unwrap();
    let env = grade(33.0);
    let id = env.id;
    bus.publish(env).await.unwrap();
    bus.idle().await;
    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains(&format!(
            "[EventBus] Publishing event: gradebook.grade.posted (eventId: {id})"
        )),
        "{text}"
    );
    assert!(
        text.contains("[analytics.update_gpa] Handling event"),
        "{text}"
    );
    assert!(
        text.contains("[analytics.update_gpa] \u{2713} handled"),
        "{text}"
    );
    assert!(text.contains("moved to the dead letters"), "{text}");
    assert!(text.contains(r#""comment":"[redacted]""#), "{text}");
    assert!(
        text.contains(r#""studentId":"stu-1""#),
        "non-pii fields are logged: {text}"
    );
    assert!(
        text.contains(&format!("event_id={id}")),
        "spans carry the event id: {text}"
    );
    assert!(
        text.contains("handler_id=\"analytics.update_gpa\"")
            || text.contains("handler_id=analytics.update_gpa"),
        "{text}"
    );
    assert!(
        !text.contains("see me privately"),
        "pii leaked into the logs: {text}"
    );

    // Switched off: no info lines, failures still reported.
    capture.0.lock().unwrap().clear();
    let quiet = builder()
        .subscribe::<Grade, _, _>("analytics.update_gpa", |_, _| async { Ok(()) })
        .build()
        .unwrap();
    quiet.publish(grade(1.0)).await.unwrap();
    quiet.idle().await;
    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(!text.contains("Publishing event"), "{text}");
    assert!(!text.contains("Handling event"), "{text}");
}

#[test]
fn publishing_outside_a_runtime_is_an_error_not_a_panic() {
    let bus = builder()
        .subscribe::<Grade, _, _>("x.any", |_, _| async { Ok(()) })
        .build()
        .unwrap();
    // Poll the publish future by hand, with no Tokio runtime around.
    let fut = bus.publish(grade(1.0));
    let mut fut = std::pin::pin!(fut);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match std::future::Future::poll(fut.as_mut(), &mut cx) {
        std::task::Poll::Ready(Err(PublishError::NoRuntime)) => {}
        other => panic!("unexpected {other:?}"),
    }
}

#[allow(dead_code)]
fn raw_is_usable(_: RawEnvelope) {}
