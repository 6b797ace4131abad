//! Two linked catalogs define the same event: a field is pii if either says
//! so, and known if either knows it.

mod pii {
    skillcore_events::catalog!("tests/fixtures/pii.yaml");
}
mod overlap {
    skillcore_events::catalog!("tests/fixtures/pii_overlap.yaml");
}

use skillcore_events::redact::{event_infos, redact_value};
use skillcore_events::serde_json::json;

#[test]
fn a_field_is_pii_if_any_catalog_says_so() {
    assert_eq!(event_infos("student.record.updated").len(), 2);
    let out = redact_value(
        "student.record.updated",
        &json!({
            "studentId": "s-1",
            "score": 3.5,
            "comment": "SECRET",
            "nickname": "Bo",
            "level": "low",
            "bogus": 1,
        }),
    );
    assert_eq!(
        out,
        json!({
            "studentId": "s-1",
            "score": "[redacted]",
            "comment": "[redacted]",
            "nickname": "Bo",
            "level": "low",
            "[unknown fields hidden]": 1,
        })
    );
    let _ = (pii::EVENTS, overlap::EVENTS);
}
