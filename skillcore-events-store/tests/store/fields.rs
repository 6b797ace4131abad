//! Indexes of payload fields: the same answers with and without one, listed,
//! dropped, refused for names no index can have.

use super::*;

/// The ids of the events found.
fn ids(found: Vec<StoredEvent>) -> Vec<uuid::Uuid> {
    found.into_iter().map(|e| e.event.id).collect()
}

#[tokio::test]
async fn an_indexed_field_finds_what_the_unindexed_one_did() {
    for (name, store) in both().await {
        let posted = "gradebook.grade.posted";
        let events = [
            event(
                posted,
                "r-1",
                "d-a",
                json!({"studentId": "s-1", "final": true, "points": 7}),
            ),
            event(
                posted,
                "r-2",
                "d-b",
                json!({"studentId": "s-1", "final": false, "points": 8}),
            ),
            event(
                posted,
                "r-3",
                "d-a",
                json!({"studentId": "s-2", "final": true, "points": 7.5}),
            ),
            // Another type with the same field and value: never found.
            event(
                "gradebook.grade.revised",
                "r-1",
                "d-a",
                json!({"studentId": "s-1"}),
            ),
            // The field missing.
            event(posted, "r-4", "d-a", json!({"other": "s-1"})),
        ];
        store.append(&events, |_| Vec::new()).await.unwrap();
        let searches: [(Scope, &str, &str); 8] = [
            (Scope::AllDistricts, "studentId", "s-1"),
            (Scope::district("d-a"), "studentId", "s-1"),
            (Scope::district("d-b"), "studentId", "s-1"),
            (Scope::AllDistricts, "studentId", "nobody"),
            (Scope::AllDistricts, "final", "true"),
            (Scope::AllDistricts, "final", "1"),
            (Scope::AllDistricts, "points", "7"),
            (Scope::AllDistricts, "points", "7.5"),
        ];
        let mut before = Vec::new();
        for (scope, field, value) in &searches {
            before.push(ids(store
                .events_by_field(scope, posted, field, value)
                .await
                .unwrap()));
        }
        // What the searches must find, to know the comparison is not of two
        // empty answers.
        assert_eq!(before[0], [events[0].id, events[1].id], "{name}");
        assert_eq!(before[1], [events[0].id], "{name}");
        assert_eq!(before[4], [events[0].id, events[2].id], "{name}");
        assert!(before[5].is_empty(), "{name}: a boolean is `true`, not `1`");

        for field in ["studentId", "final", "points"] {
            let made = store.create_field_index(posted, field).await.unwrap();
            assert_eq!(
                (made.event_type.as_str(), made.field.as_str()),
                (posted, field)
            );
            assert!(made.index.starts_with("skc_field_"), "{name}: {made:?}");
        }
        for ((scope, field, value), expected) in searches.iter().zip(&before) {
            let found = ids(store
                .events_by_field(scope, posted, field, value)
                .await
                .unwrap());
            assert_eq!(&found, expected, "{name}: {field} = {value} in {scope:?}");
        }
        // Appends after the index are in it.
        let later = event(posted, "r-5", "d-a", json!({"studentId": "s-1"}));
        store
            .append(std::slice::from_ref(&later), |_| Vec::new())
            .await
            .unwrap();
        let found = ids(store
            .events_by_field(&Scope::district("d-a"), posted, "studentId", "s-1")
            .await
            .unwrap());
        assert_eq!(found, [events[0].id, later.id], "{name}");
    }
}

#[tokio::test]
async fn field_indexes_are_listed_kept_once_and_dropped() {
    for (name, store) in both().await {
        assert!(store.field_indexes().await.unwrap().is_empty(), "{name}");
        let a = store
            .create_field_index("b.thing.done", "studentId")
            .await
            .unwrap();
        // Idempotent: the same index, recorded once.
        assert_eq!(
            store
                .create_field_index("b.thing.done", "studentId")
                .await
                .unwrap(),
            a
        );
        let b = store
            .create_field_index("a.thing.done", "courseId")
            .await
            .unwrap();
        assert_ne!(a.index, b.index, "{name}");
        assert_eq!(
            store.field_indexes().await.unwrap(),
            [b.clone(), a.clone()],
            "{name}"
        );

        assert!(store
            .drop_field_index("b.thing.done", "studentId")
            .await
            .unwrap());
        assert!(!store
            .drop_field_index("b.thing.done", "studentId")
            .await
            .unwrap());
        assert_eq!(store.field_indexes().await.unwrap(), [b], "{name}");
        // Searches go on without it.
        let e = event("b.thing.done", "x-1", "d-a", json!({"studentId": "s-9"}));
        store
            .append(std::slice::from_ref(&e), |_| Vec::new())
            .await
            .unwrap();
        let found = store
            .events_by_field(&Scope::AllDistricts, "b.thing.done", "studentId", "s-9")
            .await
            .unwrap();
        assert_eq!(ids(found), [e.id], "{name}");
    }
}

#[tokio::test]
async fn names_no_index_can_have_are_refused_and_still_searched() {
    for (name, store) in both().await {
        for bad in ["", "a'b.c", "a b", "x;drop table skc_events"] {
            let err = store
                .create_field_index(bad, "studentId")
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::InvalidQuery(_)), "{name}: {err}");
            assert!(err.to_string().contains("letters, digits"), "{name}: {err}");
        }
        let err = store
            .create_field_index("a.b.c", "student'Id")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidField(_)), "{name}: {err}");
        assert!(store.field_indexes().await.unwrap().is_empty(), "{name}");

        // A type that cannot be written into a statement is searched with
        // bound parameters, as before.
        let odd = "legacy type's name";
        let e = event(odd, "x-1", "d-a", json!({"studentId": "s-1"}));
        store
            .append(std::slice::from_ref(&e), |_| Vec::new())
            .await
            .unwrap();
        let found = store
            .events_by_field(&Scope::AllDistricts, odd, "studentId", "s-1")
            .await
            .unwrap();
        assert_eq!(ids(found), [e.id], "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_for_a_rare_value_reads_the_field_index_once_made() {
    for (name, store) in both().await {
        let posted = "gradebook.grade.posted";
        // More events of the type than a page reads candidates of: without the
        // index the one match, the oldest, is out of the first page's reach.
        let n = skillcore_events_store::MAX_SCAN as usize + 500;
        let events: Vec<NewEvent> = (0..n)
            .map(|i| {
                let student = if i == 0 {
                    "rare".to_string()
                } else {
                    format!("s-{}", i % 50)
                };
                event(
                    posted,
                    &format!("r-{i}"),
                    "d-a",
                    json!({"studentId": student, "points": i}),
                )
            })
            .collect();
        for chunk in events.chunks(1_000) {
            store.append(chunk, |_| Vec::new()).await.unwrap();
        }
        // The same text under another type: not a match.
        store
            .append(
                &[event(
                    "gradebook.grade.revised",
                    "x",
                    "d-a",
                    json!({"studentId": "rare"}),
                )],
                |_| Vec::new(),
            )
            .await
            .unwrap();
        let rare = EventQuery::new(Scope::AllDistricts)
            .event_type(posted)
            .field("studentId", "rare");

        let before = store.search_events(&rare).await.unwrap();
        assert!(before.events.is_empty(), "{name}: {:?}", before.examined);
        assert_eq!(before.examined, skillcore_events_store::MAX_SCAN, "{name}");
        assert!(before.next.is_some(), "{name}: a cursor to go on");

        let index = store.create_field_index(posted, "studentId").await.unwrap();
        let plan = store.explain_search(&rare).await.unwrap().join("\n");
        assert!(plan.contains(&index.index), "{name}: {plan}");
        let after = store.search_events(&rare).await.unwrap();
        assert_eq!(ids(after.events), [events[0].id], "{name}");
        assert_eq!((after.examined, after.next), (1, None), "{name}");

        // Scope still applies, and a common value pages newest first as
        // through the type's index.
        let other = store
            .search_events(
                &EventQuery::new(Scope::district("d-b"))
                    .event_type(posted)
                    .field("studentId", "rare"),
            )
            .await
            .unwrap();
        assert!(other.events.is_empty(), "{name}: district d-b has none");
        let common = EventQuery::new(Scope::AllDistricts)
            .event_type(posted)
            .field("studentId", "s-7")
            .limit(40);
        let page = store.search_events(&common).await.unwrap();
        let expected: Vec<uuid::Uuid> = events
            .iter()
            .enumerate()
            .rev()
            .filter(|(i, _)| *i != 0 && i % 50 == 7)
            .map(|(_, e)| e.id)
            .collect();
        assert_eq!(ids(page.events), expected[..40], "{name}");
        let rest = store
            .search_events(&common.clone().after(page.next))
            .await
            .unwrap();
        assert_eq!(
            ids(rest.events),
            expected[40..80],
            "{name}: the second page"
        );
        // Another field of the type, which has no index: through the type's
        // index as before.
        let number = EventQuery::new(Scope::AllDistricts)
            .event_type(posted)
            .field("points", (n - 1) as i64);
        assert_eq!(
            store.search_events(&number).await.unwrap().events.len(),
            1,
            "{name}"
        );

        // Dropped: back to the type's index, as before.
        store.drop_field_index(posted, "studentId").await.unwrap();
        let dropped = store.search_events(&rare).await.unwrap();
        assert!(dropped.events.is_empty(), "{name}");
        assert!(!store
            .explain_search(&rare)
            .await
            .unwrap()
            .join("\n")
            .contains(&index.index));
    }
}
