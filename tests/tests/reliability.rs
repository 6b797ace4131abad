//! Reliability of the durable bus with real processes and real databases:
//! SIGKILL a worker or a publisher at any moment and nothing is lost or half
//! done; two workers share a database without running a delivery twice.

#[path = "common/probe.rs"]
mod probe;

use probe::{read_published, until, wait, Db};
use std::time::Duration;

const EFFECTS: &str = "SELECT COUNT(*) FROM probe_effects WHERE handler = 'probe.effect'";
const DONE: &str = "SELECT COUNT(*) FROM skc_deliveries WHERE status = 'done'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_loses_nothing_and_an_idempotent_effect_happens_once() {
    for db in Db::both().await {
        let n = 60;
        db.publish(n);
        let mut worker = db.probe("work", 40, None);
        assert!(
            until(Duration::from_secs(30), || async {
                db.scalar(EFFECTS).await >= 10
            })
            .await,
            "{}: the first worker made no progress",
            db.target
        );
        worker.kill().unwrap(); // SIGKILL, mid-flight
        worker.wait().unwrap();
        let before = db.scalar(EFFECTS).await;
        assert!(
            before < n as i64,
            "{}: killed before the end ({before})",
            db.target
        );

        // A new worker picks up everything, including the deliveries the dead
        // one had claimed, once their leases run out.
        let mut second = db.probe("work", 1, Some("until-idle"));
        assert!(wait(&mut second, Duration::from_secs(90)).success());

        assert_eq!(
            db.scalar(EFFECTS).await,
            n as i64,
            "{}: each effect exactly once",
            db.target
        );
        assert_eq!(
            db.scalar(DONE).await,
            2 * n as i64,
            "{}: every delivery done",
            db.target
        );
        let runs = db
            .scalar("SELECT COUNT(*) FROM probe_runs WHERE handler = 'probe.effect'")
            .await;
        assert!(runs >= n as i64, "{}", db.target);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_publisher_leaves_each_event_whole_or_absent() {
    for db in Db::both().await {
        let mut publisher = db.probe("publish", 1_000_000, None);
        let reported = read_published(&mut publisher, 40);
        publisher.kill().unwrap();
        publisher.wait().unwrap();
        assert_eq!(reported, 40, "{}", db.target);

        let events = db.scalar("SELECT COUNT(*) FROM skc_events").await;
        assert!(
            events >= 40,
            "{}: every reported commit is stored ({events})",
            db.target
        );
        let partial = db
            .scalar(
                "SELECT COUNT(*) FROM skc_events e
                 WHERE (SELECT COUNT(*) FROM skc_deliveries d WHERE d.event_seq = e.seq) <> 2",
            )
            .await;
        assert_eq!(partial, 0, "{}: an event without its deliveries", db.target);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_postgres_share_the_work_and_run_each_delivery_once() {
    let db = Db::postgres().await;
    let n = 100;
    db.publish(n);
    let mut a = db.probe("work", 40, Some("until-idle"));
    let mut b = db.probe("work", 40, Some("until-idle"));
    assert!(wait(&mut a, Duration::from_secs(90)).success());
    assert!(wait(&mut b, Duration::from_secs(90)).success());
    let runs = db.scalar("SELECT COUNT(*) FROM probe_runs").await;
    let distinct = db
        .scalar("SELECT COUNT(*) FROM (SELECT DISTINCT event_id, handler FROM probe_runs) t")
        .await;
    assert_eq!(distinct, 2 * n as i64, "every delivery ran");
    assert_eq!(runs, distinct, "and none ran twice");
    let workers = db
        .scalar("SELECT COUNT(DISTINCT pid) FROM probe_runs")
        .await;
    assert_eq!(workers, 2, "both processes took deliveries");
}
