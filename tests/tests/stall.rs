//! Stalls that can be seen, with real processes killed by SIGKILL: a dead
//! worker's deliveries are stalled (not active) in the queue counters and
//! free within the lease (10 s by default) even though its handlers run far
//! longer; a worker restarting under the same identity takes its own back at
//! once; a worker starting while a dead one's leases hold logs how many and
//! when they free up.

#[path = "common/probe.rs"]
mod probe;

use probe::{until, Db};
use skillcore_events::store::{HandlerStats, Scope};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EVENTS: u64 = 3;
const EFFECTS: &str = "SELECT COUNT(*) FROM probe_effects WHERE handler = 'probe.effect'";

/// A `durable_probe stall` worker whose `probe.effect` sleeps `sleep_ms`,
/// with the given lease and identity (environment), stdout and stderr piped.
fn stall_worker(db: &Db, sleep_ms: u64, lease_ms: Option<u64>, id: Option<&str>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_durable_probe"));
    cmd.args(["stall", &db.target, &sleep_ms.to_string()]);
    cmd.env_remove("PROBE_LEASE_MS")
        .env_remove("PROBE_WORKER_ID");
    if let Some(ms) = lease_ms {
        cmd.env("PROBE_LEASE_MS", ms.to_string());
    }
    if let Some(id) = id {
        cmd.env("PROBE_WORKER_ID", id);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().expect("the probe starts")
}

/// Reads "running …" lines until `n` handlers have started.
fn wait_running(child: &mut Child, n: usize) {
    let out = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(out).lines();
    let mut started = 0;
    while started < n {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("running ") => started += 1,
            Some(Ok(_)) => {}
            _ => panic!("the worker ended before {n} handlers started"),
        }
    }
}

/// SIGKILL, and the stderr it wrote.
fn kill(mut child: Child) -> String {
    child.kill().unwrap();
    child.wait().unwrap();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    err
}

async fn effect_stats(db: &Db) -> HandlerStats {
    db.store
        .stats(&Scope::AllDistricts)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.handler_id == "probe.effect")
        .expect("probe.effect has deliveries")
}

/// Every effect done within `limit` of now.
async fn all_effects_within(db: &Db, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    until(limit, || async {
        db.scalar(EFFECTS).await == EVENTS as i64
    })
    .await
    .then(|| start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_deliveries_are_stalled_and_free_within_the_default_lease() {
    for db in Db::both().await {
        db.publish(EVENTS);
        // Handlers that would run for a minute; the default lease (10 s).
        let first = stall_worker(&db, 60_000, None, None);
        let mut first = first;
        wait_running(&mut first, EVENTS as usize);
        // Renewed while they run: active, not stalled, well past a third of
        // the lease.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let s = effect_stats(&db).await;
        assert_eq!(
            (s.active, s.stalled),
            (EVENTS as i64, 0),
            "{}: {s:?}",
            db.target
        );
        let killed = Instant::now();
        kill(first);
        // Two renewals missed (two thirds of 10 s) and it shows as stalled.
        assert!(
            until(Duration::from_secs(9), || async {
                let s = effect_stats(&db).await;
                s.stalled == EVENTS as i64 && s.active == 0
            })
            .await,
            "{}: never stalled: {:?}",
            db.target,
            effect_stats(&db).await
        );
        // A new worker (another identity) starts while the leases still hold:
        // it logs them, and runs them once they run out.
        let second = stall_worker(&db, 0, None, None);
        let done = all_effects_within(&db, Duration::from_secs(15)).await;
        let stderr = kill(second);
        let done = done.unwrap_or_else(|| panic!("{}: never taken over", db.target));
        let free_after = killed.elapsed();
        assert!(
            free_after <= Duration::from_secs(13),
            "{}: free {free_after:?} after the kill (lease 10 s)",
            db.target
        );
        assert!(done > Duration::ZERO);
        assert!(
            stderr.contains(&format!(
                "{EVENTS} deliveries are held by 1 worker that no longer renews its leases"
            )) && stderr.contains("all free by"),
            "{}: start-up log: {stderr}",
            db.target
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_restarting_under_its_identity_takes_its_deliveries_back_at_once() {
    for db in Db::both().await {
        db.publish(EVENTS);
        let mut first = stall_worker(&db, 60_000, None, Some("grading-1"));
        wait_running(&mut first, EVENTS as usize);
        kill(first);
        let restarted = Instant::now();
        let again = stall_worker(&db, 0, None, Some("grading-1"));
        let done = all_effects_within(&db, Duration::from_secs(30)).await;
        let took_back_in = restarted.elapsed();
        // A worker records a delivery as done after its handlers ran (with its
        // next claim): wait for that before stopping it, or the last one can
        // still read as active.
        let recorded = until(Duration::from_secs(10), || async {
            effect_stats(&db).await.completed == EVENTS as i64
        })
        .await;
        let stderr = kill(again);
        done.unwrap_or_else(|| panic!("{}: never done", db.target));
        assert!(
            recorded,
            "{}: the completions were never recorded",
            db.target
        );
        assert!(
            took_back_in < Duration::from_secs(5),
            "{}: took {took_back_in:?}: waited for the 10 s leases",
            db.target
        );
        // Its effects, and audits whose outcome was not recorded yet.
        let took: usize = stderr
            .split("took back ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{}: no take-back log: {stderr}", db.target));
        assert!(
            (EVENTS as usize..=2 * EVENTS as usize).contains(&took),
            "{stderr}"
        );
        assert!(stderr.contains("deliveries this worker held before it restarted"));
        assert!(
            !stderr.contains("no longer renews"),
            "its own are not another worker's: {stderr}"
        );
        let s = effect_stats(&db).await;
        assert_eq!(
            (s.completed, s.active, s.stalled),
            (EVENTS as i64, 0, 0),
            "{}",
            db.target
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_configured_lease_frees_a_killed_workers_deliveries_in_about_that() {
    for db in Db::both().await {
        db.publish(EVENTS);
        let mut first = stall_worker(&db, 60_000, Some(1_000), None);
        wait_running(&mut first, EVENTS as usize);
        // Renewed past its length many times over.
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert_eq!(db.scalar(EFFECTS).await, 0, "{}", db.target);
        let s = effect_stats(&db).await;
        assert_eq!(
            (s.active, s.stalled),
            (EVENTS as i64, 0),
            "{}: {s:?}",
            db.target
        );
        let killed = Instant::now();
        kill(first);
        let second = stall_worker(&db, 0, Some(1_000), None);
        let done = all_effects_within(&db, Duration::from_secs(15)).await;
        kill(second);
        done.unwrap_or_else(|| panic!("{}: never taken over", db.target));
        assert!(
            killed.elapsed() < Duration::from_secs(4),
            "{}: {:?} for a 1 s lease",
            db.target,
            killed.elapsed()
        );
    }
}
