//! Queries scoped to a district, bound payload values, ordered handlers, replay.

use super::*;

#[tokio::test]
async fn queries_are_scoped_to_one_district() {
    for (name, store) in both().await {
        let a = event(
            "gradebook.grade.posted",
            "r-a",
            "district-a",
            json!({"studentId": "s-1"}),
        );
        let b = event(
            "gradebook.grade.posted",
            "r-b",
            "district-b",
            json!({"studentId": "s-1"}),
        );
        store
            .append(&[a.clone(), b.clone()], |_| Vec::new())
            .await
            .unwrap();
        let scope_a = Scope::District("district-a".into());
        let scope_b = Scope::District("district-b".into());

        let by_field = store
            .events_by_field(&scope_b, "gradebook.grade.posted", "studentId", "s-1")
            .await
            .unwrap();
        assert_eq!(by_field.len(), 1, "{name}");
        assert_eq!(
            by_field[0].event.id, b.id,
            "{name}: district B sees only its own"
        );
        let all = store
            .events_by_field(
                &Scope::AllDistricts,
                "gradebook.grade.posted",
                "studentId",
                "s-1",
            )
            .await
            .unwrap();
        assert_eq!(all.len(), 2, "{name}: the admin scope sees both");

        assert!(
            store
                .aggregate_events(&scope_b, "Result", "r-a")
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        assert_eq!(
            store
                .aggregate_events(&scope_a, "Result", "r-a")
                .await
                .unwrap()
                .len(),
            1
        );

        let from = chrono::DateTime::parse_from_rfc3339("2025-11-17T00:00:00Z")
            .unwrap()
            .into();
        let to = chrono::DateTime::parse_from_rfc3339("2025-11-18T00:00:00Z")
            .unwrap()
            .into();
        let in_range = store
            .events_by_type(&scope_a, "gradebook.grade.posted", from, to)
            .await
            .unwrap();
        assert_eq!(in_range.len(), 1, "{name}");
        assert_eq!(in_range[0].event.id, a.id);
        let later = chrono::DateTime::parse_from_rfc3339("2025-11-17T14:03:01Z")
            .unwrap()
            .into();
        assert!(store
            .events_by_type(&scope_a, "gradebook.grade.posted", later, to)
            .await
            .unwrap()
            .is_empty());

        // On PostgreSQL the reader waits for older transactions anywhere in the
        // database (other tests') to finish: poll briefly.
        let mut read = Vec::new();
        for _ in 0..200 {
            read = store
                .read_after(&scope_a, Cursor::default(), 100)
                .await
                .unwrap()
                .0;
            if !read.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(read.len(), 1, "{name}");
    }
}

#[tokio::test]
async fn payload_values_are_bound_never_spliced() {
    for (name, store) in both().await {
        store
            .append(
                &[event("a.b.posted", "x", "d", json!({"studentId": "s-1"}))],
                |_| Vec::new(),
            )
            .await
            .unwrap();
        let evil = "s-1' OR '1'='1";
        let found = store
            .events_by_field(&Scope::AllDistricts, "a.b.posted", "studentId", evil)
            .await
            .unwrap();
        assert!(found.is_empty(), "{name}");
        let err = store
            .events_by_field(
                &Scope::AllDistricts,
                "a.b.posted",
                "studentId') OR 1=1 --",
                "x",
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidField(_)), "{name}: {err}");
    }
}

#[tokio::test]
async fn ordered_handlers_get_one_aggregate_in_order() {
    for (name, store) in both().await {
        let ordered = |_: &str| {
            vec![Subscriber {
                handler_id: "proj",
                ordered: true,
            }]
        };
        store
            .append(
                &[event("a.b.posted", "agg-1", "d", json!({"n": 1}))],
                ordered,
            )
            .await
            .unwrap();
        store
            .append(
                &[event("a.b.posted", "agg-1", "d", json!({"n": 2}))],
                ordered,
            )
            .await
            .unwrap();
        store
            .append(
                &[event("a.b.posted", "agg-2", "d", json!({"n": 3}))],
                ordered,
            )
            .await
            .unwrap();
        let first = store.claim_for("w", &["proj"], 10, LEASE).await.unwrap();
        let ns: Vec<_> = first
            .iter()
            .map(|c| c.event.event.payload["n"].clone())
            .collect();
        assert_eq!(
            ns,
            vec![json!(1), json!(3)],
            "{name}: the second event of agg-1 waits"
        );
        for c in &first {
            store.complete(c).await.unwrap();
        }
        let next = store.claim_for("w", &["proj"], 10, LEASE).await.unwrap();
        assert_eq!(next.len(), 1, "{name}");
        assert_eq!(next[0].event.event.payload["n"], json!(2));
    }
}

#[tokio::test]
async fn replay_redelivers_matching_events_to_one_handler() {
    for (name, store) in both().await {
        let h = |_: &str| unordered(&["proj"]);
        store
            .append(&[event("a.b.posted", "1", "d", json!({}))], h)
            .await
            .unwrap();
        store
            .append(&[event("c.d.marked", "2", "d", json!({}))], h)
            .await
            .unwrap();
        let w = Handlers::new()
            .on(
                &["a.b.posted", "c.d.marked"],
                "proj",
                HandlerOptions::new(),
                |_e, _a| async { Ok(()) },
            )
            .worker(&store, "w")
            .build();
        assert_eq!(w.drain().await.unwrap(), 2, "{name}");
        let (batch, n) = store
            .replay(
                &Scope::AllDistricts,
                "proj",
                &ReplayFilter {
                    event_type: Some("a.b.posted".into()),
                    since: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(n, 1, "{name}");
        let p = store
            .replay_progress(&Scope::AllDistricts, "proj", batch)
            .await
            .unwrap();
        assert_eq!((p.total, p.done), (1, 0));
        let outcomes = w.run_once().await.unwrap();
        assert_eq!(
            outcomes,
            vec![Outcome::Done],
            "{name}: a replay runs the handler again"
        );
        assert!(store
            .replay_progress(&Scope::AllDistricts, "proj", batch)
            .await
            .unwrap()
            .finished());
    }
}
