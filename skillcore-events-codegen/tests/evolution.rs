//! Schema evolution: the lock file, the classifier's table and the build's
//! check against the lock.

use skillcore_events_codegen::evolution::{check, classify, relock, ChangeKind, EventShape, Lock};
use skillcore_events_codegen::{compile_str, Compiled};

const BASE: &str = "catalog: demo
types:
  Level:
    description: l
    enum: [low, high]
  Term:
    description: t
    fields:
      termId: string
      weeks: int
events:
  a.grade.posted:
    description: d
    aggregate: Grade
    aggregate_id: gradeId
    payload:
      gradeId: uuid
      score: int
      note: string?
      level: Level
      term: Term
      comment:
        type: string?
        pii: true
";

fn compiled(text: &str) -> Compiled {
    let c = compile_str("events.yaml", text);
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    c
}

/// The changes from BASE to `edited`, as (rule id, inner id, backward, forward).
fn changes(edited: &str) -> Vec<(String, Option<&'static str>, bool, bool)> {
    let old = compiled(BASE);
    let new = compiled(edited);
    let o = EventShape::of(&old.catalog, &old.catalog.events[0]);
    let n = EventShape::of(&new.catalog, &new.catalog.events[0]);
    classify(&o, &n)
        .into_iter()
        .map(|c| {
            (
                c.kind.id().to_string(),
                c.inner.map(|k| k.id()),
                c.backward,
                c.forward,
            )
        })
        .collect()
}

fn one(edited: &str) -> (String, Option<&'static str>, bool, bool) {
    let mut all = changes(edited);
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

#[test]
fn the_classifier_follows_the_table() {
    let cases: Vec<(String, &str, bool, bool)> = vec![
        (
            edit("      note: string?\n", ""),
            "field-removed",
            true,
            true,
        ),
        (edit("      score: int\n", ""), "field-removed", true, false),
        (
            edit(
                "      note: string?\n",
                "      note: string?\n      scale: number\n",
            ),
            "field-added-required",
            false,
            true,
        ),
        (
            edit(
                "      note: string?\n",
                "      note: string?\n      scale:\n        type: number\n        default: 100\n",
            ),
            "field-added-required",
            true,
            true,
        ),
        (
            edit(
                "      note: string?\n",
                "      note: string?\n      extra: string?\n",
            ),
            "field-added-optional",
            true,
            true,
        ),
        (
            edit("      note: string?\n", "      note: string\n"),
            "field-made-required",
            false,
            true,
        ),
        (
            edit(
                "      note: string?\n",
                "      note:\n        type: string\n        default: \"\"\n",
            ),
            "field-made-required",
            true,
            true,
        ),
        (
            edit("      score: int\n", "      score: int?\n"),
            "field-made-optional",
            true,
            false,
        ),
        (
            edit("      score: int\n", "      score: number\n"),
            "field-type-changed",
            true,
            false,
        ),
        (
            edit("      score: int\n", "      score: string\n"),
            "field-type-changed",
            false,
            false,
        ),
        (
            edit("      gradeId: uuid\n", "      gradeId: string\n"),
            "field-type-changed",
            true,
            false,
        ),
        (
            edit("      level: Level\n", "      level: string\n"),
            "field-type-changed",
            true,
            false,
        ),
        (
            edit("      score: int\n", "      score: int[]\n"),
            "field-type-changed",
            false,
            false,
        ),
        (
            edit(
                "      score: int\n",
                "      points:\n        type: int\n        renamed_from: score\n",
            ),
            "field-renamed",
            true,
            false,
        ),
        (
            edit("enum: [low, high]", "enum: [low, high, top]"),
            "enum-value-added",
            true,
            false,
        ),
        (
            edit("enum: [low, high]", "enum: [low]"),
            "enum-value-removed",
            false,
            true,
        ),
        (
            edit("    aggregate: Grade\n", "    aggregate: Mark\n"),
            "aggregate-changed",
            false,
            false,
        ),
    ];
    for (text, id, backward, forward) in cases {
        let (got, inner, b, f) = one(&text);
        assert_eq!(
            (got.as_str(), inner, b, f),
            (id, None, backward, forward),
            "{text}"
        );
    }
}

#[test]
fn changes_inside_a_struct_type_are_struct_type_changed_with_the_inner_rule() {
    let (id, inner, b, f) = one(&edit("      weeks: int\n", ""));
    assert_eq!(
        (id.as_str(), inner, b, f),
        ("struct-type-changed", Some("field-removed"), true, false)
    );
    let (id, inner, b, _) = one(&edit(
        "      weeks: int\n",
        "      weeks: int\n      start: date\n",
    ));
    assert_eq!(
        (id.as_str(), inner, b),
        ("struct-type-changed", Some("field-added-required"), false)
    );
}

#[test]
fn description_only_edits_and_renamed_types_are_no_change() {
    assert!(changes(&BASE.replace("description: d", "description: something else")).is_empty());
    // A named type renamed with the same content is the same on the wire.
    let renamed = BASE
        .replace("  Level:\n", "  Tier:\n")
        .replace("level: Level", "level: Tier");
    assert!(changes(&renamed).is_empty());
}

#[test]
fn the_aggregate_id_may_be_renamed_but_not_moved() {
    let renamed = edit(
        "      gradeId: uuid\n",
        "      markId:\n        type: uuid\n        renamed_from: gradeId\n",
    )
    .replace("aggregate_id: gradeId", "aggregate_id: markId");
    let all = changes(&renamed);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].0, "field-renamed");
    let moved = edit(
        "      note: string?\n",
        "      note: string?\n      otherId: uuid\n",
    )
    .replace("aggregate_id: gradeId", "aggregate_id: otherId");
    let ids: Vec<String> = changes(&moved).into_iter().map(|c| c.0).collect();
    assert!(ids.contains(&"aggregate-id-changed".to_string()), "{ids:?}");
}

#[test]
fn every_change_kind_has_a_stable_unique_id() {
    let mut ids: Vec<&str> = ChangeKind::ALL.iter().map(|k| k.id()).collect();
    for id in &ids {
        assert_eq!(ChangeKind::from_id(id).map(|k| k.id()), Some(*id));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), ChangeKind::ALL.len());
}

#[test]
fn the_lock_round_trips_and_is_deterministic() {
    let c = compiled(BASE);
    let lock = relock(None, &c.catalog);
    let text = lock.render();
    let back = Lock::parse("events.lock", &text).unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(back.render(), text, "parse . render is the identity");
    assert_eq!(
        relock(Some(&back), &c.catalog).render(),
        text,
        "relock of an unchanged catalog"
    );
    assert!(
        text.contains("        comment:\n          type: string?\n          pii: true\n"),
        "{text}"
    );
    assert!(text.contains("          enum: [low, high]\n"), "{text}");
    // A compatible change within the version adds an entry; a bump adds one too.
    let more = compiled(&edit(
        "      note: string?\n",
        "      note: string?\n      extra: string?\n",
    ));
    let l2 = relock(Some(&back), &more.catalog);
    assert_eq!(l2.events["a.grade.posted"].len(), 2);
    assert_eq!(l2.events["a.grade.posted"][1].version, 1);
}

fn locked_check(edited: &str) -> Vec<skillcore_events_codegen::Diagnostic> {
    let c = compiled(BASE);
    let lock = Lock::parse("events.lock", &relock(None, &c.catalog).render()).unwrap();
    let new = compile_str("events.yaml", edited);
    assert!(new.is_ok(), "{}", new.render_diagnostics());
    check(&new.catalog, &new.sources, &lock)
}

#[test]
fn a_breaking_change_without_a_bump_is_an_error_at_the_field() {
    let edited = edit(
        "      note: string?\n",
        "      note: string?\n      scale: number\n",
    );
    let d = locked_check(&edited);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].rule.id(), "breaking-change");
    let at = d[0].location.as_ref().unwrap();
    assert_eq!((at.file.as_str(), at.line), ("events.yaml", 20));
    assert!(
        d[0].message.contains("under compatibility `backward`"),
        "{}",
        d[0].message
    );
    assert!(
        d[0].message.ends_with("[field-added-required]"),
        "{}",
        d[0].message
    );
    assert_eq!(
        d[0].help.as_deref(),
        Some("make `scale` optional or give it a `default`, or bump `version` to 2")
    );
    assert_eq!(d[0].notes[0].0.file, "events.lock");
    // With a version bump the change is allowed, but old payloads have no
    // `scale`: the step from version 1 must be written by hand.
    let bumped = edited.replace(
        "    aggregate: Grade\n",
        "    version: 2\n    aggregate: Grade\n",
    );
    let d = locked_check(&bumped);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].rule.id(), "missing-upcaster");
    assert_eq!(d[0].location.as_ref().unwrap().line, 14, "at `version: 2`");
    assert!(
        d[0].message.contains("no upcaster from version 1 to 2"),
        "{}",
        d[0].message
    );
    let with_fn = bumped.replace(
        "    version: 2\n",
        "    version: 2\n    upcast:\n      1: crate::upcast::grade_v1\n",
    );
    assert!(
        locked_check(&with_fn).is_empty(),
        "{:?}",
        locked_check(&with_fn)
    );
    // An upcaster for a version that was never released is refused.
    let stray = with_fn.replace("      1: crate", "      7: crate");
    let d = locked_check(&stray);
    assert!(
        d.iter()
            .any(|d| d.message.contains("upcaster from version 7")),
        "{d:?}"
    );
    // And under `forward` the addition is fine.
    let forward = edited.replace(
        "catalog: demo\n",
        "catalog: demo\nevolution:\n  compatibility: forward\n",
    );
    assert!(locked_check(&forward).is_empty());
}

#[test]
fn a_removed_event_must_have_been_deprecated() {
    let gone = BASE.replace("  a.grade.posted:", "  a.grade.recorded:");
    let d = locked_check(&gone);
    assert!(
        d.iter().any(|d| d
            .message
            .contains("released event `a.grade.posted` is removed")),
        "{d:?}"
    );
    // Declared as a rename, it is no removal.
    let renamed = gone.replace(
        "    aggregate: Grade\n",
        "    renamed_from: a.grade.posted\n    aggregate: Grade\n",
    );
    assert!(
        locked_check(&renamed).is_empty(),
        "{:?}",
        locked_check(&renamed)
    );
}

#[test]
fn renames_must_name_something_released() {
    let edited = edit(
        "      score: int\n",
        "      points:\n        type: int\n        renamed_from: scor\n",
    );
    let d = locked_check(&edited);
    assert!(
        d.iter().any(|d| d.rule.id() == "bad-rename"
            && d.message.contains("no released version has a field `scor`")),
        "{d:?}"
    );
}

#[test]
fn a_version_behind_the_lock_is_an_error() {
    let c = compiled(&BASE.replace(
        "    aggregate: Grade\n",
        "    version: 3\n    aggregate: Grade\n",
    ));
    let lock = Lock::parse("events.lock", &relock(None, &c.catalog).render()).unwrap();
    let old = compiled(BASE);
    let d = check(&old.catalog, &old.sources, &lock);
    assert_eq!(d[0].rule.id(), "lock-file");
    assert!(
        d[0].message
            .contains("at version 1, but version 3 is released"),
        "{}",
        d[0].message
    );
}

#[test]
fn a_lock_of_another_catalog_is_refused() {
    let c = compiled(BASE);
    let text = relock(None, &c.catalog)
        .render()
        .replace("catalog: demo", "catalog: other");
    let lock = Lock::parse("events.lock", &text).unwrap();
    let d = check(&c.catalog, &c.sources, &lock);
    assert_eq!(d[0].rule.id(), "lock-file");
    assert_eq!(d[0].location.as_ref().unwrap().line, 4);
}

#[test]
fn corrupt_locks_are_lock_file_errors_at_their_line() {
    let c = compiled(BASE);
    let good = relock(None, &c.catalog).render();
    for (bad, line) in [
        (good.replace("version: 1", "version: one"), 7),
        (
            good.replace("      score: int\n", "      score: integer\n"),
            12,
        ),
        (good.replace("lock: 1", "lock: 7"), 3),
        (
            good.replace("aggregate_id: gradeId", "aggregate_idd: gradeId"),
            9,
        ),
        ("lock: 1\ncatalog: [x".to_string(), 2),
    ] {
        let d = Lock::parse("events.lock", &bad).expect_err(&bad);
        assert_eq!(d[0].rule.id(), "lock-file", "{d:?}");
        assert_eq!(
            d[0].location.as_ref().map(|l| l.line),
            Some(line),
            "{bad}\n{d:?}"
        );
    }
}
