//! The log switches, and pii never in a log line.

use super::*;

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
