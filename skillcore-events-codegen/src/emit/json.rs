//! An insertion-ordered JSON value with deterministic JSON and YAML writers.
//!
//! `serde_json::Value` sorts object keys (the workspace does not enable
//! `preserve_order`, and enabling it would change every crate's maps), but
//! exported documents read best in a fixed, meaningful order: `$schema` first,
//! fields in catalog order. [`Json`] keeps the order it was built in, and its
//! writers are pure functions of it, so the same catalog always gives the same
//! bytes.
//!
//! The YAML writer is ours on purpose: it only ever writes data we built (no
//! anchors, tags or multi-documents), it quotes every string that could be read
//! back as anything but that string, and it needs no dependency (`serde_yaml` is
//! deprecated).

use std::fmt::Write as _;

/// A JSON value whose objects keep insertion order.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as serde_json holds it.
    Num(serde_json::Number),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, in insertion order (keys are unique by construction).
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An empty object.
    pub fn obj() -> Json {
        Json::Obj(Vec::new())
    }

    /// A string value.
    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    /// Builder: sets `key` (replacing an existing entry in place) and returns self.
    pub fn with(mut self, key: &str, value: impl Into<Json>) -> Json {
        self.set(key, value);
        self
    }

    /// Sets `key` on an object (replacing in place); ignored on other values.
    pub fn set(&mut self, key: &str, value: impl Into<Json>) {
        if let Json::Obj(entries) = self {
            let value = value.into();
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value,
                None => entries.push((key.to_string(), value)),
            }
        }
    }

    /// The value of `key` on an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Converts to a `serde_json::Value` (object keys end up sorted).
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(*b),
            Json::Num(n) => serde_json::Value::Number(n.clone()),
            Json::Str(s) => serde_json::Value::String(s.clone()),
            Json::Arr(a) => serde_json::Value::Array(a.iter().map(Json::to_value).collect()),
            Json::Obj(o) => serde_json::Value::Object(
                o.iter().map(|(k, v)| (k.clone(), v.to_value())).collect(),
            ),
        }
    }

    /// Pretty JSON, two-space indentation, with a trailing newline.
    pub fn to_json_pretty(&self) -> String {
        let mut out = String::with_capacity(1024);
        self.write_json(&mut out, 0);
        out.push('\n');
        out
    }

    fn write_json(&self, out: &mut String, indent: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Str(s) => json_string(out, s),
            Json::Arr(a) if a.is_empty() => out.push_str("[]"),
            Json::Obj(o) if o.is_empty() => out.push_str("{}"),
            Json::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, indent + 1);
                    v.write_json(out, indent + 1);
                }
                newline(out, indent);
                out.push(']');
            }
            Json::Obj(o) => {
                out.push('{');
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, indent + 1);
                    json_string(out, k);
                    out.push_str(": ");
                    v.write_json(out, indent + 1);
                }
                newline(out, indent);
                out.push('}');
            }
        }
    }

    /// Block-style YAML 1.2, two-space indentation, with a trailing newline. Reads
    /// back (with any YAML 1.1 or 1.2 parser) as exactly this value.
    pub fn to_yaml(&self) -> String {
        let mut out = String::with_capacity(1024);
        match self {
            Json::Obj(o) if !o.is_empty() => write_yaml_entries(&mut out, o, 0),
            Json::Arr(a) if !a.is_empty() => write_yaml_items(&mut out, a, 0),
            scalar => {
                write_yaml_scalar(&mut out, scalar);
                out.push('\n');
            }
        }
        out
    }
}

impl From<&serde_json::Value> for Json {
    fn from(v: &serde_json::Value) -> Json {
        match v {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(b) => Json::Bool(*b),
            serde_json::Value::Number(n) => Json::Num(n.clone()),
            serde_json::Value::String(s) => Json::Str(s.clone()),
            serde_json::Value::Array(a) => Json::Arr(a.iter().map(Json::from).collect()),
            serde_json::Value::Object(o) => {
                Json::Obj(o.iter().map(|(k, v)| (k.clone(), Json::from(v))).collect())
            }
        }
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_string())
    }
}

impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(s)
    }
}

impl From<&String> for Json {
    fn from(s: &String) -> Json {
        Json::Str(s.clone())
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}

impl From<u32> for Json {
    fn from(n: u32) -> Json {
        Json::Num(n.into())
    }
}

impl From<i64> for Json {
    fn from(n: i64) -> Json {
        Json::Num(n.into())
    }
}

impl From<Vec<Json>> for Json {
    fn from(a: Vec<Json>) -> Json {
        Json::Arr(a)
    }
}

fn newline(out: &mut String, indent: usize) {
    out.push('\n');
    for _ in 0..indent {
        out.push_str("  ");
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // C0, DEL, C1 (a terminal obeys U+009B as CSI) and the line separators.
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn pad(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push_str("  ");
    }
}

fn is_block(v: &Json) -> bool {
    matches!(v, Json::Obj(o) if !o.is_empty()) || matches!(v, Json::Arr(a) if !a.is_empty())
}

fn write_yaml_entries(out: &mut String, entries: &[(String, Json)], indent: usize) {
    for (k, v) in entries {
        pad(out, indent);
        write_yaml_str(out, k);
        out.push(':');
        write_yaml_after_key(out, v, indent);
    }
}

fn write_yaml_after_key(out: &mut String, v: &Json, indent: usize) {
    match v {
        Json::Obj(o) if !o.is_empty() => {
            out.push('\n');
            write_yaml_entries(out, o, indent + 1);
        }
        Json::Arr(a) if !a.is_empty() => {
            // Sequences under a key are indented one level, as most tools write them.
            out.push('\n');
            write_yaml_items(out, a, indent + 1);
        }
        scalar => {
            out.push(' ');
            write_yaml_scalar(out, scalar);
            out.push('\n');
        }
    }
}

fn write_yaml_items(out: &mut String, items: &[Json], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match item {
            Json::Obj(o) if !o.is_empty() => {
                // `- key: value` with the following keys aligned under the first.
                out.push(' ');
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        pad(out, indent + 1);
                    }
                    write_yaml_str(out, k);
                    out.push(':');
                    write_yaml_after_key(out, v, indent + 1);
                }
            }
            Json::Arr(a) if !a.is_empty() => {
                out.push('\n');
                write_yaml_items(out, a, indent + 1);
            }
            scalar => {
                out.push(' ');
                write_yaml_scalar(out, scalar);
                out.push('\n');
            }
        }
    }
}

fn write_yaml_scalar(out: &mut String, v: &Json) {
    debug_assert!(!is_block(v));
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Num(n) => {
            let _ = write!(out, "{n}");
        }
        Json::Str(s) => write_yaml_str(out, s),
        Json::Arr(_) => out.push_str("[]"),
        Json::Obj(_) => out.push_str("{}"),
    }
}

/// Words YAML 1.1 or 1.2 would read as something other than a string.
const YAML_WORDS: &[&str] = &[
    "null", "true", "false", "yes", "no", "on", "off", "y", "n", "~",
];

/// `true` when `s` can be written without quotes and still reads back as the same
/// string under YAML 1.1 and 1.2: a conservative character set, no indicator at the
/// start, nothing number-like, no reserved word.
pub fn yaml_plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '_' || first == '$' || first == '/') {
        return false;
    }
    if s.ends_with(' ') || s.contains("  ") {
        return false;
    }
    if !s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '_' | '-' | '.' | '/' | '$' | ' ' | '(' | ')' | ',' | '\''
            )
    }) {
        return false;
    }
    // `'` is only harmful at the start (handled above); `,` only inside flow
    // collections, which we never write.
    let lower = s.to_ascii_lowercase();
    !YAML_WORDS.contains(&lower.as_str())
        && !matches!(lower.as_str(), ".inf" | ".nan")
        && !lower.starts_with("0x")
}

fn write_yaml_str(out: &mut String, s: &str) {
    if yaml_plain_ok(s) {
        out.push_str(s);
    } else {
        // JSON string escapes are valid YAML double-quoted escapes.
        json_string(out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_order_and_is_pretty() {
        let j = Json::obj()
            .with("b", 1u32)
            .with("a", Json::Arr(vec![Json::Null, true.into()]))
            .with("e", Json::obj());
        assert_eq!(
            j.to_json_pretty(),
            "{\n  \"b\": 1,\n  \"a\": [\n    null,\n    true\n  ],\n  \"e\": {}\n}\n"
        );
        let back: serde_json::Value = serde_json::from_str(&j.to_json_pretty()).unwrap();
        assert_eq!(back, j.to_value());
    }

    #[test]
    fn control_characters_are_escaped_c1_included() {
        let j = Json::str("a\u{1b}[2J\u{9b}1m\u{85}\u{7f}");
        let text = j.to_json_pretty();
        assert_eq!(text.trim_end(), r#""a\u001b[2J\u009b1m\u0085\u007f""#);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, j.to_value());
    }

    #[test]
    fn yaml_quotes_what_would_change_meaning() {
        for s in [
            "", "yes", "No", "null", "~", "1.0", "3.0.0", "-x", "a: b", "a #b", "#x", "x\ny", "'q",
            "\"q", "@x", "`x", "*x", "&x", "!x", "%x", "[x", "{x", "|", ">", "0x1F", " lead",
            "trail ", ".inf", "é",
        ] {
            assert!(!yaml_plain_ok(s), "{s:?} must be quoted");
        }
        assert!(yaml_plain_ok("gradebook.grade.posted"));
        assert!(yaml_plain_ok("$ref"));
        assert!(yaml_plain_ok("Grade posted for student assignment"));
        assert!(!yaml_plain_ok("#/components/messages/x"));
    }

    #[test]
    fn yaml_shapes() {
        let j = Json::obj()
            .with("asyncapi", "3.0.0")
            .with(
                "list",
                Json::Arr(vec![
                    Json::obj().with("name", "a").with("count", 1u32),
                    Json::str("plain"),
                ]),
            )
            .with("empty", Json::Arr(vec![]))
            .with(
                "nested",
                Json::obj().with("k", Json::obj().with("v", false)),
            );
        assert_eq!(
            j.to_yaml(),
            "asyncapi: \"3.0.0\"\nlist:\n  - name: a\n    count: 1\n  - plain\nempty: []\nnested:\n  k:\n    v: false\n"
        );
    }
}
