//! PostgreSQL restarted under load: workers reconnect and carry on, and nothing
//! is lost. A test binary of its own, so no other test sees the restart.

#[path = "common/probe.rs"]
mod probe;

use probe::{until, Db};
use std::process::Command;
use std::time::Duration;

/// `pg_ctlcluster` for the machine's one cluster, as `.ci/run` starts it.
fn restart_postgres() {
    let versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .expect("a Debian PostgreSQL cluster under /etc/postgresql")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let version = versions.first().expect("one PostgreSQL version");
    let status = Command::new("pg_ctlcluster")
        .args([
            "--skip-systemctl-redirect",
            version,
            "main",
            "restart",
            "--",
            "-m",
            "fast",
        ])
        .status()
        .expect("pg_ctlcluster runs");
    assert!(status.success(), "restarting PostgreSQL failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_survive_a_postgres_restart_under_load() {
    let db = Db::postgres().await;
    let n = 150;
    db.publish(n);
    let mut worker = db.probe("work", 30, None);
    assert!(
        until(Duration::from_secs(30), || async {
            db.scalar("SELECT COUNT(*) FROM probe_effects WHERE handler = 'probe.effect'")
                .await
                >= 15
        })
        .await,
        "no progress before the restart"
    );

    restart_postgres();

    let done = until(Duration::from_secs(120), || async {
        db.scalar_retrying("SELECT COUNT(*) FROM skc_deliveries WHERE status = 'done'")
            .await
            == 2 * n as i64
    })
    .await;
    let _ = worker.kill();
    let _ = worker.wait();
    assert!(done, "the worker did not finish after the restart");
    let effects = db
        .scalar_retrying("SELECT COUNT(*) FROM probe_effects WHERE handler = 'probe.effect'")
        .await;
    assert_eq!(effects, n as i64, "every event's effect, once");
    let dead = db
        .scalar_retrying("SELECT COUNT(*) FROM skc_deliveries WHERE status = 'dead'")
        .await;
    assert_eq!(dead, 0);
}
