//! Names for the SQLite folders and PostgreSQL schemas that tests create, and
//! the removal of those left behind by test processes that have exited (a test
//! that fails, or is killed, does not clean up after itself). Shared by the
//! store's tests and the workspace's reliability tests (`#[path]`).

use std::sync::atomic::{AtomicUsize, Ordering};

/// `{prefix}_{pid}_{n}_{micros}`: unique to this process and call. The first
/// call removes the folders of exited test processes from the temp dir.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(sweep_folders);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_micros())
            .unwrap_or_default()
    )
}

/// Whether `name` was made by [`unique`] (`skc_…_{pid}_{n}_{micros}`) in a
/// process that no longer runs. Only where `/proc` tells which processes run;
/// elsewhere nothing is ever taken for a leftover.
pub fn left_by_exited_process(name: &str) -> bool {
    let mut parts = name.rsplit('_');
    let (Some(micros), Some(n), Some(pid)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let numeric = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let proc = std::path::Path::new("/proc");
    name.starts_with("skc_")
        && numeric(micros)
        && numeric(n)
        && numeric(pid)
        && proc.join("self").exists()
        && !proc.join(pid).exists()
}

fn sweep_folders() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && name.to_str().is_some_and(left_by_exited_process) {
            // Best effort: another test process may be removing it too.
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Drops the schemas of exited test processes, once per process.
pub async fn sweep_schemas(url: &str) {
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            use sqlx::Connection;
            let Ok(mut conn) = sqlx::PgConnection::connect(url).await else {
                return;
            };
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'skc\\_%'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
            for name in names.iter().filter(|n| left_by_exited_process(n)) {
                // Best effort, as above.
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
                )))
                .execute(&mut conn)
                .await;
            }
            let _ = conn.close().await;
        })
        .await;
}

#[test]
fn only_names_of_exited_processes_are_leftovers() {
    let mine = unique("skc_test");
    assert!(!left_by_exited_process(&mine), "{mine}");
    // Process ids above the kernel's limit (4,194,304) never run.
    assert!(left_by_exited_process("skc_test_4999999_3_12345"));
    assert!(left_by_exited_process("skc_rel_4999999_0_7"));
    assert!(!left_by_exited_process("skc_test_4999999_3"));
    assert!(!left_by_exited_process("other_4999999_3_12345"));
    assert!(!left_by_exited_process("skc_test_49x_3_12345"));
    assert!(!left_by_exited_process("public"));
}
