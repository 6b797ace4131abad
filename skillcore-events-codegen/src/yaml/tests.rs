use super::*;

fn parse_str(s: &str) -> Result<Option<Node>, Diagnostic> {
    parse(&Sources::single("t.yaml", s), 0)
}

#[test]
fn keeps_positions_and_duplicates() {
    let n = parse_str("a: 1\nb:\n  - x\na: 2\n").unwrap().unwrap();
    let Kind::Map(pairs) = &n.kind else { panic!() };
    assert_eq!(pairs.len(), 3);
    assert_eq!(pairs[2].0.span.line, 4);
    assert_eq!(pairs[2].0.span.col, 1);
    let Kind::Seq(items) = &pairs[1].1.kind else {
        panic!()
    };
    assert_eq!((items[0].span.line, items[0].span.col), (3, 5));
}

#[test]
fn core_schema() {
    let s = |t: &str, plain| Scalar {
        text: t.into(),
        plain,
    };
    assert_eq!(core_scalar(&s("12", true)), CoreValue::Int(12));
    assert_eq!(core_scalar(&s("-0x1", true)), CoreValue::Str("-0x1"));
    assert_eq!(core_scalar(&s("0x1F", true)), CoreValue::Int(31));
    assert_eq!(core_scalar(&s("1.5e3", true)), CoreValue::Float(1500.0));
    assert_eq!(core_scalar(&s("12", false)), CoreValue::Str("12"));
    assert_eq!(core_scalar(&s("yes", true)), CoreValue::Str("yes"));
    assert_eq!(core_scalar(&s("1st", true)), CoreValue::Str("1st"));
    assert_eq!(core_scalar(&s("~", true)), CoreValue::Null);
    assert_eq!(core_scalar(&s("TRUE", true)), CoreValue::Bool(true));
    assert_eq!(
        core_scalar(&s("2025-11-17", true)),
        CoreValue::Str("2025-11-17")
    );
}

#[test]
fn alias_bomb_fails_fast() {
    let bomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    let t = std::time::Instant::now();
    let e = parse_str(bomb).unwrap_err();
    assert!(t.elapsed().as_millis() < 1000);
    assert_eq!(e.rule, Rule::YamlSyntax);
    assert!(e.message.contains("alias expansion"), "{e}");
}

#[test]
fn small_aliases_are_expanded() {
    let n = parse_str("a: &x [1, 2]\nb: *x\n").unwrap().unwrap();
    let j = n.to_json().unwrap();
    assert_eq!(j["b"], serde_json::json!([1, 2]));
}

#[test]
fn deep_nesting_is_rejected() {
    let deep = format!("k: {}1{}", "[".repeat(200), "]".repeat(200));
    let e = parse_str(&deep).unwrap_err();
    assert_eq!(e.rule, Rule::YamlSyntax);
    let very_deep = format!("k: {}1{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(parse_str(&very_deep).unwrap_err().rule, Rule::YamlSyntax);
}

#[test]
fn tabs_are_named() {
    let e = parse_str("events:\n\tfoo: bar\n").unwrap_err();
    assert_eq!(e.rule, Rule::YamlSyntax);
    assert!(e.message.contains("tab"), "{e}");
    assert_eq!(e.location.unwrap().line, 2);
}

#[test]
fn unclosed_brackets_are_named() {
    let e = parse_str("types:\n  A:\n    enum: [a, 'b]', c\nevents: {}\n").unwrap_err();
    assert_eq!(
        e.help.as_deref(),
        Some("the `[` at line 3, column 11 is never closed; add the missing `]`")
    );
    let e = parse_str("a: {b: 1 # {\nc: 2\n").unwrap_err();
    assert_eq!(
        e.help.as_deref(),
        Some("the `{` at line 1, column 4 is never closed; add the missing `}`")
    );
}

#[test]
fn lone_carriage_returns_do_not_shift_lines() {
    // YAML breaks lines at a lone `\r`; diagnostics count `\n` only.
    let e = parse_str("a: 1\rb: 2\nc: d: e\n").unwrap_err();
    let l = e.location.unwrap();
    assert_eq!((l.line, l.column), (2, 5), "{}", e.message);
    assert_eq!(l.source_line, "c: d: e");
}

#[test]
fn two_documents_are_rejected() {
    let e = parse_str("a: 1\n---\nb: 2\n").unwrap_err();
    assert!(e.message.contains("one YAML document"), "{e}");
}

#[test]
fn empty_file_is_none() {
    assert_eq!(parse_str("").unwrap(), None);
    assert_eq!(parse_str("# only a comment\n").unwrap(), None);
}
