//! `Debug` of every store type that holds a payload redacts pii by the
//! catalog (at any depth, unknown fields and unknown events hidden), and a
//! failed attempt's stored error is bounded.

mod common;

use common::{both, event};
use serde_json::json;
use skillcore_events_store::{Scope, Subscriber, MAX_ERROR_BYTES};
use std::time::Duration;

mod events {
    skillcore_events::catalog!("../skillcore-events-core/tests/fixtures/pii.yaml");
}

const MARKER: &str = "SECRET-MARKER";

fn payload() -> serde_json::Value {
    json!({
        "studentId": "stu-visible",
        "score": 1.5,
        "level": "low",
        "tags": ["t"],
        "comment": format!("{MARKER}-comment"),
        "guardian": {
            "name": format!("{MARKER}-name"),
            "relation": "aunt",
            "contactId": "00000000-0000-0000-0000-000000000001",
            "priority": 1,
            "phones": [{"number": format!("{MARKER}-phone"), "kind": "cell"}],
        },
        "guardians": [{"name": format!("{MARKER}-list"), "relation": "uncle"}],
        "emergency": {"name": "x", "relation": format!("{MARKER}-whole")},
        "newField": format!("{MARKER}-unknown"),
    })
}

#[tokio::test]
async fn debug_of_store_types_never_shows_a_pii_value() {
    // The catalog is linked (the generated types are used somewhere).
    let _ = events::EVENTS.len();
    for (name, store) in both().await {
        let mut e = event("student.record.updated", "stu-visible", "dst-1", payload());
        e.aggregate_type = "Student".into();
        let unknown = event("no.such.event", "a-1", "dst-1", json!({"a": MARKER}));
        for shown in [format!("{e:?}"), format!("{unknown:?}")] {
            assert!(!shown.contains(MARKER), "{name}: {shown}");
        }
        let shown = format!("{e:?}");
        assert!(
            shown.contains("stu-visible") && shown.contains("[redacted]"),
            "{shown}"
        );

        store
            .append(&[e.clone(), unknown.clone()], |_| {
                vec![Subscriber {
                    handler_id: "h",
                    ordered: false,
                }]
            })
            .await
            .unwrap();
        let stored = store
            .aggregate_events(&Scope::AllDistricts, "Student", "stu-visible")
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        let claimed = store
            .claim_for("w", &["h"], 10, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2);
        // A handler's error as long as a 20 MB value quoted in it.
        let huge = "handler error ".repeat(100_000);
        for c in &claimed {
            assert!(store.fail(c, &huge, None).await.unwrap());
        }
        let letters = store
            .dead_letters(&Scope::AllDistricts, None, 10)
            .await
            .unwrap();
        assert_eq!(letters.len(), 2);
        for shown in [
            format!("{stored:?}"),
            format!("{claimed:?}"),
            format!("{letters:?}"),
        ] {
            assert!(!shown.contains(MARKER), "{name}: {shown}");
            assert!(shown.contains("stu-visible"), "{name}: {shown}");
        }
        for l in &letters {
            assert!(
                l.last_error.len() <= MAX_ERROR_BYTES,
                "{name}: {}",
                l.last_error.len()
            );
            assert!(
                l.last_error
                    .ends_with(&format!("(error cut: {} bytes in all)", huge.len())),
                "{name}"
            );
            // Debug of a letter holds its (bounded) error, never its payload.
            let shown = format!("{l:?}");
            assert!(
                shown.len() < MAX_ERROR_BYTES + 2_000,
                "{name}: {}",
                shown.len()
            );
            assert!(!shown.contains(MARKER), "{name}: {shown}");
        }
    }
}
