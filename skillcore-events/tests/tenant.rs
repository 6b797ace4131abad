//! Tenant metadata from the payload (`metadata:` in the catalog): a bare
//! payload is published with its envelope built from its fields; an explicit
//! envelope that disagrees with them is refused and never delivered.

use skillcore_events::{Envelope, Event, EventBus, Metadata, PublishError};
use std::sync::{Arc, Mutex};

mod events {
    skillcore_events::catalog!("tests/fixtures/tenant.yaml");
}
use events::{gradebook::GradePosted, intervention::CaseOpened, system::ClockTicked};

fn grade() -> GradePosted {
    GradePosted {
        result_id: "res-1".into(),
        district_id: "dst-1".into(),
        school_id: "sch-1".into(),
        graded_by_id: "tch-1".into(),
        comment: Some("a private remark".into()),
    }
}

/// A bus whose one handler of grades records the metadata it was given.
fn bus() -> (EventBus, Arc<Mutex<Vec<Metadata>>>) {
    let seen: Arc<Mutex<Vec<Metadata>>> = Arc::default();
    let s = Arc::clone(&seen);
    let bus = EventBus::builder()
        .log_events(false)
        .log_handlers(false)
        .subscribe::<GradePosted, _, _>("audit.record", move |event, _| {
            let s = Arc::clone(&s);
            let m = event.metadata.clone();
            async move {
                s.lock().unwrap().push(m);
                Ok(())
            }
        })
        .build()
        .unwrap();
    (bus, seen)
}

#[tokio::test]
async fn a_bare_payload_is_published_with_metadata_from_its_fields() {
    let (bus, seen) = bus();
    bus.publish(grade()).await.unwrap();
    bus.idle().await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].district_id, "dst-1");
    assert_eq!(seen[0].school_id, "sch-1");
    assert_eq!(seen[0].user_id.as_deref(), Some("tch-1"));
}

#[tokio::test]
async fn an_envelope_that_disagrees_with_the_payload_is_refused_and_not_delivered() {
    let (bus, seen) = bus();
    for (meta, key, field) in [
        (
            Metadata::new("dst-OTHER", "sch-1"),
            "district_id",
            "districtId",
        ),
        (Metadata::new("dst-1", "sch-OTHER"), "school_id", "schoolId"),
        (
            Metadata::new("dst-1", "sch-1").with_user("tch-OTHER"),
            "user_id",
            "gradedById",
        ),
    ] {
        let err = bus.publish(Envelope::new(grade(), meta)).await.unwrap_err();
        match &err {
            PublishError::MetadataMismatch {
                event,
                key: k,
                field: f,
            } => {
                assert_eq!((*event, *k, *f), (GradePosted::NAME, key, field));
            }
            other => panic!("expected a metadata mismatch, got {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains(key) && text.contains(field), "{text}");
        // Names the keys and fields, never the values.
        for value in ["dst-1", "OTHER", "tch-1", "a private remark"] {
            assert!(!text.contains(value), "{text}");
        }
    }
    // publish_all refuses the batch when one envelope disagrees.
    let batch = vec![
        Envelope::from_payload(grade()),
        Envelope::new(grade(), Metadata::new("dst-OTHER", "sch-1")),
    ];
    assert!(matches!(
        bus.publish_all(batch).await,
        Err(PublishError::MetadataMismatch { .. })
    ));
    bus.idle().await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "a refused event was delivered"
    );
}

#[tokio::test]
async fn an_agreeing_envelope_is_published_and_gets_the_user_filled_in() {
    let (bus, seen) = bus();
    let meta = Metadata::new("dst-1", "sch-1").with_correlation("req-9");
    bus.publish(Envelope::new(grade(), meta)).await.unwrap();
    bus.publish_all(vec![grade(), grade()]).await.unwrap();
    bus.idle().await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].user_id.as_deref(), Some("tch-1"));
    assert_eq!(seen[0].correlation_id.as_deref(), Some("req-9"));
}

#[test]
fn the_catalog_wide_mapping_applies_where_the_fields_exist() {
    let case = CaseOpened {
        case_id: "case-1".into(),
        district_id: "dst-2".into(),
        school_id: "sch-2".into(),
    };
    let t = case.tenant().expect("catalog-wide metadata");
    assert_eq!(t.district, ("districtId", "dst-2"));
    assert_eq!(t.user, None);
    let env = Envelope::from_payload(case);
    assert_eq!(
        (env.metadata.district_id.as_str(), env.metadata.user_id),
        ("dst-2", None)
    );
    // No tenant fields: no mapping (and no bare publish: it does not compile).
    let tick = ClockTicked {
        clock_id: "c".into(),
    };
    assert!(tick.tenant().is_none());
    // The tenant's Debug names fields, not values.
    let dbg = format!("{:?}", grade().tenant().unwrap());
    assert!(
        dbg.contains("districtId") && !dbg.contains("dst-1"),
        "{dbg}"
    );
}
