//! The JSON Schema (draft 2020-12) of the catalog format itself, for editors:
//! with `# yaml-language-server: $schema=…` at the top of a catalog file, the
//! YAML language server completes keys, closed values and field shapes and
//! flags unknown keys while typing. `skillcore-events catalog-schema` prints
//! it; `schemas/catalog.schema.json` is the committed copy.
//!
//! Every object lists exactly the keys this stage reads (the `*_KEYS`
//! constants of [`crate::ast`]), with `additionalProperties: false`, as the
//! reader refuses unknown keys; a key without a description here is a test
//! failure. The schema judges the document's shape only: names, types and
//! examples are the compiler's rules (`skillcore-events check`).

use super::{EVENT_KEYS, EVOLUTION_KEYS, FIELD_KEYS, NAMING_KEYS, TOP_KEYS, TYPE_KEYS};
use crate::model::{BaseType, Compatibility};
use serde_json::{json, Map, Value};

/// Where a catalog key sits, for [`entry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Object {
    Top,
    Naming,
    Evolution,
    Metadata,
    Type,
    Event,
    Field,
}

/// The catalog format's JSON Schema.
pub fn catalog_schema() -> Value {
    let modes: Vec<&str> = Compatibility::ALL.iter().map(|m| m.name()).collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.invalid/skillcore-events/schemas/catalog.schema.json",
        "title": "SkillCore Events catalog file",
        "description": "One YAML file of a SkillCore Events catalog (docs/catalog.md). `skillcore-events check` applies every rule; this schema checks the shape of the document.",
        "type": "object",
        "additionalProperties": false,
        "properties": properties(TOP_KEYS, Object::Top),
        "$defs": {
            "text": {
                "description": "Text: a non-empty scalar (a plain number or boolean is read as its text).",
                "anyOf": [
                    { "type": "string", "pattern": "\\S" },
                    { "type": ["number", "boolean"] }
                ]
            },
            "textList": {
                "type": ["array", "null"],
                "items": { "$ref": "#/$defs/text" }
            },
            "compatibility": {
                "description": "How the payload may change within one version (docs/evolution.md).",
                "enum": modes
            },
            "deprecated": {
                "description": "The reason it is deprecated and what to use instead, or `true`; `false` is not deprecated.",
                "anyOf": [
                    { "type": "boolean" },
                    { "$ref": "#/$defs/text" }
                ]
            },
            "typeExpression": {
                "description": "A type: a built-in (string, int, number, bool, uuid, datetime, date, json) or a name from `types`, then up to four `[]` (a list) and an optional `?` (may be absent or null).",
                "anyOf": [
                    { "enum": builtin_forms() },
                    {
                        "type": "string",
                        "pattern": "^\\s*[A-Za-z0-9_]+(\\s*\\[\\]){0,4}\\s*\\??\\s*$"
                    }
                ]
            },
            "fields": {
                "description": "Fields in order: `name: type` (short form) or `name: {type: ..., ...}` (long form). Names are lowerCamelCase wire names.",
                "type": ["object", "null"],
                "additionalProperties": { "$ref": "#/$defs/field" }
            },
            "field": {
                "anyOf": [
                    { "$ref": "#/$defs/typeExpression" },
                    {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["type"],
                        "properties": properties(FIELD_KEYS, Object::Field)
                    }
                ]
            },
            "namedType": {
                "description": "A shared named type: an `enum` of values or a struct with `fields`.",
                "type": "object",
                "additionalProperties": false,
                "required": ["description"],
                "properties": properties(TYPE_KEYS, Object::Type),
                "oneOf": [
                    { "required": ["enum"] },
                    { "required": ["fields"] }
                ]
            },
            "event": {
                "description": "An event, keyed by its name `<context>.<aggregate>.<action>` (action in the past tense).",
                "type": "object",
                "additionalProperties": false,
                "required": ["description", "aggregate", "aggregate_id", "payload"],
                "properties": properties(EVENT_KEYS, Object::Event)
            },
            "metadata": {
                "description": "Which payload field each envelope metadata key is taken from.",
                "type": ["object", "null"],
                "additionalProperties": false,
                "properties": properties(metadata_keys(), Object::Metadata)
            }
        }
    })
}

/// The schema as committed: pretty JSON, keys sorted (whichever way
/// serde_json's maps are built), with a final line break.
pub fn catalog_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&sorted(catalog_schema())).expect("a JSON value");
    text.push('\n');
    text
}

fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The keys of `metadata`, when this version of the format has it.
fn metadata_keys() -> &'static [&'static str] {
    super::METADATA_KEYS
}

/// Every built-in in its four common forms, for completion.
fn builtin_forms() -> Vec<String> {
    BaseType::BUILTINS
        .iter()
        .flat_map(|b| {
            [
                b.to_string(),
                format!("{b}?"),
                format!("{b}[]"),
                format!("{b}[]?"),
            ]
        })
        .collect()
}

fn properties(keys: &[&str], of: Object) -> Value {
    let mut out = Map::new();
    for key in keys {
        out.insert(key.to_string(), entry(of, key).unwrap_or_else(|| json!({})));
    }
    Value::Object(out)
}

/// The schema of one key, with its description.
fn entry(of: Object, key: &str) -> Option<Value> {
    let text = |d: &str| json!({ "$ref": "#/$defs/text", "description": d });
    Some(match (of, key) {
        (Object::Top, "catalog") => text("The catalog's name; the files of one catalog must agree. Default: the file or directory name."),
        (Object::Top, "naming") => json!({
            "description": "Naming rules of this catalog.",
            "type": ["object", "null"],
            "additionalProperties": false,
            "properties": properties(NAMING_KEYS, Object::Naming)
        }),
        (Object::Top, "evolution") => json!({
            "description": "Schema evolution settings (docs/evolution.md).",
            "type": ["object", "null"],
            "additionalProperties": false,
            "properties": properties(EVOLUTION_KEYS, Object::Evolution)
        }),
        (Object::Top, "metadata") => json!({
            "$ref": "#/$defs/metadata",
            "description": "Catalog-wide: which payload field each envelope metadata key is taken from (an event's own `metadata` wins)."
        }),
        (Object::Top, "types") => json!({
            "description": "Shared named types, keyed by their PascalCase name.",
            "type": ["object", "null"],
            "additionalProperties": { "$ref": "#/$defs/namedType" }
        }),
        (Object::Top, "events") => json!({
            "description": "The events, keyed by name: `<context>.<aggregate>.<action>`.",
            "type": ["object", "null"],
            "additionalProperties": { "$ref": "#/$defs/event" }
        }),
        (Object::Naming, "past_tense") => json!({
            "$ref": "#/$defs/textList",
            "description": "Extra words accepted as past-tense actions."
        }),
        (Object::Naming, "exempt") => json!({
            "$ref": "#/$defs/textList",
            "description": "Legacy event names allowed two segments (`intervention.created`); their aggregate is their context."
        }),
        (Object::Evolution, "compatibility") => json!({
            "$ref": "#/$defs/compatibility",
            "description": "The compatibility mode of events that set none (default `backward`)."
        }),
        (Object::Metadata, "district") => json!({
            "type": "string",
            "description": "The payload field (wire name) the envelope's district comes from."
        }),
        (Object::Metadata, "school") => json!({
            "type": "string",
            "description": "The payload field (wire name) the envelope's school comes from."
        }),
        (Object::Metadata, "user") => json!({
            "type": "string",
            "description": "The payload field (wire name) the envelope's user comes from."
        }),
        (Object::Type, "description") => text("What the type means."),
        (Object::Type, "enum") => json!({
            "description": "The values, sent exactly as written (one of `enum` or `fields`).",
            "type": "array",
            "minItems": 1,
            "items": { "$ref": "#/$defs/text" }
        }),
        (Object::Type, "fields") => json!({
            "$ref": "#/$defs/fields",
            "description": "The fields of a struct type, as in a payload (one of `enum` or `fields`)."
        }),
        (Object::Event, "description") => text("One sentence on what happened."),
        (Object::Event, "version") => json!({
            "description": "The payload schema version, a whole number from 1 (default 1).",
            "type": "integer",
            "minimum": 1,
            "maximum": u32::MAX
        }),
        (Object::Event, "aggregate") => text("The aggregate type, PascalCase (`Result`)."),
        (Object::Event, "aggregate_id") => text("The wire name of the payload field holding the aggregate id: a required `string`, `uuid` or `int` field."),
        (Object::Event, "payload") => json!({
            "$ref": "#/$defs/fields",
            "description": "The payload's fields, in order."
        }),
        (Object::Event, "handlers") => json!({
            "$ref": "#/$defs/textList",
            "description": "Declared consumers, `<context>.<handler_name>`."
        }),
        (Object::Event, "examples") => json!({
            "description": "Example payloads, each checked against the payload at build time.",
            "type": ["array", "null"],
            "items": { "type": "object" }
        }),
        (Object::Event, "compatibility") => json!({
            "$ref": "#/$defs/compatibility",
            "description": "This event's compatibility mode (default: `evolution.compatibility`)."
        }),
        (Object::Event, "renamed_from") => text("The name the event was released under before (its handlers answer to it)."),
        (Object::Event, "deprecated") => json!({
            "$ref": "#/$defs/deprecated",
            "description": "Deprecates the event: the reason, or `true`."
        }),
        (Object::Event, "upcast") => json!({
            "description": "Hand-written upcast steps: released version -> Rust path of the function that turns it into the next version.",
            "type": ["object", "null"],
            "propertyNames": { "pattern": "^[1-9][0-9]*$" },
            "additionalProperties": { "$ref": "#/$defs/text" }
        }),
        (Object::Event, "metadata") => json!({
            "$ref": "#/$defs/metadata",
            "description": "Which payload field each envelope metadata key is taken from, for this event."
        }),
        (Object::Field, "type") => json!({
            "$ref": "#/$defs/typeExpression",
            "description": "The field's type, as in the short form."
        }),
        (Object::Field, "description") => text("Shown in docs, schemas and Rust docs."),
        (Object::Field, "pii") => json!({
            "description": "Sensitive data: redacted in Debug output, never logged or quoted in errors (default false).",
            "type": "boolean"
        }),
        (Object::Field, "renamed_from") => text("The wire name the field was released under before."),
        (Object::Field, "default") => json!({
            "description": "What a reader fills in when a payload lacks the field; a value of the field's type."
        }),
        (Object::Field, "deprecated") => json!({
            "$ref": "#/$defs/deprecated",
            "description": "Deprecates the field: the reason, or `true`."
        }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every object of the schema that lists `properties`, with its path.
    fn objects<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a Map<String, Value>)>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::Object(p)) = m.get("properties") {
                    out.push((path.clone(), p));
                }
                for (k, x) in m {
                    objects(x, format!("{path}/{k}"), out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    objects(x, format!("{path}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_key_the_reader_knows_is_described() {
        let schema = catalog_schema();
        let mut found = Vec::new();
        objects(&schema, String::new(), &mut found);
        let mut keys = 0;
        for (path, props) in &found {
            for (key, s) in *props {
                keys += 1;
                assert!(
                    s.get("description").and_then(Value::as_str).is_some(),
                    "{path}/{key} has no description"
                );
            }
        }
        let expected = TOP_KEYS.len()
            + NAMING_KEYS.len()
            + EVOLUTION_KEYS.len()
            + TYPE_KEYS.len()
            + EVENT_KEYS.len()
            + FIELD_KEYS.len()
            + metadata_keys().len();
        assert_eq!(keys, expected);
    }

    #[test]
    fn closed_objects_refuse_unknown_keys() {
        let schema = catalog_schema();
        let mut found = Vec::new();
        objects(&schema, String::new(), &mut found);
        let mut v = &schema;
        for (path, _) in &found {
            v = &schema;
            for seg in path.split('/').filter(|s| !s.is_empty()) {
                v = match v {
                    Value::Array(a) => &a[seg.parse::<usize>().unwrap()],
                    _ => &v[seg],
                };
            }
            // `{ "required": [..] }` branches of `oneOf` carry no properties.
            assert_eq!(v["additionalProperties"], json!(false), "{path}");
        }
        assert!(v.is_object());
    }
}
