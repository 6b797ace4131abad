//! Model-based test of the durable store: random interleavings of publishes
//! (single, batched, concurrent, inside the caller's transactions that commit
//! or roll back, republished), worker steps (`run_once` batches and the
//! long-running `run` loop) whose handlers succeed, fail, give up or take
//! their process down, lease expiries and store restarts, on SQLite and on
//! PostgreSQL. After every step the tables are read directly and checked
//! against a model of what must hold (`model/check.rs`): every acknowledged
//! event has all its deliveries and nothing else is stored; a delivery is in
//! one state; a handler never runs an attempt beyond its maximum, and a
//! delivery out of attempts is a dead letter; an ordered handler takes the
//! events of an aggregate one at a time, in order; at the end every delivery
//! is done (its handler succeeded at least once) or dead.
//!
//! Each case is seeded. A failure prints the seed and the steps that led to
//! it; `SKC_MODEL_SEED=N` replays that case. `SKC_MODEL_CASES` (default 3)
//! and `SKC_MODEL_STEPS` (default 40) ask for more; `SKC_MODEL_ODDS=25,5,12`
//! sets the percentages of handler calls that retry, give up and crash.

#[path = "model/case.rs"]
mod case;
#[path = "model/check.rs"]
mod check;
mod common;
#[path = "model/world.rs"]
mod world;

use case::{run_case, Op};
use std::time::Duration;
use world::{Backend, Rng, Script};

#[tokio::test]
async fn sqlite_store_agrees_with_the_model() {
    run_cases("sqlite").await;
}

#[tokio::test]
async fn postgres_store_agrees_with_the_model() {
    run_cases("postgres").await;
}

/// Poison: every handler call kills its worker (an abort, a stack overflow,
/// out of memory). Each delivery is claimed again after each lease runs out;
/// however its deaths are counted, it must end in the dead letters within a
/// bounded number of claims, no handler running an attempt beyond its
/// maximum. Scripted, so that it is exercised on every run whatever the random
/// cases draw; once with the `run` loop, once with `run_once` batches.
fn poison(step: Op) -> Vec<Op> {
    let mut ops = vec![
        Op::Odds(0, 0, 100),
        Op::Publish(1), // model.b.happened: model.ordered (2 attempts) and model.once (1)
        Op::Publish(1),
        Op::Publish(0), // model.a.happened: model.plain (3) and model.ordered
    ];
    for i in 0..16 {
        ops.push(step);
        ops.push(Op::Expire);
        // A process restart now and then (and fewer than 8 `run` loops on
        // one PostgreSQL store: see `postgres_worker_runs_on_one_store_*`).
        if i % 5 == 4 {
            ops.push(Op::Restart);
        }
    }
    ops.push(Op::ExpectAllDead);
    ops
}

#[tokio::test]
async fn sqlite_poison_deliveries_end_in_the_dead_letters_run_loop() {
    run_case("sqlite", 1, &poison(Op::WorkRun)).await;
}

#[tokio::test]
async fn postgres_poison_deliveries_end_in_the_dead_letters_run_loop() {
    run_case("postgres", 1, &poison(Op::WorkRun)).await;
}

#[tokio::test]
async fn sqlite_poison_deliveries_end_in_the_dead_letters_run_once() {
    run_case("sqlite", 2, &poison(Op::WorkOnce)).await;
}

#[tokio::test]
async fn postgres_poison_deliveries_end_in_the_dead_letters_run_once() {
    run_case("postgres", 2, &poison(Op::WorkOnce)).await;
}

/// A worker's `run` loop started and stopped again and again on one store
/// (a worker restarted in the same process): each run must give back what it
/// took. Every run starts `Store::listen`, whose task holds a pooled
/// connection for as long as the store lives; the pool has 8.
#[tokio::test]
async fn postgres_worker_runs_on_one_store_leave_the_store_usable() {
    let (store, schema) = common::postgres().await;
    let script = Script::new(3);
    for i in 0..10 {
        let w = world::worker(&store, &format!("r{i}"), &script, 2);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let run = tokio::spawn(async move {
            w.run(async {
                let _ = stopped.await;
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        let _ = stop.send(());
        run.await.unwrap();
    }
    let started = std::time::Instant::now();
    let appended = tokio::time::timeout(
        Duration::from_secs(30),
        store.append(
            &[world::event("model.c.happened", "agg-0", 1, false)],
            world::subscribers,
        ),
    )
    .await;
    Backend::Postgres {
        url: common::pg_url(),
        schema,
    }
    .remove()
    .await;
    let appended = appended.expect("the append answers within 30 s");
    assert!(
        appended.is_ok() && started.elapsed() < Duration::from_secs(2),
        "after 10 worker runs stopped one after the other, an append took {:?} and gave {:?}: \
         each run's listener kept a pooled connection",
        started.elapsed(),
        appended.map_err(|e| e.to_string())
    );
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run_cases(backend: &str) {
    let (first, cases) = match std::env::var("SKC_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => (seed, 1),
        None => (
            world::now_us() as u64 ^ (std::process::id() as u64) << 40,
            env_num("SKC_MODEL_CASES", 3),
        ),
    };
    let steps = env_num("SKC_MODEL_STEPS", 40) as usize;
    for i in 0..cases {
        let seed = first.wrapping_add(i);
        let mut rng = Rng(seed);
        let ops: Vec<Op> = (0..steps).map(|_| Op::draw(&mut rng)).collect();
        run_case(backend, seed, &ops).await;
    }
}
