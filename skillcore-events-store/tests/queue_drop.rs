//! `queue drop` on a queue bigger than one stretch of ids: on SQLite,
//! `drop_handler` deletes 20,000 ids a statement so that the writer is never
//! held for a scan of the whole queue. A binary of its own: appending 25,000
//! deliveries would slow the lease tests' timing beside it.

mod common;

use common::{both, event};
use serde_json::json;
use skillcore_events_store::*;

async fn stats_of(store: &Store, handler: &str) -> Option<HandlerStats> {
    store
        .stats(&Scope::AllDistricts)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.handler_id == handler)
}

fn subs(handlers: &'static [&'static str]) -> impl Fn(&str) -> Vec<Subscriber<'static>> {
    move |_| {
        handlers
            .iter()
            .map(|h| Subscriber {
                handler_id: h,
                ordered: false,
            })
            .collect()
    }
}

/// `drop_handler` over more deliveries than one stretch of ids (SQLite deletes
/// 20,000 ids a statement): every row of the gone handler goes, in every
/// stretch, and no other handler's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_handler_takes_its_rows_in_every_stretch_of_the_queue() {
    for (name, store) in both().await {
        // Every id from 1 to 25,000 is the gone handler's, so a row missed at
        // the edge of a stretch is seen; then one of a handler that stays.
        let events: Vec<_> = (0..25_000)
            .map(|i| event("a.b.posted", &i.to_string(), "d", json!({})))
            .collect();
        for chunk in events.chunks(2_500) {
            store.append(chunk, subs(&["old.gone"])).await.unwrap();
        }
        store
            .append(
                &[event("a.b.posted", "kept", "d", json!({}))],
                subs(&["kept"]),
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .drop_handler(&Scope::AllDistricts, "old.gone")
                .await
                .unwrap(),
            25_000,
            "{name}"
        );
        assert!(stats_of(&store, "old.gone").await.is_none(), "{name}");
        assert_eq!(stats_of(&store, "kept").await.unwrap().waiting, 1, "{name}");
    }
}
