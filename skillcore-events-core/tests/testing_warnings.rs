//! At start-up a bus logs a warning for each declared handler it does not
//! run and each registered handler the catalog does not declare (the same
//! two handlers as tests/testing_catalog.rs). One test in this binary: a
//! tracing capture sees every bus built meanwhile.
#![cfg(feature = "testing")]

mod kit;

use kit::events;
use skillcore_events::EventBus;
use std::sync::{Arc, Mutex};

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

#[test]
fn the_bus_warns_at_start_up_about_each_mismatch() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        EventBus::builder()
            .register_all()
            .catalog(events::EVENTS)
            .build()
            .unwrap();
    });
    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(warnings.len(), 2, "{log}");
    assert!(
        warnings[0].contains(
            "handler `notifications.send_grade_notification` of `gradebook.grade.posted` is \
             declared in the catalog but this bus does not run it"
        ),
        "{log}"
    );
    assert!(
        warnings[1].contains(
            "handler `notifications.send_grade_notificaton` of `gradebook.grade.posted` runs on \
             this bus but the catalog does not declare it (did you mean \
             `notifications.send_grade_notification`?)"
        ),
        "{log}"
    );
    assert!(
        warnings
            .iter()
            .all(|w| w.contains("skillcore_events::bus::catalog")),
        "{log}"
    );
}
