//! The build's shortcut through the lock check gives the diagnostics the full
//! classifier gives. `check` first asks `has_change` (the classifier walking
//! both shapes without building any change) whether a shape has a change the
//! build would refuse, and classifies in full only then; `check_unoptimized`
//! classifies every shape in full. Both run on catalogs with random sets of
//! edits (every change kind, under every mode, with and without a version
//! bump, against locks of one and of several releases), unchanged ones
//! included, and must agree to the byte; `has_change` must agree with
//! `classify` for every filter the build uses.

use skillcore_events_codegen::evolution::{
    allowed, check, check_unoptimized, classify, has_change, relock, EventShape, Lock,
};
use skillcore_events_codegen::model::Compatibility;
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
  a.grade.voided:
    description: d
    aggregate: Grade
    aggregate_id: gradeId
    payload:
      gradeId: uuid
      reason: string
      level: Level?
  a.term.opened:
    description: d
    aggregate: Term
    aggregate_id: termId
    payload:
      termId: string
      term: Term
      weeks: int[]
";

/// Edits, each a replacement of the first occurrence of its text. Together
/// they reach every change kind; some make the catalog invalid (those cases
/// are skipped).
const EDITS: &[(&str, &str)] = &[
    ("      note: string?\n", ""),
    ("      score: int\n", ""),
    ("      note: string?\n", "      note: string?\n      scale: number\n"),
    (
        "      note: string?\n",
        "      note: string?\n      scale:\n        type: number\n        default: 100\n",
    ),
    ("      note: string?\n", "      note: string?\n      extra: string?\n"),
    ("      note: string?\n", "      note: string\n"),
    (
        "      note: string?\n",
        "      note:\n        type: string\n        default: \"\"\n",
    ),
    ("      score: int\n", "      score: int?\n"),
    ("      score: int\n", "      score: number\n"),
    ("      score: int\n", "      score: string\n"),
    ("      score: int\n", "      score: int[]\n"),
    ("      gradeId: uuid\n      score", "      gradeId: string\n      score"),
    ("      level: Level\n", "      level: string\n"),
    (
        "      score: int\n",
        "      points:\n        type: int\n        renamed_from: score\n",
    ),
    ("enum: [low, high]", "enum: [low, high, top]"),
    ("enum: [low, high]", "enum: [low]"),
    ("enum: [low, high]", "enum: [high, low]"),
    ("enum: [low, high]", "enum: [low, top]"),
    ("      weeks: int\n", ""),
    ("      weeks: int\n", "      weeks: int\n      days: int?\n"),
    ("      weeks: int\n", "      weeks: number\n"),
    ("    aggregate: Grade\n", "    aggregate: Mark\n"),
    ("      reason: string\n", "      reason: string?\n"),
    ("      reason: string\n", ""),
    ("      level: Level?\n", "      level: Level\n"),
    ("      weeks: int[]\n", "      weeks: int\n"),
    ("      weeks: int[]\n", "      weeks: json\n"),
    ("        pii: true\n", ""),
    (
        "  a.grade.voided:\n    description: d\n",
        "  a.grade.voided:\n    description: d\n    version: 2\n",
    ),
    (
        "  a.term.opened:\n    description: d\n",
        "  a.term.opened:\n    description: d\n    version: 2\n    upcast:\n      1: crate::up::term\n",
    ),
    (
        "  a.grade.posted:\n    description: d\n",
        "  a.grade.posted:\n    description: d\n    version: 2\n",
    ),
    (
        "  a.grade.posted:\n    description: d\n",
        "  a.grade.posted:\n    description: d\n    compatibility: full\n",
    ),
    (
        "  a.grade.voided:\n    description: d\n",
        "  a.grade.voided:\n    description: d\n    compatibility: none\n",
    ),
    (
        "  a.term.opened:\n    description: d\n",
        "  a.term.opened:\n    description: d\n    compatibility: forward_transitive\n",
    ),
];

/// The modes put at the top of the catalog.
const MODES: &[&str] = &[
    "backward",
    "forward",
    "full",
    "none",
    "backward_transitive",
    "forward_transitive",
    "full_transitive",
];

fn compiled(text: &str) -> Compiled {
    let c = compile_str("events.yaml", text);
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    c
}

/// `text` with a default mode set after its `catalog:` line.
fn with_mode(text: &str, mode: &str) -> String {
    let at = text.find("\ncatalog: ").map(|i| i + 1).unwrap_or(0);
    let end = at + text[at..].find('\n').expect("a catalog line") + 1;
    format!(
        "{}evolution:\n  compatibility: {mode}\n{}",
        &text[..end],
        &text[end..]
    )
}

/// A small deterministic generator (no dependency, the same cases every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `BASE` with up to `most` random edits applied.
fn edited(r: &mut Rng, most: usize) -> String {
    let mut text = BASE.to_string();
    for _ in 0..r.below(most + 1) {
        let (from, to) = EDITS[r.below(EDITS.len())];
        if text.contains(from) {
            text = text.replacen(from, to, 1);
        }
    }
    text
}

/// Locks to check against: `BASE` released once, and `BASE` then a
/// compatible release within version 1 (two entries per event: what the
/// transitive modes compare against).
fn locks() -> Vec<Lock> {
    let base = compiled(BASE);
    let one = relock(None, &base.catalog);
    let later = compiled(&BASE.replace(
        "      note: string?\n",
        "      note: string?\n      memo: string?\n",
    ));
    let two = relock(Some(&one), &later.catalog);
    assert!(two.events.values().any(|h| h.len() == 2));
    [one, two]
        .iter()
        .map(|l| Lock::parse("events.lock", &l.render()).expect("lock"))
        .collect()
}

/// A filter on (backward, forward), named for messages.
type Filter = (String, Box<dyn Fn(bool, bool) -> bool>);

/// The filters the build asks `has_change` with.
fn filters() -> Vec<Filter> {
    let mut out: Vec<Filter> = vec![
        ("any".into(), Box::new(|_, _| true)),
        ("not backward".into(), Box::new(|b, _| !b)),
        ("not forward".into(), Box::new(|_, f| !f)),
    ];
    for m in [
        Compatibility::None,
        Compatibility::Backward,
        Compatibility::Forward,
        Compatibility::Full,
        Compatibility::BackwardTransitive,
        Compatibility::ForwardTransitive,
        Compatibility::FullTransitive,
    ] {
        out.push((
            format!("refused under {m}"),
            Box::new(move |b, f| !allowed(m, b, f)),
        ));
    }
    out
}

#[test]
fn the_shortcut_gives_the_full_classifiers_diagnostics() {
    let locks = locks();
    let filters = filters();
    let mut r = Rng(0x5eed_10c4);
    let (mut cases, mut with_diags, mut unchanged, mut probes) = (0, 0, 0, 0);
    for i in 0..600 {
        // Every 10th case is the released catalog itself, under some mode.
        let text = if i % 10 == 0 {
            BASE.to_string()
        } else {
            edited(&mut r, 4)
        };
        let text = match r.below(3) {
            0 => text,
            _ => with_mode(&text, MODES[r.below(MODES.len())]),
        };
        let new = compile_str("events.yaml", &text);
        if !new.is_ok() {
            continue; // an edit the catalog's own rules refuse
        }
        for lock in &locks {
            let fast = check(&new.catalog, &new.sources, lock);
            let full = check_unoptimized(&new.catalog, &new.sources, lock);
            assert_eq!(fast, full, "the shortcut changed a result on:\n{text}");
            cases += 1;
            with_diags += usize::from(!full.is_empty());
            unchanged += usize::from(text == BASE);
            for e in &new.catalog.events {
                let now = EventShape::of(&new.catalog, e);
                for old in lock.history(&e.name).unwrap_or_default() {
                    let changes = classify(old, &now);
                    for (name, keep) in &filters {
                        let expected = changes.iter().any(|c| keep(c.backward, c.forward));
                        assert_eq!(
                            has_change(old, &now, keep),
                            expected,
                            "has_change ({name}) of `{}` against version {}: {changes:?}",
                            e.name,
                            old.version
                        );
                        probes += 1;
                    }
                }
            }
        }
    }
    // The cases reach both outcomes, and unchanged catalogs.
    assert!(cases > 500, "{cases} cases");
    assert!(
        with_diags > 100 && with_diags < cases,
        "{with_diags} of {cases} with diagnostics"
    );
    assert!(unchanged > 0, "no unchanged catalog");
    assert!(probes > 10_000, "{probes} has_change calls");
}

#[test]
fn the_shortcut_sees_every_refused_change_on_the_big_fixture() {
    // The 208-event fixture against a lock of itself (no change: no
    // diagnostics either way) and against its lock with a field added to
    // every released shape (a removal in every event: refused under the
    // forward modes, allowed under backward).
    let big = include_str!("../../tests/fixtures/big208.yaml");
    let c = compiled(big);
    let same = Lock::parse("big.lock", &relock(None, &c.catalog).render()).unwrap();
    assert!(check(&c.catalog, &c.sources, &same).is_empty());
    assert!(check_unoptimized(&c.catalog, &c.sources, &same).is_empty());
    let mut wider = relock(None, &c.catalog);
    for h in wider.events.values_mut() {
        let mut f = h[0].fields[0].clone();
        f.name = "legacyNote".into();
        h[0].fields.push(f);
    }
    let wider = Lock::parse("big.lock", &wider.render()).unwrap();
    for mode in ["backward", "forward", "full_transitive"] {
        let c = compiled(&with_mode(big, mode));
        let fast = check(&c.catalog, &c.sources, &wider);
        assert_eq!(fast, check_unoptimized(&c.catalog, &c.sources, &wider));
        match mode {
            "backward" => assert!(fast.is_empty(), "{fast:?}"),
            _ => assert!(fast.len() >= 208, "{mode}: {} diagnostics", fast.len()),
        }
    }
}
