//! What the emitters make of the evolution keys `default` and `deprecated`:
//! the JSON Schema, the AsyncAPI document, the docs site and the generated
//! Rust (assertions on the prettyplease text, not a snapshot: the expansion
//! also grows with other evolution work, which these tests do not judge).
//! The runtime behaviour of the generated code (decoding defaults, the
//! deprecation lint) is tested in the `tests` member (`tests/evolution_emit.rs`,
//! `ui/evolution/`).

use serde_json::{json, Value};
use skillcore_events_codegen::emit::{asyncapi, docs, schema};
use skillcore_events_codegen::{compile_str, emit, Compiled, Settings};

/// One of each: a deprecated event with a reason and one without, defaulted
/// fields (required, optional, of a named enum, inside a named struct),
/// deprecated fields with and without a reason (one of them pii), and text
/// that needs escaping in HTML.
const EVO: &str = r#"catalog: evo
types:
  Level:
    description: A level
    enum: [low, high]
  Term:
    description: A school term
    fields:
      termId: string
      weeks:
        type: int
        default: 12
      label:
        type: string?
        deprecated: true
events:
  gradebook.grade.posted:
    description: Grade posted
    aggregate: Grade
    aggregate_id: gradeId
    payload:
      gradeId: uuid
      points:
        type: number
        description: Points possible
        default: 100
      level:
        type: Level?
        default: high
      term: Term?
      oldScore:
        type: int?
        description: The old score
        deprecated: "use `points`; <b>gone</b> in v3"
      comment:
        type: string?
        pii: true
        deprecated: true
  gradebook.grade.deleted:
    description: Grade deleted
    deprecated: "use gradebook.grade.removed & <friends>"
    aggregate: Grade
    aggregate_id: gradeId
    payload:
      gradeId: uuid
      reason: { type: string, pii: true }
  gradebook.grade.removed:
    description: Grade removed
    aggregate: Grade
    aggregate_id: gradeId
    payload:
      gradeId: uuid
  gradebook.term.closed:
    description: Term closed
    deprecated: true
    aggregate: Term
    aggregate_id: termId
    payload:
      termId: string
"#;

fn compiled() -> Compiled {
    let c = compile_str("evo.yaml", EVO);
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    c
}

/// The generated Rust, formatted.
fn expanded() -> String {
    let c = compiled();
    let tokens = emit::rust::emit(&c.catalog, &Settings::default(), &[]);
    let file = syn::parse2::<syn::File>(tokens).expect("the expansion parses as a Rust file");
    prettyplease::unparse(&file)
}

/// The text of the item starting at `start` (up to the next blank-free
/// closing brace at column 0 or 4: enough for one struct or fn).
fn item<'a>(text: &'a str, start: &str) -> &'a str {
    let i = text
        .find(start)
        .unwrap_or_else(|| panic!("`{start}` in\n{text}"));
    let rest = &text[i..];
    let end = rest
        .find("\n}\n")
        .into_iter()
        .chain(rest.find("\n    }\n"))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The attributes right before `line` (the lines above it up to the previous
/// item), joined.
fn attrs_before<'a>(text: &'a str, line: &str) -> Vec<&'a str> {
    let i = text
        .find(line)
        .unwrap_or_else(|| panic!("`{line}` in\n{text}"));
    let mut out = Vec::new();
    for l in text[..i].lines().rev() {
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        if t.starts_with("#[")
            || t.starts_with("///")
            || t.ends_with(')')
            || t.ends_with(',')
            || t.starts_with(')')
        {
            out.push(t);
        } else {
            break;
        }
    }
    out
}

/// One card of the index.
fn card_of<'a>(index: &'a str, name: &str) -> &'a str {
    let start = format!("<article class=\"event\" data-name=\"{name}\"");
    let i = index.find(&start).unwrap_or_else(|| panic!("card {name}"));
    let rest = &index[i..];
    &rest[..rest.find("</article>").unwrap()]
}

/// Whether `hay` contains `needle`, any run of whitespace matching any other
/// (prettyplease's line breaks depend on nesting).
#[track_caller]
fn has(hay: &str, needle: &str) -> bool {
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    squash(hay).contains(&squash(needle))
}

fn event_schema(c: &Compiled, name: &str) -> Value {
    schema::event_schema(
        &c.catalog,
        c.catalog.event(name).unwrap(),
        &Settings::default(),
    )
    .to_value()
}

#[test]
fn schema_defaults_are_not_required_and_carry_the_value() {
    let c = compiled();
    let s = event_schema(&c, "gradebook.grade.posted");
    assert_eq!(s["required"], json!(["gradeId"]));
    let p = &s["properties"];
    assert_eq!(p["points"]["default"], json!(100));
    assert_eq!(p["points"]["type"], "number");
    assert_eq!(p["points"]["description"], "Points possible");
    assert_eq!(p["level"]["default"], "high");
    assert_eq!(p["level"]["anyOf"][0]["$ref"], "#/$defs/Level");
    assert_eq!(p["gradeId"].get("default"), None);
    // Inside a named type too.
    let term = &s["$defs"]["Term"];
    assert_eq!(term["required"], json!(["termId"]));
    assert_eq!(term["properties"]["weeks"]["default"], 12);
    // Key order: type, description, default, deprecated, x-pii.
    let text = schema::event_schema(
        &c.catalog,
        c.catalog.event("gradebook.grade.posted").unwrap(),
        &Settings::default(),
    )
    .to_json_pretty();
    let points = &text[text.find("\"points\"").unwrap()..];
    let points = &points[..points.find('}').unwrap()];
    assert_eq!(
        points,
        "\"points\": {\n      \"type\": \"number\",\n      \"description\": \"Points possible\",\n      \"default\": 100\n    "
    );
}

#[test]
fn schema_deprecations() {
    let c = compiled();
    let posted = event_schema(&c, "gradebook.grade.posted");
    let p = &posted["properties"];
    assert_eq!(p["oldScore"]["deprecated"], true);
    assert_eq!(
        p["oldScore"]["description"],
        "The old score\n\nDeprecated: use `points`; <b>gone</b> in v3"
    );
    // `deprecated: true`: no reason, no description added.
    assert_eq!(p["comment"]["deprecated"], true);
    assert_eq!(p["comment"].get("description"), None);
    assert_eq!(p["comment"]["x-pii"], true);
    assert_eq!(p["points"].get("deprecated"), None);
    assert_eq!(posted.get("deprecated"), None);
    assert_eq!(
        posted["$defs"]["Term"]["properties"]["label"]["deprecated"],
        true
    );
    let deleted = event_schema(&c, "gradebook.grade.deleted");
    assert_eq!(deleted["deprecated"], true);
    assert_eq!(
        deleted["description"],
        "Grade deleted\n\nDeprecated: use gradebook.grade.removed & <friends>"
    );
    assert_eq!(deleted["title"], "gradebook.grade.deleted");
    let closed = event_schema(&c, "gradebook.term.closed");
    assert_eq!(closed["deprecated"], true);
    assert_eq!(closed["description"], "Term closed");
}

#[test]
fn described_appends_the_reason() {
    assert_eq!(schema::described(Some("d"), None).as_deref(), Some("d"));
    assert_eq!(schema::described(Some("d"), Some("")).as_deref(), Some("d"));
    assert_eq!(
        schema::described(Some("d"), Some(" r ")).as_deref(),
        Some("d\n\nDeprecated: r")
    );
    assert_eq!(
        schema::described(None, Some("r")).as_deref(),
        Some("Deprecated: r")
    );
    assert_eq!(schema::described(None, Some("  ")), None);
    assert_eq!(schema::described(None, None), None);
}

#[test]
fn asyncapi_marks_deprecated_messages() {
    let c = compiled();
    let d = asyncapi::document(&c.catalog, &Settings::default()).to_value();
    let messages = &d["components"]["messages"];
    let deleted = &messages["gradebook.grade.deleted"];
    assert_eq!(deleted["deprecated"], true);
    assert_eq!(
        deleted["description"],
        "Grade deleted\n\nDeprecated: use gradebook.grade.removed & <friends>"
    );
    assert_eq!(deleted["payload"]["deprecated"], true);
    assert_eq!(messages["gradebook.term.closed"]["deprecated"], true);
    let posted = &messages["gradebook.grade.posted"];
    assert_eq!(posted.get("deprecated"), None);
    // Field-level marks come with the payload schema.
    assert_eq!(
        posted["payload"]["properties"]["oldScore"]["deprecated"],
        true
    );
    assert_eq!(posted["payload"]["properties"]["points"]["default"], 100);
    assert_eq!(posted["payload"]["required"], json!(["gradeId"]));
    assert_eq!(
        posted["payload"]["properties"]["level"]["anyOf"][0]["$ref"],
        "#/components/schemas/Level"
    );
    assert_eq!(
        d["components"]["schemas"]["Term"]["properties"]["weeks"]["default"],
        12
    );
    // In YAML too, `deprecated` right after the description.
    let yaml = asyncapi::render(&c.catalog, &Settings::default(), asyncapi::Format::Yaml);
    let at = yaml
        .find("    gradebook.grade.deleted:\n      name:")
        .expect("message");
    let msg = &yaml[at..];
    let msg = &msg[..msg.find("      payload:").unwrap()];
    assert!(
        msg.contains("\n      deprecated: true\n      contentType:"),
        "{msg}"
    );
}

fn site() -> std::collections::BTreeMap<String, String> {
    let c = compiled();
    docs::site(&c.catalog, &c.sources, &Settings::default())
        .into_iter()
        .collect()
}

#[test]
fn docs_show_deprecated_events() {
    let site = site();
    let index = &site["index.html"];
    // The card of a deprecated event: the badge (reason in its title, escaped)
    // and the reason in view.
    let card = card_of(index, "gradebook.grade.deleted");
    assert!(
        card.contains("<span class=\"chip dep\" title=\"deprecated: use gradebook.grade.removed &amp; &lt;friends&gt;\">Deprecated</span>"),
        "{card}"
    );
    assert!(
        card.contains("<div class=\"dep-note\"><strong>Deprecated</strong>: use gradebook.grade.removed &amp; &lt;friends&gt;</div>"),
        "{card}"
    );
    assert!(
        card.contains(" deprecated\""),
        "the filter finds it: {card}"
    );
    let card = card_of(index, "gradebook.term.closed");
    assert!(
        card.contains("title=\"deprecated\">Deprecated</span>"),
        "{card}"
    );
    assert!(
        card.contains("<strong>Deprecated</strong>.</div>"),
        "{card}"
    );
    let card = card_of(index, "gradebook.grade.removed");
    assert!(!card.contains("eprecated"), "{card}");
    assert!(!index.contains("<friends>"), "escaped");
    // Its page.
    let page = &site["events/gradebook.grade.deleted.html"];
    assert!(page.contains("<span class=\"chip dep\" title=\"deprecated: use gradebook.grade.removed &amp; &lt;friends&gt;\">Deprecated</span></div>\n<p class=\"dep-note\"><strong>Deprecated</strong>: use gradebook.grade.removed &amp; &lt;friends&gt;</p>"), "{page}");
    assert!(!site["events/gradebook.grade.removed.html"].contains("dep-note"));
    assert!(site["assets/style.css"].contains(".chip.dep"));
}

#[test]
fn docs_mark_deprecated_and_defaulted_fields() {
    let site = site();
    let page = &site["events/gradebook.grade.posted.html"];
    let row = |name: &str| -> String {
        let at = page
            .find(&format!("<code>{name}</code>"))
            .unwrap_or_else(|| panic!("{name} in\n{page}"));
        let start = page[..at].rfind("<tr").unwrap();
        let end = at + page[at..].find("</tr>").unwrap();
        page[start..end].to_string()
    };
    let old = row("oldScore");
    assert!(old.starts_with("<tr class=\"is-deprecated\">"), "{old}");
    assert!(old.contains("<span class=\"chip tiny dep\" title=\"deprecated: use `points`; &lt;b&gt;gone&lt;/b&gt; in v3\">deprecated</span>"), "{old}");
    assert!(old.contains("The old score <span class=\"dep-note\"><strong>Deprecated:</strong> use <code>points</code>; &lt;b&gt;gone&lt;/b&gt; in v3</span>"), "{old}");
    let comment = row("comment");
    assert!(
        comment.starts_with("<tr class=\"is-pii is-deprecated\">"),
        "{comment}"
    );
    assert!(
        comment.contains("<strong>Deprecated.</strong>"),
        "{comment}"
    );
    let points = row("points");
    assert!(
        points.contains("<td><span class=\"opt def\">defaults to <code>100</code></span></td>"),
        "{points}"
    );
    assert!(!points.contains("required"), "{points}");
    let level = row("level");
    assert!(level.contains("<span class=\"opt yes\">optional</span> <span class=\"opt def\">defaults to <code>&quot;high&quot;</code></span>"), "{level}");
    // Untouched rows stay as they were.
    let id = row("gradeId");
    assert!(id.starts_with("<tr><td class=\"fname\"><code>gradeId</code> <span class=\"chip tiny\" title=\"aggregate id\">id</span></td>"), "{id}");
    assert!(
        id.contains("<span class=\"opt no\">required</span>"),
        "{id}"
    );
    // A named type's fields, on the types page.
    let types = &site["types.html"];
    assert!(types.contains("<span class=\"opt def\">defaults to <code>12</code></span>"));
    assert!(types.contains(
        "<code>label</code> <span class=\"chip tiny dep\" title=\"deprecated\">deprecated</span>"
    ));
}

#[test]
fn rust_deprecates_the_event_struct_and_name_constant() {
    let rs = expanded();
    let attrs = attrs_before(&rs, "pub struct GradeDeleted {");
    assert!(
        attrs.contains(&"#[deprecated(note = \"use gradebook.grade.removed & <friends>\")]"),
        "{attrs:?}"
    );
    assert!(!attrs.contains(&"#[deprecated]"), "{attrs:?}");
    assert!(attrs_before(&rs, "pub struct TermClosed {").contains(&"#[deprecated]"));
    assert!(!attrs_before(&rs, "pub struct GradeRemoved {")
        .iter()
        .any(|a| a.starts_with("#[deprecated")));
    assert!(attrs_before(&rs, "pub const GRADEBOOK_GRADE_DELETED: &str")
        .contains(&"#[deprecated(note = \"use gradebook.grade.removed & <friends>\")]"));
    assert!(attrs_before(&rs, "pub const GRADEBOOK_TERM_CLOSED: &str").contains(&"#[deprecated]"));
    assert!(
        !attrs_before(&rs, "pub const GRADEBOOK_GRADE_REMOVED: &str")
            .iter()
            .any(|a| a.starts_with("#[deprecated"))
    );
    // The schemars description agrees with the exported schema's.
    assert!(rs.contains(
        "description = \"Grade deleted\\n\\nDeprecated: use gradebook.grade.removed & <friends>\""
    ));
    // What names them is allowed to.
    assert!(attrs_before(&rs, "pub mod gradebook {").contains(&"#[allow(deprecated)]"));
    assert!(attrs_before(&rs, "pub const ALL: &[&str]").contains(&"#[allow(deprecated)]"));
    assert!(attrs_before(&rs, "pub enum AnyEvent {").contains(&"#[allow(deprecated)]"));
    assert!(attrs_before(&rs, "impl AnyEvent {").contains(&"#[allow(deprecated)]"));
    assert!(attrs_before(
        &rs,
        "impl ::core::convert::From<gradebook::GradeDeleted> for AnyEvent"
    )
    .contains(&"#[allow(deprecated)]"));
    assert!(!attrs_before(
        &rs,
        "impl ::core::convert::From<gradebook::GradeRemoved> for AnyEvent"
    )
    .contains(&"#[allow(deprecated)]"));
}

#[test]
fn rust_deprecates_fields_and_keeps_debug_redacted() {
    let rs = expanded();
    let posted = item(&rs, "pub struct GradePosted {");
    assert!(has(posted, "#[deprecated(note = \"use `points`; <b>gone</b> in v3\")]\n        #[serde(\n            rename = \"oldScore\""), "{posted}");
    assert!(
        has(
            posted,
            "#[deprecated]\n        #[serde(\n            rename = \"comment\""
        ),
        "{posted}"
    );
    let term = item(&rs, "pub struct Term {");
    assert!(
        has(
            term,
            "#[deprecated]\n    #[serde(\n        rename = \"label\""
        ),
        "{term}"
    );
    // The mirror that builds `Term` sits in a block that allows naming them.
    let at = rs.find("struct __SkcDeTerm {").unwrap();
    let before = &rs[at.saturating_sub(200)..at];
    assert!(has(before, "#[allow(deprecated)] const _: () = { #[derive(__skc::Deserialize)] #[allow(dead_code)] #[serde(crate = \"__skc::serde\", remote = \"Term\", rename = \"Term\")]"), "{before}");
    // Debug: the pii field is still redacted, and the impl may name the rest.
    let debug = item(&rs, "impl ::core::fmt::Debug for GradePosted {");
    assert!(
        has(debug, ".field(\"comment\", &super::__skc::Redacted)"),
        "{debug}"
    );
    assert!(
        has(debug, ".field(\"old_score\", &self.old_score)"),
        "{debug}"
    );
    assert!(
        attrs_before(&rs, "impl ::core::fmt::Debug for GradePosted {")
            .contains(&"#[allow(deprecated)]")
    );
}

#[test]
fn rust_defaults() {
    let rs = expanded();
    let posted = item(&rs, "pub struct GradePosted {");
    assert!(has(posted, "#[serde(rename = \"points\", default = \"__skc_default_GradePosted_points\")]\n        pub points: f64,"), "{posted}");
    assert!(
        has(
            posted,
            "default = \"__skc_default_GradePosted_level\",\n            skip_serializing_if"
        ),
        "{posted}"
    );
    let mirror = item(&rs, "struct __SkcDeGradePosted {");
    assert!(has(mirror, "default = \"__skc_default_GradePosted_points\",\n            deserialize_with = \"__skc_null_GradePosted_points\""), "{mirror}");
    // Optional: only the default, `null` stays `None`.
    assert!(
        has(
            mirror,
            "#[serde(default = \"__skc_default_GradePosted_level\")]\n        level:"
        ),
        "{mirror}"
    );
    let f = item(&rs, "fn __skc_default_GradePosted_points() -> f64 {");
    assert!(has(f, "super::__skc::serde_json::from_str(\"100\")"), "{f}");
    assert!(has(f, "::core::unreachable!("), "{f}");
    let f = item(
        &rs,
        "fn __skc_default_GradePosted_level() -> ::core::option::Option<super::Level> {",
    );
    assert!(has(f, "from_str(\"\\\"high\\\"\")"), "{f}");
    assert!(
        !rs.contains("fn __skc_null_GradePosted_level"),
        "no null reader for an optional field"
    );
    let f = item(
        &rs,
        "fn __skc_null_GradePosted_points<'de, D: super::__skc::serde::Deserializer<'de>>(",
    );
    assert!(has(f, "::core::option::Option::None => {\n                ::core::result::Result::Ok(__skc_default_GradePosted_points())"), "{f}");
    // A named type's field, at the top level.
    assert!(rs.contains("\nfn __skc_default_Term_weeks() -> i64 {"));
}

#[test]
fn a_catalog_without_the_keys_expands_without_their_items() {
    let plain = compile_str(
        "p.yaml",
        "events:\n  a.b.created:\n    description: d\n    aggregate: B\n    aggregate_id: id\n    payload: { id: string, n: int? }\n",
    );
    assert!(plain.is_ok(), "{}", plain.render_diagnostics());
    let tokens = emit::rust::emit(&plain.catalog, &Settings::default(), &[]);
    let rs = tokens.to_string();
    for absent in [
        "deprecated",
        "__skc_default",
        "__skc_null",
        "const _ : () = {",
    ] {
        assert!(!rs.contains(absent), "{absent}");
    }
    let site = docs::site(&plain.catalog, &plain.sources, &Settings::default());
    for (path, text) in &site {
        if path.ends_with(".html") {
            assert!(
                !text.contains("dep-note") && !text.contains("opt def"),
                "{path}"
            );
        }
    }
    let s = schema::export(&plain.catalog, &Settings::default());
    assert!(s.iter().all(
        |(_, t)| !t.contains("\"deprecated\"") && !t.contains("\"default\"")
            || t.contains("\"version\"")
    ));
}
