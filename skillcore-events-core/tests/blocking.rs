//! A handler that blocks its thread past its timeout is a failed (timed out)
//! attempt, however it finished (issue 11, item 14). Real time: the point is
//! a handler the timer cannot interrupt.

use skillcore_events::uuid::Uuid;
use skillcore_events::{Envelope, EventBus, HandlerOptions, Metadata, Scope};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod events {
    skillcore_events::catalog!("tests/fixtures/school.yaml");
}
use events::{gradebook, LetterGrade};

fn grade() -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: Uuid::now_v7(),
            student_id: "stu-1".into(),
            score_percent: 50.0,
            letter_grade: LetterGrade::C,
            comment: None,
        },
        Metadata::new("dst-1", "sch-1"),
    )
}

#[tokio::test]
async fn a_handler_that_blocks_past_its_timeout_is_recorded_as_timed_out() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = Arc::clone(&calls);
    let bus = EventBus::builder()
        .log_events(false)
        .log_handlers(false)
        .subscribe_with::<gradebook::GradePosted, _, _>(
            "x.blocks",
            HandlerOptions::new()
                .retries(0)
                .timeout(Duration::from_millis(100)),
            move |_, _| {
                c.fetch_add(1, Ordering::SeqCst);
                async {
                    // Blocks the thread: the timer cannot fire meanwhile.
                    std::thread::sleep(Duration::from_millis(400));
                    Ok(())
                }
            },
        )
        .build()
        .unwrap();
    let t0 = Instant::now();
    bus.publish(grade()).await.unwrap();
    bus.idle().await;
    assert!(t0.elapsed() >= Duration::from_millis(400));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let dead = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
    assert_eq!(dead.len(), 1, "the late Ok is not a success");
    let err = &dead[0].last_error;
    assert!(
        err.starts_with("timed out after 100ms: the attempt returned after "),
        "{err}"
    );
    assert!(err.contains("spawn_blocking"), "{err}");
}

#[tokio::test]
async fn a_handler_that_blocks_then_waits_is_cut_off_at_its_deadline() {
    // The first poll blocks past the limit, then the future waits: the timer
    // runs from the start of the attempt, so it fires at once.
    let bus = EventBus::builder()
        .log_events(false)
        .log_handlers(false)
        .subscribe_with::<gradebook::GradePosted, _, _>(
            "x.blocks_then_waits",
            HandlerOptions::new()
                .retries(0)
                .timeout(Duration::from_millis(1000)),
            |_, _| async {
                std::thread::sleep(Duration::from_millis(1200));
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(())
            },
        )
        .build()
        .unwrap();
    let t0 = Instant::now();
    bus.publish(grade()).await.unwrap();
    bus.idle().await;
    let took = t0.elapsed();
    // Cut off right after the block (1.2 s), not a whole timeout later (2.2 s).
    assert!(took >= Duration::from_millis(1200), "{took:?}");
    assert!(took < Duration::from_millis(2000), "{took:?}");
    let dead = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].last_error.starts_with("timed out after 1s"),
        "{}",
        dead[0].last_error
    );
}

#[tokio::test]
async fn a_handler_within_its_timeout_succeeds() {
    let bus = EventBus::builder()
        .log_events(false)
        .log_handlers(false)
        .subscribe_with::<gradebook::GradePosted, _, _>(
            "x.quick",
            HandlerOptions::new()
                .retries(0)
                .timeout(Duration::from_secs(5)),
            |_, _| async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(())
            },
        )
        .build()
        .unwrap();
    bus.publish(grade()).await.unwrap();
    bus.idle().await;
    assert!(bus
        .dead_letters(&Scope::AllDistricts)
        .await
        .unwrap()
        .is_empty());
}
