//! `LOG_EVENTS` / `LOG_EVENT_HANDLERS` print to stderr in a program that set
//! up no tracing subscriber, and go through the application's subscriber once
//! it installs one. The first case runs this test binary again as a child
//! process (stderr is the process's own), with the switches on.

use skillcore_events::{Envelope, EventBus, HandlerError, Metadata};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

mod events {
    skillcore_events::catalog!("tests/fixtures/mini.yaml");
}
use events::gradebook::GradePosted;

const CHILD: &str = "SKILLCORE_LOG_FALLBACK_CHILD";

/// Publishes one grade to a handler that fails once, on a bus built from the
/// environment's switches.
fn scenario() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let tries = Arc::new(AtomicUsize::new(0));
        let bus = EventBus::builder()
            .default_backoff(std::time::Duration::from_millis(1))
            .subscribe::<GradePosted, _, _>("audit.log", move |_, _| {
                let n = tries.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        Err(HandlerError::msg("mail server busy"))
                    } else {
                        Ok(())
                    }
                }
            })
            .build()
            .unwrap();
        let grade = GradePosted {
            result_id: "res-1".into(),
            score: 1.0,
        };
        bus.publish(Envelope::new(grade, Metadata::new("dst-1", "sch-1")))
            .await
            .unwrap();
        bus.idle().await;
    });
}

/// Runs the test `name` of this binary again as a child with the switches
/// on or off; its stderr. The child runs the scenario.
fn child_stderr(name: &str, switches: bool) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1");
    for var in ["LOG_EVENTS", "LOG_EVENT_HANDLERS"] {
        if switches {
            cmd.env(var, "true");
        } else {
            cmd.env_remove(var);
        }
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "child failed:\n{stderr}");
    stderr
}

#[test]
fn without_a_subscriber_the_switches_print_to_stderr() {
    if std::env::var_os(CHILD).is_some() {
        scenario();
        return;
    }
    let stderr = child_stderr("without_a_subscriber_the_switches_print_to_stderr", true);
    for line in [
        " INFO [EventBus] Publishing event: gradebook.grade.posted (eventId: ",
        " INFO [audit.log] Handling event: ",
        " WARN [audit.log] \u{2717} attempt 1/3 failed: mail server busy; retrying in ",
        " INFO [audit.log] \u{2713} handled ",
    ] {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
}

#[test]
fn without_the_switches_nothing_is_printed() {
    if std::env::var_os(CHILD).is_some() {
        scenario();
        return;
    }
    let stderr = child_stderr("without_the_switches_nothing_is_printed", false);
    assert!(
        !stderr.contains("[EventBus]") && !stderr.contains("[audit.log]"),
        "{stderr}"
    );
}

/// Counts the events it is given.
struct Counting(Arc<AtomicUsize>);

impl tracing::Subscriber for Counting {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        if e.metadata().target() == "skillcore_events::bus" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn an_application_subscriber_gets_the_lines_instead() {
    let seen = Arc::new(AtomicUsize::new(0));
    let dispatch = tracing::Dispatch::new(Counting(Arc::clone(&seen)));
    tracing::dispatcher::with_default(&dispatch, || {
        // The switches, as the builder reads them from the environment.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let bus = EventBus::builder()
                .log_events(true)
                .log_handlers(true)
                .subscribe::<GradePosted, _, _>("audit.log", |_, _| async { Ok(()) })
                .build()
                .unwrap();
            let grade = GradePosted {
                result_id: "res-1".into(),
                score: 1.0,
            };
            bus.publish(Envelope::new(grade, Metadata::new("dst-1", "sch-1")))
                .await
                .unwrap();
            bus.idle().await;
        });
    });
    // Publishing, handling, handled.
    assert!(
        seen.load(Ordering::SeqCst) >= 3,
        "{}",
        seen.load(Ordering::SeqCst)
    );
}
