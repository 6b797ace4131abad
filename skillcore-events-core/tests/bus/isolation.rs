//! Handlers of one event run concurrently and a failure or panic in one touches neither the others nor the publisher.

use super::*;

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
