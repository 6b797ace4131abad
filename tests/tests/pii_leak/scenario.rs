//! What the child process of `pii_leak.rs` runs: the marked payload, its
//! wrong-typed variants, the bus, and the two phases.

use crate::catalog::pii::StudentEnrolled;
use crate::catalog::{self, Address, Condition, Guardian};
use crate::{pg_url, runtime, HANDLERS};
use serde_json::{json, Value};
use skillcore_events::backend::DynEnvelope;
use skillcore_events::chrono::{NaiveDate, TimeZone, Utc};
use skillcore_events::store::{new_event, Durability, Durable, PostgresCommit, Store, Subscriber};
use skillcore_events::uuid::Uuid;
use skillcore_events::{
    Envelope, Event, EventBus, HandlerError, HandlerOptions, Metadata, RawEnvelope, Scope,
};
use std::time::Duration;

/// Runs phase `phase` ("1" or "2") against `target`, logging at TRACE to
/// stderr.
pub fn run(target: &str, phase: &str) {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    runtime().block_on(async {
        if phase == "1" {
            phase_one(target).await;
        } else {
            phase_two(target).await;
        }
    });
    println!("CHILD DONE");
}

/// The payload with a marker in every pii field.
fn marked() -> StudentEnrolled {
    let guardian = |n: i64| Guardian {
        relation: "mother".into(),
        name: format!("PIIMARK-guardian{n}-name"),
        phone: Some(format!("PIIMARK-guardian{n}-phone")),
        age: 987654321 + n,
        income: 31415.9265,
        custodial: true,
        birth_date: NaiveDate::from_ymd_opt(1917, 3, 9).unwrap(),
        verified_at: Utc.with_ymd_and_hms(1917, 3, 8, 11, 22, 33).unwrap(),
        person_id: Uuid::parse_str("5eb1a1e0-0000-4000-8000-00000000beef").unwrap(),
        condition: Condition::Markedcondition,
        address: Address {
            street: format!("PIIMARK-guardian{n}-street"),
            city: "Springfield".into(),
        },
        home: Address {
            street: format!("PIIMARK-guardian{n}-home-street"),
            city: "Springfield".into(),
        },
    };
    StudentEnrolled {
        student_id: "stu-1".into(),
        district_id: "dst-1".into(),
        ssn: "PIIMARK-ssn".into(),
        nickname: Some("PIIMARK-nickname".into()),
        age: 987654321,
        gpa: 31415.9265,
        iep: true,
        birth_date: NaiveDate::from_ymd_opt(1917, 3, 8).unwrap(),
        enrolled_at: Utc.with_ymd_and_hms(1917, 3, 8, 11, 22, 33).unwrap(),
        person_id: Uuid::parse_str("5eb1a1e0-0000-4000-8000-00000000beef").unwrap(),
        condition: Condition::Markedcondition,
        address: Address {
            street: "PIIMARK-street".into(),
            city: "Springfield".into(),
        },
        home: Address {
            street: "PIIMARK-home-street".into(),
            city: "Springfield".into(),
        },
        guardian: guardian(1),
        guardians: vec![guardian(2), guardian(3)],
        aliases: vec!["PIIMARK-alias1".into(), "PIIMARK-alias2".into()],
        sibling_ages: vec![987654330, 987654331],
        conditions: vec![Condition::Markedcondition, Condition::Asthma],
        notes: Some(vec!["PIIMARK-note".into()]),
    }
}

/// Each pii field in turn given a wrong-typed value that carries a marker
/// (a marker string where another type is expected; a distinctive number
/// where a string is expected): every one is a decode error.
pub const VARIANTS: [(&str, &str); 31] = [
    ("/ssn", "987654340"),
    ("/nickname", "987654341"),
    ("/age", "\"PIIMARK-age\""),
    ("/age", "31415.9265"),
    ("/gpa", "\"PIIMARK-gpa\""),
    ("/iep", "\"PIIMARK-iep\""),
    ("/birthDate", "\"PIIMARK-birthDate\""),
    ("/birthDate", "\"1917-02-30\""),
    ("/enrolledAt", "\"PIIMARK-enrolledAt\""),
    ("/personId", "\"PIIMARK-personId\""),
    ("/condition", "\"PIIMARK-condition\""),
    ("/address", "\"PIIMARK-address\""),
    ("/address/street", "987654342"),
    ("/home/street", "987654343"),
    ("/guardian/name", "987654344"),
    ("/guardian/phone", "987654345"),
    ("/guardian/age", "\"PIIMARK-guardian-age\""),
    ("/guardian/income", "\"PIIMARK-guardian-income\""),
    ("/guardian/custodial", "\"PIIMARK-guardian-custodial\""),
    ("/guardian/birthDate", "\"PIIMARK-guardian-birthDate\""),
    ("/guardian/verifiedAt", "\"PIIMARK-guardian-verifiedAt\""),
    ("/guardian/personId", "\"PIIMARK-guardian-personId\""),
    ("/guardian/condition", "\"PIIMARK-guardian-condition\""),
    ("/guardian/address", "\"PIIMARK-guardian-address\""),
    ("/guardians/1/name", "987654346"),
    ("/guardians/1/condition", "\"PIIMARK-guardians-condition\""),
    ("/aliases", "\"PIIMARK-aliases\""),
    ("/aliases/1", "987654347"),
    ("/siblingAges/0", "\"PIIMARK-siblingAges\""),
    ("/conditions/0", "\"PIIMARK-conditions\""),
    ("/notes/0", "987654348"),
];

/// The raw envelope of `payload` under a new id.
fn raw_with(envelope: &Envelope<StudentEnrolled>, payload: Value) -> RawEnvelope {
    let mut json: Value = serde_json::from_str(&envelope.to_json().unwrap()).unwrap();
    json["id"] = json!(Uuid::now_v7().to_string());
    json["payload"] = payload;
    RawEnvelope::from_json(&json.to_string()).expect("the envelope itself is well formed")
}

fn bus(target: &str) -> EventBus {
    let flaky = HandlerOptions::new()
        .retries(2)
        .backoff(Duration::from_millis(5));
    let once = HandlerOptions::new()
        .retries(1)
        .backoff(Duration::from_millis(5));
    let b = EventBus::builder()
        .catalog(catalog::EVENTS)
        .subscribe_with::<StudentEnrolled, _, _>("pii.flaky", flaky, |_e, cx| async move {
            if cx.attempt == 1 {
                Err(HandlerError::msg("flaky: the first attempt fails"))
            } else {
                Ok(())
            }
        })
        .subscribe_with::<StudentEnrolled, _, _>("pii.broken", once, |_e, _cx| async move {
            Err(HandlerError::msg("broken: every attempt fails"))
        })
        .subscribe_with::<StudentEnrolled, _, _>("pii.panics", once, |_e, _cx| async move {
            panic!("pii.panics panics on purpose")
        });
    let b = if let Some(path) = target.strip_prefix("sqlite:") {
        b.backend(
            Durable::sqlite(path)
                .durability(Durability::Normal)
                .idle_poll(Duration::from_millis(20))
                .lease_margin(Duration::from_secs(2)),
        )
    } else if let Some(schema) = target.strip_prefix("postgres:") {
        b.backend(
            Durable::postgres(pg_url())
                .schema(schema)
                .commit(PostgresCommit::Flushed)
                .idle_poll(Duration::from_millis(20))
                .lease_margin(Duration::from_secs(2)),
        )
    } else {
        b
    };
    b.build().expect("the bus builds")
}

async fn open_store(target: &str) -> Option<Store> {
    if let Some(path) = target.strip_prefix("sqlite:") {
        Some(Store::sqlite(path).await.unwrap())
    } else if let Some(schema) = target.strip_prefix("postgres:") {
        Some(Store::postgres(&pg_url(), Some(schema)).await.unwrap())
    } else {
        None
    }
}

/// Prints the `Debug` (both forms) of a value, labelled.
macro_rules! show {
    ($label:expr, $value:expr) => {{
        let v = &$value;
        println!("{}: {:?}", $label, v);
        println!("{} (alternate): {:#?}", $label, v);
    }};
}

async fn wait_idle(bus: &EventBus) {
    let idle = tokio::time::timeout(Duration::from_secs(60), bus.idle()).await;
    println!("idle: {}", idle.is_ok());
}

async fn phase_one(target: &str) {
    let bus = bus(target);
    let envelope = Envelope::new(marked(), Metadata::new("dst-1", "sch-1"));
    show!("Envelope", envelope);
    show!("payload", envelope.payload);
    show!("DynEnvelope (typed)", DynEnvelope::new(envelope.clone()));
    println!(
        "publish: {:?}",
        bus.publish(envelope.clone()).await.map(|_| ())
    );

    let good: Value = serde_json::to_value(&envelope.payload).unwrap();
    // Fields the catalog does not know, at the top and nested, hold markers
    // too: the logged payload drops them.
    let mut unknown = good.clone();
    unknown["PIIMARKextra"] = json!("PIIMARK-unknown-top");
    unknown["guardian"]["PIIMARKnested"] = json!("PIIMARK-unknown-nested");
    unknown["guardians"][0]["PIIMARKlisted"] = json!("PIIMARK-unknown-listed");
    let mut raws = vec![raw_with(&envelope, unknown)];
    for (pointer, value) in VARIANTS {
        let mut payload = good.clone();
        *payload
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("no field at {pointer}")) =
            serde_json::from_str(value).unwrap();
        raws.push(raw_with(&envelope, payload));
    }
    for raw in &raws {
        show!("RawEnvelope", raw);
        show!("DynEnvelope (raw)", DynEnvelope::raw(raw.clone()));
        match raw.decode::<StudentEnrolled>() {
            Ok(e) => show!("decoded", e),
            Err(e) => {
                println!("decode error: {e}");
                show!("decode error", e);
            }
        }
        match catalog::AnyEvent::from_json(StudentEnrolled::NAME, raw.payload.get()) {
            Ok(e) => show!("AnyEvent", e),
            Err(e) => {
                println!("AnyEvent error: {e}");
                show!("AnyEvent error", e);
            }
        }
        let r = bus.publish_raw(raw.clone()).await;
        println!("publish_raw: {:?}", r.as_ref().map(|_| ()));
        if let Err(e) = r {
            println!("publish_raw error: {e}");
        }
    }
    wait_idle(&bus).await;
    let letters = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
    println!("dead letters: {}", letters.len());
    for d in &letters {
        println!("dead letter error: {}", d.last_error);
        show!("bus DeadLetter", d);
    }
    // A dead letter retried: it fails again, through the same paths.
    if let Some(d) = letters.iter().find(|d| d.handler_id == "pii.broken") {
        println!(
            "retry dead letter: {:?}",
            bus.retry_dead_letter(&Scope::AllDistricts, d.id).await
        );
        wait_idle(&bus).await;
    }

    if let Some(store) = open_store(target).await {
        for d in store
            .dead_letters(&Scope::AllDistricts, None, 1000)
            .await
            .unwrap()
        {
            println!("store dead letter error: {}", d.last_error);
            show!("store DeadLetter", d);
        }
        // A delivery to a handler no bus runs, claimed by hand: the store's
        // own types.
        let fresh = raw_with(&envelope, raws[0].payload_value().unwrap());
        let event = new_event(&fresh).unwrap();
        show!("NewEvent", event);
        let manual = |_: &str| {
            vec![Subscriber {
                handler_id: "pii.manual",
                ordered: false,
            }]
        };
        store
            .append(std::slice::from_ref(&event), manual)
            .await
            .unwrap();
        let claimed = store
            .claim_for("pii-test", &["pii.manual"], 10, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1, "the manual delivery is claimed");
        for c in &claimed {
            show!("Claimed", c);
            show!("StoredEvent", c.event);
            store.fail(c, "manual failure", None).await.unwrap();
        }
        let (events, _) = store
            .read_after(&Scope::AllDistricts, Default::default(), 1000)
            .await
            .unwrap();
        for e in &events {
            show!("StoredEvent (read_after)", e);
        }
    }
    let report = bus.shutdown(Duration::from_secs(5)).await;
    println!("shutdown: {report:?}");
}

/// The workers run what the CLI's replay queued for `pii.broken`.
async fn phase_two(target: &str) {
    let bus = bus(target);
    wait_idle(&bus).await;
    let store = open_store(target).await.expect("a durable target");
    let pending = store.has_pending(&HANDLERS).await.unwrap();
    println!(
        "replayed deliveries done: {}",
        if pending { "no" } else { "yes" }
    );
    for d in bus.dead_letters(&Scope::AllDistricts).await.unwrap() {
        println!("dead letter error: {}", d.last_error);
        show!("bus DeadLetter", d);
    }
    println!("dead letters: listed");
    let report = bus.shutdown(Duration::from_secs(5)).await;
    println!("shutdown: {report:?}");
}
