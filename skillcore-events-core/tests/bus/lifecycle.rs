//! Shutdown deadlines, dispatch by event name, batches, publishing outside a runtime.

use super::*;

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
