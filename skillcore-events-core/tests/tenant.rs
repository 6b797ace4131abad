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

/// A grade handler that opens a case through its context; a case handler
/// records the metadata of what it was given.
fn chained() -> (EventBus, Arc<Mutex<Vec<Metadata>>>) {
    let seen: Arc<Mutex<Vec<Metadata>>> = Arc::default();
    let s = Arc::clone(&seen);
    let bus = EventBus::builder()
        .log_events(false)
        .log_handlers(false)
        .subscribe::<GradePosted, _, _>("intervention.open_case", |event, cx| async move {
            let case = CaseOpened {
                case_id: format!("case-for-{}", event.payload.result_id),
                district_id: event.payload.district_id.clone(),
                school_id: event.payload.school_id.clone(),
            };
            cx.publish(case).await?;
            // A payload with no metadata mapping takes the handled event's.
            cx.publish(cx.envelope(ClockTicked {
                clock_id: "c".into(),
            }))
            .await?;
            Ok(())
        })
        .subscribe::<CaseOpened, _, _>("audit.case", {
            let s = Arc::clone(&s);
            move |event, _| {
                let s = Arc::clone(&s);
                let m = event.metadata.clone();
                async move {
                    s.lock().unwrap().push(m);
                    Ok(())
                }
            }
        })
        .subscribe::<ClockTicked, _, _>("audit.tick", move |event, _| {
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
async fn a_handler_publishes_follow_ups_through_its_context_with_the_chain_filled_in() {
    let (bus, seen) = chained();
    // A grade that starts no chain: the follow-up's correlation is its id.
    let first = bus.publish(grade()).await.unwrap();
    bus.idle().await;
    // A grade inside a request's chain: the follow-up carries it on.
    let meta = Metadata::new("dst-1", "sch-1").with_correlation("req-9");
    let second = bus.publish(Envelope::new(grade(), meta)).await.unwrap();
    bus.idle().await;
    let mut seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "{seen:?}");
    seen.sort_by_key(|m| (m.correlation_id.clone(), m.school_id.clone()));
    for m in &seen {
        assert_eq!(
            (m.district_id.as_str(), m.school_id.as_str()),
            ("dst-1", "sch-1")
        );
        let (cause, chain) = if m.correlation_id.as_deref() == Some("req-9") {
            (second, "req-9".to_string())
        } else {
            (first, first.to_string())
        };
        assert_eq!(m.causation_id, Some(cause), "{m:?}");
        assert_eq!(m.correlation_id.as_deref(), Some(chain.as_str()), "{m:?}");
    }
    // The clock tick took the handled grade's tenant, user included.
    assert!(seen.iter().any(|m| m.user_id.as_deref() == Some("tch-1")));
}

#[tokio::test]
async fn publish_through_a_context_outside_a_handler_is_refused_with_a_reason() {
    let cx = skillcore_events::HandlerContext {
        handler_id: "x.y",
        event_id: skillcore_events::uuid::Uuid::nil(),
        attempt: 1,
        max_attempts: 1,
    };
    let err = cx.publish(grade()).await.unwrap_err();
    assert!(
        err.to_string().contains("outside the handler's own task"),
        "{err}"
    );
}
