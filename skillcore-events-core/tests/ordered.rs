//! Per-aggregate ordering on the in-process bus (`HandlerOptions::ordered`):
//! the events of one aggregate reach an ordered handler one at a time, in
//! publish order, retries included; other aggregates run side by side, and
//! an unordered handler of the same events is not held back.

use skillcore_events::{
    Envelope, EventBus, HandlerContext, HandlerError, HandlerOptions, Metadata, RetryPolicy,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod events {
    skillcore_events::catalog!("tests/fixtures/mini.yaml");
}
use events::gradebook::GradePosted;

/// Event `i` of aggregate `agg`: the score carries `i`, and the earlier an
/// event, the longer its handler sleeps, so unordered runs finish in reverse.
fn grade(agg: &str, i: usize) -> Envelope<GradePosted> {
    Envelope::new(
        GradePosted {
            result_id: agg.into(),
            score: i as f64,
        },
        Metadata::new("dst-1", "sch-1"),
    )
}

type Seen = Arc<Mutex<HashMap<String, Vec<usize>>>>;

fn bus(ordered: bool, seen: Seen, fail_first: bool) -> EventBus {
    let options = HandlerOptions::new().ordered(ordered);
    EventBus::builder()
        .retry_policy(RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(5),
            jitter: 0.0,
            ..RetryPolicy::default()
        })
        .log_events(false)
        .log_handlers(false)
        .subscribe_with::<GradePosted, _, _>(
            "audit.in_order",
            options,
            move |e: Arc<Envelope<GradePosted>>, cx: HandlerContext| {
                let seen = Arc::clone(&seen);
                async move {
                    let i = e.payload.score as usize;
                    tokio::time::sleep(Duration::from_millis(40 - i as u64 * 4)).await;
                    // The first event of each aggregate fails once: its retry
                    // must still come before the events after it.
                    if fail_first && i == 0 && cx.attempt == 1 {
                        return Err(HandlerError::msg("first attempt fails"));
                    }
                    let mut seen = seen.lock().unwrap();
                    seen.entry(e.payload.result_id.clone()).or_default().push(i);
                    Ok(())
                }
            },
        )
        .build()
        .unwrap()
}

async fn run(ordered: bool, fail_first: bool) -> HashMap<String, Vec<usize>> {
    let seen: Seen = Arc::default();
    let bus = bus(ordered, Arc::clone(&seen), fail_first);
    for i in 0..8 {
        for agg in ["r-a", "r-b", "r-c"] {
            bus.publish(grade(agg, i)).await.unwrap();
        }
    }
    bus.idle().await;
    let seen = seen.lock().unwrap().clone();
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordered_handler_sees_each_aggregate_in_publish_order_retries_included() {
    let seen = run(true, true).await;
    for agg in ["r-a", "r-b", "r-c"] {
        assert_eq!(seen[agg], (0..8).collect::<Vec<_>>(), "aggregate {agg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ordered_the_same_events_finish_out_of_order() {
    // The control: the sleeps make unordered runs finish in reverse, so the
    // test above would fail if ordering were not enforced.
    let seen = run(false, false).await;
    for agg in ["r-a", "r-b", "r-c"] {
        assert_ne!(seen[agg], (0..8).collect::<Vec<_>>(), "aggregate {agg}");
        assert_eq!(seen[agg].len(), 8);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_run_side_by_side_and_one_aggregate_never_twice_at_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    #[derive(Default)]
    struct Gauge {
        now: HashMap<String, usize>,
        max_per_aggregate: usize,
        total: usize,
        max_total: usize,
    }
    let gauge = Arc::new(Mutex::new(Gauge::default()));
    let runs = Arc::new(AtomicUsize::new(0));
    let (g, r) = (Arc::clone(&gauge), Arc::clone(&runs));
    let bus = EventBus::builder()
        .log_events(false)
        .log_handlers(false)
        .subscribe_with::<GradePosted, _, _>(
            "audit.in_order",
            HandlerOptions::new().ordered(true),
            move |e: Arc<Envelope<GradePosted>>, _cx: HandlerContext| {
                let (g, r) = (Arc::clone(&g), Arc::clone(&r));
                async move {
                    let agg = e.payload.result_id.clone();
                    {
                        let mut g = g.lock().unwrap();
                        let n = g.now.entry(agg.clone()).or_default();
                        *n += 1;
                        let n = *n;
                        g.max_per_aggregate = g.max_per_aggregate.max(n);
                        g.total += 1;
                        g.max_total = g.max_total.max(g.total);
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let mut g = g.lock().unwrap();
                    *g.now.get_mut(&agg).unwrap() -= 1;
                    g.total -= 1;
                    r.fetch_add(1, Ordering::SeqCst);
                    Ok::<(), HandlerError>(())
                }
            },
        )
        .build()
        .unwrap();
    for i in 0..10 {
        for agg in ["r-a", "r-b", "r-c", "r-d"] {
            bus.publish(grade(agg, i)).await.unwrap();
        }
    }
    bus.idle().await;
    let g = gauge.lock().unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 40);
    assert_eq!(g.max_per_aggregate, 1, "one aggregate ran twice at once");
    assert!(
        g.max_total >= 2,
        "aggregates were serialised: {}",
        g.max_total
    );
}
