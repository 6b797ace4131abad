//! A poison event, whose handler kills the worker process, ends in the dead
//! letters once its attempts are used up, with a reason that says it was in
//! flight when its worker died; the other deliveries are done, and on an
//! ordered handler the aggregate's later events proceed. Real processes
//! (`poison_worker`, restarted after each abort) on SQLite and PostgreSQL.

#[path = "common/probe.rs"]
mod probe;

use probe::{wait, Db};
use skillcore_events::store::Scope;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

fn poison_worker(db: &Db, mode: &str, order: &str, retries: u32) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_poison_worker"))
        .args([mode, &db.target, order, &retries.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("poison_worker starts")
}

/// With `retries` (attempts `retries + 1`), the poison kills its worker
/// `max(attempts, 2)` times: once at least while running alone, which is what
/// tells it from the deliveries in flight beside it.
async fn poison_is_dead_lettered_and_the_rest_done(order: &str, retries: u32) {
    let attempts = retries + 1;
    for db in Db::both().await {
        let mut publisher = poison_worker(&db, "publish", order, retries);
        assert!(wait(&mut publisher, Duration::from_secs(60)).success());

        // Restart the worker after each abort until it finishes normally.
        let mut aborts = 0;
        let mut finished = false;
        for _run in 0..6 {
            let mut worker = poison_worker(&db, "work", order, retries);
            let status = wait(&mut worker, Duration::from_secs(90));
            if status.success() {
                finished = true;
                break;
            }
            assert_eq!(
                status.signal(),
                Some(6),
                "{} {order}: the worker ends normally or by abort: {status:?}",
                db.target
            );
            aborts += 1;
        }
        assert!(
            finished,
            "{} {order}: still aborting after {aborts} runs",
            db.target
        );
        assert_eq!(aborts, attempts.max(2), "{} {order}", db.target);

        let letters = db
            .store
            .dead_letters(&Scope::AllDistricts, None, 100)
            .await
            .unwrap();
        assert_eq!(letters.len(), 1, "{} {order}: {letters:?}", db.target);
        let letter = &letters[0];
        assert_eq!(
            letter.event.event.payload["lineItemId"], "li-poison",
            "{} {order}",
            db.target
        );
        assert_eq!(letter.handler_id, "probe.poison");
        assert_eq!(
            letter.attempts, attempts,
            "{} {order}: attempts never exceed the maximum",
            db.target
        );
        let times = format!("{} times", attempts.max(2));
        let used = format!("its {attempts} attempt");
        for part in ["in flight when its worker died", &times, &used] {
            assert!(
                letter.last_error.contains(part),
                "{} {order}: `{part}` missing from {:?}",
                db.target,
                letter.last_error
            );
        }
        assert_eq!(
            db.scalar("SELECT COUNT(*) FROM skc_deliveries WHERE status = 'done'")
                .await,
            3,
            "{} {order}: the other deliveries are done",
            db.target
        );
        let over = db
            .scalar("SELECT COUNT(*) FROM skc_deliveries WHERE attempts > 2")
            .await;
        let over_one = db
            .scalar("SELECT COUNT(*) FROM skc_deliveries WHERE attempts > 1")
            .await;
        assert_eq!(
            if attempts == 1 { over_one } else { over },
            0,
            "{} {order}: no delivery past its maximum",
            db.target
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_ends_in_the_dead_letters_and_spares_the_others() {
    poison_is_dead_lettered_and_the_rest_done("unordered", 1).await;
}

/// With no retries, the deliveries in flight beside the poison are on their
/// last attempt when it kills their worker: they run again all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_retries_the_deliveries_beside_a_poison_event_are_still_done() {
    poison_is_dead_lettered_and_the_rest_done("unordered", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_of_an_ordered_handler_no_longer_blocks_its_aggregate() {
    poison_is_dead_lettered_and_the_rest_done("ordered", 1).await;
}
