//! Dead letters (list, retry, discard), idempotency of redeliveries and its bound, undecodable envelopes.

use super::*;

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
