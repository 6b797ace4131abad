//! Dead letters, queue counters and replays are scoped to a district like
//! every other query, on SQLite and PostgreSQL alike.

mod common;

use common::{both, event};
use serde_json::json;
use skillcore_events_store::*;
use std::time::Duration;

fn subs(_: &str) -> Vec<Subscriber<'static>> {
    vec![
        Subscriber {
            handler_id: "h.one",
            ordered: false,
        },
        Subscriber {
            handler_id: "h.two",
            ordered: false,
        },
    ]
}

fn a() -> Scope {
    Scope::district("dst-A")
}

fn b() -> Scope {
    Scope::district("dst-B")
}

/// One event of A and two of B; every `h.one` delivery dead, `h.two` waiting.
async fn fill(store: &Store) {
    store
        .append(
            &[
                event("a.b.posted", "r-1", "dst-A", json!({"who": "A"})),
                event("a.b.posted", "r-2", "dst-B", json!({"who": "B"})),
                event("a.b.posted", "r-3", "dst-B", json!({"who": "B"})),
            ],
            subs,
        )
        .await
        .unwrap();
    let claimed = store
        .claim_for("t", &["h.one"], 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    for c in &claimed {
        store.fail(c, "boom", None).await.unwrap();
    }
}

fn districts(letters: &[DeadLetter]) -> Vec<String> {
    letters
        .iter()
        .map(|d| {
            d.event.event.metadata["districtId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn dead_letters_of_another_district_are_never_returned_retried_or_discarded() {
    for (name, store) in both().await {
        fill(&store).await;
        let of_a = store.dead_letters(&a(), None, 10).await.unwrap();
        assert_eq!(districts(&of_a), ["dst-A"], "{name}");
        let of_b = store.dead_letters(&b(), None, 10).await.unwrap();
        assert_eq!(districts(&of_b), ["dst-B", "dst-B"], "{name}");
        assert_eq!(
            store
                .dead_letters(&Scope::AllDistricts, None, 10)
                .await
                .unwrap()
                .len(),
            3,
            "{name}"
        );
        assert!(store
            .dead_letters(&Scope::district("dst-C"), None, 10)
            .await
            .unwrap()
            .is_empty());

        // B's letter addressed in A's scope: as if it did not exist.
        let theirs = of_b[0].delivery_id;
        assert!(!store.retry_dead(&a(), theirs).await.unwrap(), "{name}");
        assert!(!store.discard_dead(&a(), theirs).await.unwrap(), "{name}");
        assert_eq!(
            store.dead_letters(&b(), None, 10).await.unwrap().len(),
            2,
            "{name}: B's letters are untouched"
        );
        // In B's own scope it works.
        assert!(store.retry_dead(&b(), theirs).await.unwrap(), "{name}");
        assert!(store.discard_dead(&b(), of_b[1].delivery_id).await.unwrap());
        assert!(store.dead_letters(&b(), None, 10).await.unwrap().is_empty());
        assert_eq!(store.dead_letters(&a(), None, 10).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn stats_in_a_district_count_only_its_deliveries() {
    for (name, store) in both().await {
        fill(&store).await;
        let row = |stats: &[HandlerStats], h: &str| {
            let s = stats.iter().find(|s| s.handler_id == h).unwrap();
            (s.waiting, s.dead)
        };
        let of_a = store.stats(&a()).await.unwrap();
        assert_eq!(row(&of_a, "h.one"), (0, 1), "{name}: {of_a:?}");
        assert_eq!(row(&of_a, "h.two"), (1, 0), "{name}: {of_a:?}");
        let of_b = store.stats(&b()).await.unwrap();
        assert_eq!(row(&of_b, "h.one"), (0, 2), "{name}: {of_b:?}");
        let all = store.stats(&Scope::AllDistricts).await.unwrap();
        assert_eq!(row(&all, "h.one"), (0, 3), "{name}: {all:?}");
        assert_eq!(row(&all, "h.two"), (3, 0), "{name}: {all:?}");
        assert!(store
            .stats(&Scope::district("dst-C"))
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn replay_in_a_district_redelivers_only_its_events() {
    for (name, store) in both().await {
        fill(&store).await;
        let (batch, n) = store
            .replay(&a(), "proj", &ReplayFilter::default())
            .await
            .unwrap();
        assert_eq!(n, 1, "{name}: only A's event is queued");
        let p = store.replay_progress(&a(), "proj", batch).await.unwrap();
        assert_eq!((p.total, p.done), (1, 0), "{name}");
        assert_eq!(
            store
                .replay_progress(&b(), "proj", batch)
                .await
                .unwrap()
                .total,
            0,
            "{name}"
        );
        let claimed = store
            .claim_for("w", &["proj"], 10, Duration::from_secs(30))
            .await
            .unwrap();
        let who: Vec<&str> = claimed
            .iter()
            .map(|c| c.event.event.metadata["districtId"].as_str().unwrap())
            .collect();
        assert_eq!(who, ["dst-A"], "{name}");

        let (_, n) = store
            .replay(&Scope::AllDistricts, "proj2", &ReplayFilter::default())
            .await
            .unwrap();
        assert_eq!(n, 3, "{name}: all districts when asked for");
    }
}
