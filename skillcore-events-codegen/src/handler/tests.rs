//! `#[handler]` expanded as a whole: each stage's errors and the registration.

use super::*;

fn fixture() -> (tempdir::Dir, PathBuf) {
    let d = tempdir::Dir::new();
    std::fs::write(
        d.0.join("events.yaml"),
        "events:\n  gradebook.grade.posted:\n    description: Posted\n    aggregate: Result\n    aggregate_id: resultId\n    payload:\n      resultId: string\n  attendance.record.marked:\n    description: Marked\n    aggregate: Record\n    aggregate_id: recordId\n    payload:\n      recordId: string\n",
    )
    .unwrap();
    let p = d.0.clone();
    (d, p)
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Self {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let p = std::env::temp_dir().join(format!(
                "skc-handler-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn run(args: &str, item: &str, base: &PathBuf) -> String {
    expand(args.parse().unwrap(), item.parse().unwrap(), Some(base)).to_string()
}

const GOOD: &str = "async fn update_gpa(event: &Envelope<gradebook::GradePosted>, ctx: &Ctx) -> Result<(), HandlerError> { Ok(()) }";

#[test]
fn ordered_reaches_the_registration() {
    let (_d, base) = fixture();
    let on = run("ordered", GOOD, &base);
    assert!(on.contains("ordered : true"), "{on}");
    let off = run("", GOOD, &base);
    assert!(off.contains("ordered : false"), "{off}");
}

#[test]
fn a_good_handler_registers_and_asserts_the_payload() {
    let (_d, base) = fixture();
    let out = run(
        r#""gradebook.grade.posted", catalog = "events.yaml", retries = 2"#,
        GOOD,
        &base,
    );
    assert!(!out.contains("compile_error"), "{out}");
    assert!(out.contains("distributed_slice"));
    assert!(out.contains("str_eq"));
    assert!(out.contains("include_bytes"));
    assert!(out.contains("TypeId :: of :: < Ctx >"));
}

#[test]
fn unknown_events_get_a_suggestion() {
    let (_d, base) = fixture();
    let out = run(
        r#""gradebook.grade.postd", catalog = "events.yaml""#,
        GOOD,
        &base,
    );
    assert!(out.contains("error[unknown-event]"), "{out}");
    assert!(
        out.contains("did you mean `gradebook.grade.posted`?"),
        "{out}"
    );
    // The function itself is still emitted.
    assert!(out.contains("async fn update_gpa"));
}

#[test]
fn a_missing_catalog_says_how_to_point_at_one() {
    let (_d, base) = fixture();
    let out = run(r#""gradebook.grade.posted""#, GOOD, &base);
    assert!(out.contains("catalog-io"), "{out}");
    assert!(out.contains("catalog = "), "{out}");
}

#[test]
fn signature_misuse_is_reported() {
    let (_d, base) = fixture();
    let cases = [
        ("fn h(e: &Envelope<gradebook::GradePosted>) -> Result<(), HandlerError> { Ok(()) }", "must be an `async fn`"),
        ("async fn h() -> Result<(), HandlerError> { Ok(()) }", "takes the event as its first parameter"),
        ("async fn h(e: &Envelope<gradebook::GradePosted>) { }", "must return `Result<(), HandlerError>`"),
        ("async fn h(e: &Envelope<gradebook::GradePosted>) -> u32 { 1 }", "not `u32`"),
        ("async fn h(e: gradebook::GradePosted) -> Result<(), HandlerError> { Ok(()) }", "must be `&Envelope<Payload>`"),
        ("async fn h(e: &Envelope<gradebook::GradePosted>, a: &A, b: &B) -> Result<(), HandlerError> { Ok(()) }", "at most one state"),
        ("async fn h(e: &Envelope<gradebook::GradePosted>, a: &mut A) -> Result<(), HandlerError> { Ok(()) }", "not `&mut State`"),
    ];
    for (item, want) in cases {
        let out = run(
            r#""gradebook.grade.posted", catalog = "events.yaml""#,
            item,
            &base,
        );
        assert!(out.contains(want), "{item}: {out}");
    }
}

#[test]
fn the_payload_event_is_guessed_for_the_mismatch_message() {
    let (_d, base) = fixture();
    let item =
        "async fn h(e: &Envelope<attendance::RecordMarked>) -> Result<(), HandlerError> { Ok(()) }";
    let out = run(
        r#""gradebook.grade.posted", catalog = "events.yaml""#,
        item,
        &base,
    );
    assert!(
        out.contains("(the payload of `attendance.record.marked`)"),
        "{out}"
    );
}

#[test]
fn without_a_name_the_type_decides() {
    let (_d, base) = fixture();
    let out = run("", GOOD, &base);
    assert!(!out.contains("compile_error"), "{out}");
    assert!(!out.contains("str_eq"));
    assert!(out.contains("module_path"));
}
