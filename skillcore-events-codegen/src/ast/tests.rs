use super::*;

fn read(src: &str) -> (RawFile, Vec<Diagnostic>) {
    let s = Sources::single("t.yaml", src);
    let root = crate::yaml::parse(&s, 0).unwrap().unwrap();
    let mut d = Vec::new();
    let f = read_file(&s, &root, &mut d);
    (f, d)
}

#[test]
fn unknown_key_has_did_you_mean() {
    let (_, d) = read("events:\n  a.b.posted:\n    description: x\n    aggregate: A\n    aggregate_id: id\n    paylod:\n      id: string\n");
    let rules: Vec<_> = d.iter().map(|d| d.rule).collect();
    // Once: the misspelling, not also the `payload` it meant as missing.
    assert_eq!(rules, vec![Rule::UnknownKey]);
    assert_eq!(d[0].help.as_deref(), Some("did you mean `payload`?"));
    assert_eq!(d[0].location.as_ref().unwrap().line, 6);
    // A key that means nothing known leaves `payload` missing.
    let (_, d) = read(
        "events:
  a.b.posted:
    description: x
    aggregate: A
    aggregate_id: id
    zzz:
      id: string
",
    );
    let rules: Vec<_> = d.iter().map(|d| d.rule).collect();
    assert_eq!(rules, vec![Rule::UnknownKey, Rule::MissingKey]);
    assert!(d[1].message.contains("`payload`"), "{}", d[1]);
}

#[test]
fn long_form_field() {
    let (f, d) = read("events:\n  a.b.posted:\n    description: x\n    aggregate: A\n    aggregate_id: id\n    payload:\n      id: string\n      note:\n        type: string?\n        pii: true\n        description: Free text\n");
    assert!(d.is_empty(), "{d:?}");
    let p = f.events[0].payload.as_ref().unwrap();
    assert_eq!(p[1].ty.as_ref().unwrap().value, "string?");
    assert!(p[1].pii);
    assert_eq!(p[1].description.as_deref(), Some("Free text"));
}

#[test]
fn wrong_shapes_are_reported_and_reading_goes_on() {
    let (f, d) = read("events:\n  a.b.posted:\n    description: [x]\n    version: zero\n    aggregate: A\n    aggregate_id: id\n    payload: 5\n  c.d.marked:\n    description: ok\n");
    let rules: Vec<_> = d.iter().map(|d| d.rule).collect();
    assert_eq!(
        rules,
        vec![
            Rule::InvalidValue,
            Rule::InvalidValue,
            Rule::InvalidValue,
            Rule::MissingKey,
            Rule::MissingKey,
            Rule::MissingKey
        ]
    );
    assert_eq!(f.events.len(), 2);
}
