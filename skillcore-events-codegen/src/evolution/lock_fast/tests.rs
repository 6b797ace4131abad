use super::*;
use crate::evolution::relock;

/// The YAML reader's result, with the fast path out of the way.
fn slow(text: &str) -> Option<Lock> {
    Lock::parse_yaml("x.lock", text).ok()
}

/// The same lock, and the same text and lines for messages.
fn same(a: &Lock, b: &Lock) -> bool {
    let (fa, fb) = (&a.sources.files[0], &b.sources.files[0]);
    let lines = fa.text.lines().count() as u32 + 2;
    a.catalog == b.catalog
        && a.catalog_span == b.catalog_span
        && a.events == b.events
        && (fa.path.as_path(), fa.display.as_str(), fa.text.as_str())
            == (fb.path.as_path(), fb.display.as_str(), fb.text.as_str())
        && (0..=lines).all(|n| fa.line(n) == fb.line(n))
}

fn locks() -> Vec<String> {
    let mut out = vec![include_str!("../../../../catalog.lock").to_string()];
    let big = crate::compile_str(
        "big208.yaml",
        include_str!("../../../../tests/fixtures/big208.yaml"),
    );
    assert!(big.is_ok(), "{}", big.render_diagnostics());
    let mut lock = relock(None, &big.catalog);
    for (i, shapes) in lock.events.values_mut().enumerate() {
        let mut old = shapes[0].clone();
        old.name = format!("old.{}", shapes[0].name);
        old.deprecated = i % 3 == 0;
        old.fields.push(FieldShape {
            name: "legacy".into(),
            ty: TypeRef {
                optional: true,
                list_depth: (i % 2) as u8,
                ..TypeRef::plain(BaseType::String)
            },
            default: (i % 4 == 0).then(|| serde_json::json!({"a": [1, 2.5, "x \"q\""]})),
            renamed_from: (i % 5 == 0).then(|| "older".to_string()),
            pii: i % 2 == 0,
            span: old.span,
        });
        shapes[0].version += 1;
        shapes.insert(0, old);
    }
    out.push(lock.render());
    out.push(
        relock(
            None,
            &crate::compile_str("e.yaml", "catalog: e\nevents: {}\n").catalog,
        )
        .render(),
    );
    out
}

/// `is_plain` as it was written first (an iterator over the bytes), to
/// hold the indexed version to it.
fn plain_by_iterator(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_alphabetic) || matches!(b[b.len() - 1], b'.' | b'-') {
        return false;
    }
    let mut brackets = false;
    for &c in b {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'?' => {}
            b'[' | b']' => brackets = true,
            _ => return false,
        }
    }
    if b.len() <= 5
        && ["true", "false", "null", "yes", "no", "on", "off", "y", "n"]
            .iter()
            .any(|w| s.eq_ignore_ascii_case(w))
    {
        return false;
    }
    !brackets || s.contains("[]")
}

#[test]
fn is_plain_is_what_it_was() {
    let alphabet = [
        "a", "N", "o", "Y", "t", "z", "0", "9", "_", ".", "-", "?", "[", "]", " ", ":", "\"", "#",
        "é", "\n",
    ];
    let mut cases: Vec<String> = vec![String::new()];
    let mut last = cases.clone();
    for _ in 0..4 {
        let next: Vec<String> = last
            .iter()
            .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
            .collect();
        cases.extend(next.iter().cloned());
        last = next;
    }
    for w in [
        "true", "False", "NULL", "yes", "No", "on", "OFF", "y", "N", "nope", "truer",
    ] {
        cases.push(w.to_string());
    }
    cases.extend(["number[]", "a[]b", "a[b]", "x[][]?", "LetterGrade", "uuid?"].map(String::from));
    for s in &cases {
        assert_eq!(is_plain(s), plain_by_iterator(s), "{s:?}");
    }
    assert!(cases.len() > 150_000);
}

#[test]
fn the_fast_reader_takes_every_rendered_lock_and_agrees_with_yaml() {
    for text in locks() {
        let fast = parse("x.lock", &text).expect("the fast reader refused a rendered lock");
        let slow = slow(&text).expect("the YAML reader refused a rendered lock");
        assert!(same(&fast, &slow), "readers disagree");
        assert_eq!(fast.render(), text, "render of the fast read");
    }
}

/// Every one-line edit of a rendered lock: where the fast reader still
/// answers, the YAML reader answers the same.
#[test]
fn on_edited_locks_the_fast_reader_agrees_or_steps_aside() {
    let text = &locks()[0];
    let lines: Vec<&str> = text.lines().collect();
    let edits: [&dyn Fn(&str) -> String; 6] = [
        &|_| String::new(),
        &|l| format!("{l} "),
        &|l| format!(" {l}"),
        &|l| l.replacen(": ", ":  ", 1),
        &|l| l.replace("uuid", "UUID"),
        &|l| l.replace(['1', '2'], "0"),
    ];
    let (mut agreed, mut aside) = (0, 0);
    // The first events in full (every kind of line), then a sample.
    for i in (0..lines.len()).filter(|i| *i < 250 || i % 13 == 0) {
        for edit in &edits {
            let mut copy = lines.clone();
            let changed = edit(lines[i]);
            copy[i] = &changed;
            let mut t = copy.join("\n");
            t.push('\n');
            match parse("x.lock", &t) {
                None => aside += 1,
                Some(fast) => {
                    let slow = slow(&t).unwrap_or_else(|| {
                        panic!("fast read an edit the YAML reader refuses, line {}", i + 1)
                    });
                    assert!(same(&fast, &slow), "readers disagree on line {}", i + 1);
                    agreed += 1;
                }
            }
        }
    }
    assert!(agreed > 0 && aside > 0, "agreed {agreed}, aside {aside}");
}
