//! Per-handler retries: only the failing handler, backoff and jitter, odd policies, the default, timeouts.

use super::*;

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
