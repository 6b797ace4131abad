//! Dead letters grouped by masked error, and the bulk actions on a filter.

use super::*;
use std::collections::BTreeSet;
/// Dead letters: in A, h.one "student N not found" x3 and a timeout; h.two
/// "student N not found" x1; in B, h.one "student N not found" x2.
async fn dead_letters(store: &Store) {
    let mut events = Vec::new();
    for i in 0..4 {
        events.push(event("d.e.posted", &format!("a-{i}"), "dst-A", json!({})));
    }
    events.push(event("d.e.other", "a-9", "dst-A", json!({})));
    events.push(event("d.e.posted", "b-1", "dst-B", json!({})));
    events.push(event("d.e.posted", "b-2", "dst-B", json!({})));
    store.append(&events, subs).await.unwrap();
    let ones = claim(store, "h.one", 7).await;
    kill(store, &ones, |c| {
        match c.event.event.aggregate_id.as_str() {
            "a-3" => format!("timeout after {}.5s", c.delivery_id),
            "a-9" => "student 'Ann Smith' not found".into(),
            id => format!(
                "student {} not found (req {})",
                id.len() * 11 + c.delivery_id as usize,
                uuid::Uuid::now_v7()
            ),
        }
    })
    .await;
    let twos = claim(store, "h.two", 1).await;
    kill(store, &twos, |_| "student 77 not found".into()).await;
}

#[tokio::test]
async fn dead_letters_group_by_masked_error_with_the_same_keys_on_both_backends() {
    let mut keys = Vec::new();
    for (name, store) in both().await {
        dead_letters(&store).await;
        let groups = store
            .dead_letter_groups(&a(), &DeadFilter::default())
            .await
            .unwrap();
        let mut view: Vec<_> = groups
            .iter()
            .map(|g| (g.handler_id.as_str(), g.error.as_str(), g.count))
            .collect();
        assert_eq!(view[0].2, 3, "{name}: the biggest group first: {groups:?}");
        view.sort();
        assert_eq!(
            view,
            [
                ("h.one", "student <n> not found (req <uuid>)", 3),
                ("h.one", "student <str> not found", 1),
                ("h.one", "timeout after <n>s", 1),
                ("h.two", "student <n> not found", 1),
            ],
            "{name}: {groups:?}"
        );
        let big = &groups[0];
        assert!(big.first_seen <= big.last_seen);
        assert!(big.sample_error.starts_with("student "), "{name}");
        let all = store
            .dead_letter_groups(&Scope::AllDistricts, &DeadFilter::default())
            .await
            .unwrap();
        assert_eq!(
            all.iter().find(|g| g.key == big.key).unwrap().count,
            5,
            "{name}: B's two join"
        );
        let of_b = store
            .dead_letter_groups(&b(), &DeadFilter::default())
            .await
            .unwrap();
        assert_eq!(of_b.len(), 1, "{name}: {of_b:?}");
        let typed = DeadFilter::default().event_type("d.e.other");
        assert_eq!(
            store.dead_letter_groups(&a(), &typed).await.unwrap().len(),
            1,
            "{name}"
        );
        let f = DeadFilter::default().handler("h.two");
        assert_eq!(
            store.dead_letter_groups(&a(), &f).await.unwrap().len(),
            1,
            "{name}"
        );
        let later = DeadFilter::default()
            .between(Utc::now() + Age::minutes(1), Utc::now() + Age::minutes(2));
        assert!(
            store
                .dead_letter_groups(&a(), &later)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        keys.push(
            groups
                .iter()
                .map(|g| g.key.clone())
                .collect::<BTreeSet<_>>(),
        );
    }
    assert_eq!(
        keys[0], keys[1],
        "the same groups and keys on both backends"
    );
}

#[tokio::test]
async fn bulk_retry_and_discard_count_exactly_and_stay_in_scope() {
    for (name, store) in both().await {
        dead_letters(&store).await;
        let groups = store
            .dead_letter_groups(&a(), &DeadFilter::default())
            .await
            .unwrap();
        let big = DeadFilter::default().group(&groups[0].key);
        assert_eq!(
            store.count_dead_matching(&a(), &big).await.unwrap(),
            3,
            "{name}"
        );
        assert_eq!(
            store.count_dead_matching(&b(), &big).await.unwrap(),
            2,
            "{name}"
        );
        assert_eq!(
            store.retry_dead_matching(&a(), &big).await.unwrap(),
            3,
            "{name}"
        );
        assert_eq!(
            store.retry_dead_matching(&a(), &big).await.unwrap(),
            0,
            "{name}: nothing twice"
        );
        assert_eq!(
            store.count_dead_matching(&b(), &big).await.unwrap(),
            2,
            "{name}: B's untouched"
        );
        let stats = store.stats(&a()).await.unwrap();
        let one = stats.iter().find(|s| s.handler_id == "h.one").unwrap();
        assert_eq!(
            (one.waiting, one.dead),
            (3, 2),
            "{name}: retried with fresh attempts"
        );
        let again = claim(&store, "h.one", 10).await;
        assert_eq!(
            again.len(),
            3,
            "{name}: the retried letters are claimed again"
        );
        assert!(again.iter().all(|c| c.attempt == 1), "{name}");

        let rest = DeadFilter::default().handler("h.one");
        assert_eq!(
            store.discard_dead_matching(&a(), &rest).await.unwrap(),
            2,
            "{name}"
        );
        assert_eq!(
            store
                .count_dead_matching(&a(), &DeadFilter::default())
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .discard_dead_matching(&Scope::AllDistricts, &DeadFilter::default())
                .await
                .unwrap(),
            3
        );
        assert_eq!(
            store
                .count_dead_matching(&Scope::AllDistricts, &DeadFilter::default())
                .await
                .unwrap(),
            0
        );
    }
}
