//! Criterion benchmarks of the in-process bus and the envelope decoder.
//!
//! `cargo bench -p skillcore-events`
//!
//! - `publish/3_noop_handlers`: events published to three no-op handlers and
//!   all handled, on a 2-worker multi-thread runtime; time per event (the
//!   target is at least 500,000 events/s, 2 µs per event);
//! - `publish/3_noop_handlers+200_idle`: the same with 200 more handlers
//!   subscribed to other events (the idle cost of a registered handler);
//! - `publish/no_handlers`: an event nobody handles;
//! - `publish/3_noop_handlers_prebuilt`: envelopes built before the clock
//!   starts (the bus's own share);
//! - `publish/3_noop_handlers_prebuilt_2_publishers`: the same from two
//!   publishing tasks at once (throughput on 2 cores);
//! - `publish/3_noop_handlers_current_thread`: publisher and handlers on one
//!   thread (the CPU cost per event, free of scheduling between workers);
//! - `decode/raw_to_any_grade_posted`: a `RawEnvelope` held in memory decoded
//!   into `AnyEvent` (target under 2 µs), and `decode/row_json_to_any_grade_posted`
//!   the same from the row JSON text.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use skillcore_events::backend::{BoxFuture, DynEnvelope, DynHandler};
use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::uuid::Uuid;
use skillcore_events::{
    Envelope, EventBus, HandlerContext, HandlerError, HandlerOptions, Metadata, RawEnvelope,
};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, AnyEvent, LetterGrade};

fn payload(i: u64) -> gradebook::GradePosted {
    gradebook::GradePosted {
        result_id: Uuid::from_u128(i as u128 + 1),
        line_item_id: "li-456".into(),
        student_id: "stu-789".into(),
        class_id: "cls-101".into(),
        points_earned: 42.5,
        points_possible: 100.0,
        score_percent: 85.0,
        letter_grade: LetterGrade::B,
        previous_score: None,
        graded_by_id: "tch-111".into(),
        posted_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
        district_id: "dst-222".into(),
        school_id: "sch-333".into(),
        comment: Some("Strong thesis; cite page numbers next time.".into()),
    }
}

fn envelope(i: u64) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        payload(i),
        Metadata::new("dst-222", "sch-333").with_user("tch-111"),
    )
}

struct Noop;
impl DynHandler for Noop {
    fn call(
        &self,
        _: &DynEnvelope,
        _: HandlerContext,
    ) -> BoxFuture<'static, Result<(), HandlerError>> {
        Box::pin(async { Ok(()) })
    }
}

fn bus_with(idle_handlers: usize) -> EventBus {
    let mut b = EventBus::builder().log_events(false).log_handlers(false);
    for id in ["analytics.noop", "notifications.noop", "interventions.noop"] {
        b = b.subscribe::<gradebook::GradePosted, _, _>(id, |_, _| async { Ok(()) });
    }
    for i in 0..idle_handlers {
        b = b.subscribe_dyn(
            format!("other.event_{}.happened", i % 50),
            format!("idle.handler_{i}"),
            HandlerOptions::new(),
            Arc::new(Noop),
        );
    }
    b.build().expect("bench bus builds")
}

fn publish(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("publish");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(4));
    for (name, idle) in [("3_noop_handlers", 0), ("3_noop_handlers+200_idle", 200)] {
        let bus = bus_with(idle);
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                // Publish from a task on the runtime, as a service does.
                let bus = bus.clone();
                rt.block_on(async move {
                    tokio::spawn(async move {
                        let start = Instant::now();
                        for i in 0..iters {
                            // Envelope creation (UUID v7, clock) is part of the cost.
                            bus.publish(envelope(i)).await.expect("published");
                        }
                        bus.idle().await;
                        start.elapsed()
                    })
                    .await
                    .expect("bench task")
                })
            })
        });
    }
    let bus = bus_with(0);
    let marked = || {
        Envelope::new(
            events::attendance::RecordMarked {
                record_id: Uuid::from_u128(7),
                student_id: "stu-1".into(),
                class_id: None,
                session_date: skillcore_events::chrono::NaiveDate::from_ymd_opt(2025, 11, 17)
                    .expect("valid date"),
                period: None,
                status: events::AttendanceStatus::ALL[0],
                previous_status: None,
                minutes_late: None,
                marked_by_id: "tch-1".into(),
                marked_at: Utc.with_ymd_and_hms(2025, 11, 17, 8, 0, 0).unwrap(),
                district_id: "dst-1".into(),
                school_id: "sch-1".into(),
                note: None,
            },
            Metadata::new("dst-1", "sch-1"),
        )
    };
    g.bench_function("no_handlers", |b| {
        b.iter_custom(|iters| {
            let bus = bus.clone();
            rt.block_on(async move {
                tokio::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        bus.publish(marked()).await.expect("published");
                    }
                    start.elapsed()
                })
                .await
                .expect("bench task")
            })
        })
    });
    // The envelopes built beforehand: the bus's own share of the cost.
    let bus3 = bus_with(0);
    g.bench_function("3_noop_handlers_prebuilt", |b| {
        b.iter_custom(|iters| {
            let bus = bus3.clone();
            let envs: Vec<_> = (0..iters).map(envelope).collect();
            rt.block_on(async move {
                tokio::spawn(async move {
                    let start = Instant::now();
                    for e in envs {
                        bus.publish(e).await.expect("published");
                    }
                    bus.idle().await;
                    start.elapsed()
                })
                .await
                .expect("bench task")
            })
        })
    });
    // Two publishers on the 2-worker runtime, envelopes built beforehand: what
    // the bus handles per second on 2 cores when the publishing side is not the
    // bottleneck.
    let bus_two = bus_with(0);
    g.bench_function("3_noop_handlers_prebuilt_2_publishers", |b| {
        b.iter_custom(|iters| {
            let (a, b2) = (bus_two.clone(), bus_two.clone());
            let half = iters / 2;
            let first: Vec<_> = (0..half).map(envelope).collect();
            let second: Vec<_> = (half..iters).map(envelope).collect();
            rt.block_on(async move {
                let start = Instant::now();
                let t1 = tokio::spawn(async move {
                    for e in first {
                        a.publish(e).await.expect("published");
                    }
                });
                let t2 = tokio::spawn(async move {
                    for e in second {
                        b2.publish(e).await.expect("published");
                    }
                    b2
                });
                t1.await.expect("publisher 1");
                let bus = t2.await.expect("publisher 2");
                bus.idle().await;
                start.elapsed()
            })
        })
    });
    // Everything on one thread: the CPU cost per event, without work stealing.
    let one = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let bus1 = bus_with(0);
    g.bench_function("3_noop_handlers_current_thread", |b| {
        b.iter_custom(|iters| {
            one.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    bus1.publish(envelope(i)).await.expect("published");
                }
                bus1.idle().await;
                start.elapsed()
            })
        })
    });
    g.finish();
}

fn decode(c: &mut Criterion) {
    let raw: RawEnvelope = envelope(1).to_raw().expect("encodes");
    let row = raw.to_json().expect("encodes");
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_to_any_grade_posted", |b| {
        b.iter(|| black_box(&raw).decode_any::<AnyEvent>().expect("decodes"))
    });
    g.bench_function("row_json_to_any_grade_posted", |b| {
        b.iter(|| {
            RawEnvelope::from_json(black_box(&row))
                .and_then(|r| r.decode_any::<AnyEvent>())
                .expect("decodes")
        })
    });
    g.bench_function("raw_to_typed_grade_posted", |b| {
        b.iter(|| {
            black_box(&raw)
                .decode::<gradebook::GradePosted>()
                .expect("decodes")
        })
    });
    g.finish();
}

criterion_group!(benches, publish, decode);
criterion_main!(benches);
