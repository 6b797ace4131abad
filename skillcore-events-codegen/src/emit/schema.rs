//! JSON Schema (draft 2020-12) for every event payload.
//!
//! One document per event, `<event name>.v<version>.schema.json`, with a stable
//! `$id` under [`Settings::schema_id_base`], the payload fields as `properties` in
//! catalog order, `required` listing exactly the non-optional fields, the named
//! types the event uses under `$defs`, `x-pii: true` on sensitive fields and
//! `x-event` metadata. Optional fields accept `null` as well as absence, as the
//! generated Rust types do; unknown properties are allowed (tolerant readers, and
//! serde ignores them too).
//!
//! Evolution keys: a field with a `default` is not `required` and carries
//! `"default"` (readers fill it in); a `deprecated` field or event carries
//! `"deprecated": true`, and its reason ends its description (`Deprecated:
//! <reason>`). Both keywords are annotations of the 2020-12 meta-data
//! vocabulary: they change no verdict.
//!
//! With a lock ([`export_with_history`]), every released version older than
//! the catalog's gets its file too (`gradebook.grade.posted.v1.schema.json`
//! beside `...v2...`), built from the shape the lock records (see
//! [`super::released`]); a renamed field lists its older names in
//! `"x-renamedFrom"`, and the envelope schema checks each version's payload
//! against its own file.

use super::json::Json;
use super::released::{self, Version};
use crate::evolution::Lock;
use crate::model::{BaseType, Catalog, EventDef, Field, NamedType, TypeKind, TypeRef};
use crate::settings::Settings;
use std::collections::BTreeSet;

/// The dialect every exported schema declares.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// Where `$ref`s to named types point inside a standalone schema.
pub const DEFS_PREFIX: &str = "#/$defs/";

/// The file name of an event's schema: `gradebook.grade.posted.v1.schema.json`.
pub fn file_name(e: &EventDef) -> String {
    format!("{}.v{}.schema.json", e.name, e.version)
}

/// The stable `$id` of an event's schema: the id base followed by its file name.
pub fn schema_id(settings: &Settings, e: &EventDef) -> String {
    let base = &settings.schema_id_base;
    if base.is_empty() || base.ends_with('/') {
        format!("{base}{}", file_name(e))
    } else {
        format!("{base}/{}", file_name(e))
    }
}

/// The standalone schema document of one event.
pub fn event_schema(catalog: &Catalog, e: &EventDef, settings: &Settings) -> Json {
    let mut doc = Json::obj()
        .with("$schema", DRAFT_2020_12)
        .with("$id", schema_id(settings, e))
        .with("title", e.name.as_str());
    let mut body = payload_schema(e, DEFS_PREFIX);
    if let Json::Obj(entries) = &mut body {
        for (k, v) in entries.drain(..) {
            if k != "title" {
                doc.set(&k, v);
            }
        }
    }
    let used = used_types(catalog, &e.fields);
    if !used.is_empty() {
        let mut defs = Json::obj();
        for t in used {
            defs.set(&t.name, type_schema(t, DEFS_PREFIX));
        }
        doc.set("$defs", defs);
    }
    doc
}

/// The payload schema of one event without `$schema`, `$id` or `$defs`; named
/// types are referenced as `{ref_prefix}{TypeName}`. Used by the standalone schema
/// (prefix `#/$defs/`) and by AsyncAPI (prefix `#/components/schemas/`).
pub fn payload_schema(e: &EventDef, ref_prefix: &str) -> Json {
    let description = described(Some(&e.description), e.deprecated.as_deref());
    let mut s = Json::obj()
        .with("title", e.name.as_str())
        .with("description", description.unwrap_or_default())
        .with("type", "object")
        .with(
            "x-event",
            Json::obj()
                .with("name", e.name.as_str())
                .with("version", e.version)
                .with("aggregate", e.aggregate.as_str())
                .with("aggregateId", e.aggregate_id.as_str()),
        );
    if e.deprecated.is_some() {
        s.set("deprecated", true);
    }
    object_body(&mut s, &e.fields, ref_prefix);
    s
}

/// A description with the reason of a deprecation appended (`Deprecated:
/// <reason>`, after a blank line when there is a description); `None` when
/// there is neither. A deprecation without a reason adds nothing: the
/// `deprecated` keyword says it. The generated Rust types describe themselves
/// to schemars with the same text, so both schemas agree.
pub fn described(description: Option<&str>, deprecated: Option<&str>) -> Option<String> {
    match (description, deprecated.filter(|r| !r.trim().is_empty())) {
        (Some(d), Some(r)) => Some(format!("{d}\n\nDeprecated: {}", r.trim())),
        (None, Some(r)) => Some(format!("Deprecated: {}", r.trim())),
        (Some(d), None) => Some(d.to_string()),
        (None, None) => None,
    }
}

/// The schema of a named type (an enum of strings, or an object).
pub fn type_schema(t: &NamedType, ref_prefix: &str) -> Json {
    match &t.kind {
        TypeKind::Enum(values) => Json::obj()
            .with("description", t.description.as_str())
            .with("type", "string")
            .with(
                "enum",
                Json::Arr(values.iter().map(|v| Json::str(&v.value)).collect()),
            ),
        TypeKind::Struct(fields) => {
            let mut s = Json::obj()
                .with("description", t.description.as_str())
                .with("type", "object");
            object_body(&mut s, fields, ref_prefix);
            s
        }
    }
}

fn object_body(s: &mut Json, fields: &[Field], ref_prefix: &str) {
    let mut props = Json::obj();
    for f in fields {
        props.set(&f.name, field_schema(f, ref_prefix));
    }
    s.set("properties", props);
    let required: Vec<Json> = fields
        .iter()
        .filter(|f| !f.ty.optional && f.default.is_none())
        .map(|f| Json::str(&f.name))
        .collect();
    s.set("required", Json::Arr(required));
}

/// The schema of one field: its type, then its description, `default`,
/// `deprecated` and `x-pii`.
pub fn field_schema(f: &Field, ref_prefix: &str) -> Json {
    let mut s = type_ref_schema(&f.ty, ref_prefix);
    if let Some(d) = described(f.description.as_deref(), f.deprecated.as_deref()) {
        s.set("description", d);
    }
    if let Some(v) = &f.default {
        s.set("default", Json::from(v));
    }
    if f.deprecated.is_some() {
        s.set("deprecated", true);
    }
    if f.pii {
        s.set("x-pii", true);
    }
    s
}

/// The schema of a type expression (`string`, `LetterGrade[]?`, ...).
pub fn type_ref_schema(t: &TypeRef, ref_prefix: &str) -> Json {
    let mut s = base_schema(&t.base, ref_prefix);
    for _ in 0..t.list_depth {
        s = Json::obj().with("type", "array").with("items", s);
    }
    if t.optional {
        s = nullable(s);
    }
    s
}

fn base_schema(b: &BaseType, ref_prefix: &str) -> Json {
    let string_format = |format: &str| Json::obj().with("type", "string").with("format", format);
    match b {
        BaseType::String => Json::obj().with("type", "string"),
        BaseType::Int => Json::obj().with("type", "integer"),
        BaseType::Number => Json::obj().with("type", "number"),
        BaseType::Bool => Json::obj().with("type", "boolean"),
        BaseType::Uuid => string_format("uuid"),
        BaseType::DateTime => string_format("date-time"),
        BaseType::Date => string_format("date"),
        BaseType::Json => Json::obj(),
        BaseType::Named(n) => Json::obj().with("$ref", format!("{ref_prefix}{n}")),
    }
}

/// Makes a schema also accept `null`: `type: [T, "null"]` for simple types,
/// `anyOf` around a `$ref`; `json` (the empty schema) already accepts it.
fn nullable(s: Json) -> Json {
    match s.get("type") {
        Some(Json::Str(t)) => {
            let t = t.clone();
            let mut s = s;
            s.set("type", Json::Arr(vec![Json::Str(t), Json::str("null")]));
            s
        }
        _ if s.get("$ref").is_some() => Json::obj().with(
            "anyOf",
            Json::Arr(vec![s, Json::obj().with("type", "null")]),
        ),
        _ => s,
    }
}

/// The named types reachable from `fields`, sorted by name.
pub fn used_types<'c>(catalog: &'c Catalog, fields: &[Field]) -> Vec<&'c NamedType> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<&str> = Vec::new();
    let push_fields = |fields: &'c [Field], stack: &mut Vec<&'c str>| {
        for f in fields {
            if let BaseType::Named(n) = &f.ty.base {
                stack.push(n);
            }
        }
    };
    let mut out = Vec::new();
    for f in fields {
        if let BaseType::Named(n) = &f.ty.base {
            if let Some(t) = catalog.named_type(n) {
                stack.push(&t.name);
            }
        }
    }
    while let Some(n) = stack.pop() {
        let Some(t) = catalog.named_type(n) else {
            continue;
        };
        if !seen.insert(&t.name) {
            continue;
        }
        out.push(t);
        if let TypeKind::Struct(fs) = &t.kind {
            push_fields(fs, &mut stack);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The file name of the envelope schema.
pub const ENVELOPE_FILE: &str = "envelope.schema.json";

/// The schema of the envelope around every payload: the `EventStore` row / bus
/// message of `skillcore_events::Envelope` (`id`, `eventType`, `aggregateId`,
/// `aggregateType`, `payload`, `metadata`, `version`, `occurredAt`). `eventType`
/// is one of the catalog's events, and for each event (and version) `payload`
/// must match that event's schema, referenced by its file name (relative to this
/// schema's `$id`, so it resolves to the event schema's `$id`).
pub fn envelope_schema(catalog: &Catalog, settings: &Settings) -> Json {
    envelope_schema_with_history(catalog, None, settings)
}

/// The envelope schema, with a payload condition for every version in
/// `lock` as well as the current one: an envelope of version `N` (1 when
/// `version` is absent) must carry a payload valid against
/// `<eventType>.v<N>.schema.json`.
pub fn envelope_schema_with_history(
    catalog: &Catalog,
    lock: Option<&Lock>,
    settings: &Settings,
) -> Json {
    let base = &settings.schema_id_base;
    let id = if base.is_empty() || base.ends_with('/') {
        format!("{base}{ENVELOPE_FILE}")
    } else {
        format!("{base}/{ENVELOPE_FILE}")
    };
    let string = |d: &str| Json::obj().with("type", "string").with("description", d);
    // An optional metadata field: a string (of a format) or null.
    let nullable = |format: Option<&str>, d: &str| {
        let t = Json::obj().with(
            "type",
            Json::Arr(vec![Json::str("string"), Json::str("null")]),
        );
        match format {
            Some(f) => t.with("format", f),
            None => t,
        }
        .with("description", d)
    };
    let formatted = |f: &str, d: &str| {
        Json::obj()
            .with("type", "string")
            .with("format", f)
            .with("description", d)
    };
    let names: Vec<Json> = catalog.events.iter().map(|e| Json::str(&e.name)).collect();
    let props = Json::obj()
        .with("id", formatted("uuid", "Unique, time-ordered id of this event (UUID v7)."))
        .with(
            "eventType",
            Json::obj()
                .with("type", "string")
                .with("description", "The event name, `<context>.<aggregate>.<action>`.")
                .with("enum", Json::Arr(names)),
        )
        .with("aggregateId", string("The id of the aggregate the event is about."))
        .with("aggregateType", string("The aggregate type, PascalCase."))
        .with(
            "payload",
            Json::obj().with("type", "object").with(
                "description",
                "The event payload, valid against the event's own schema `<eventType>.v<version>.schema.json`.",
            ),
        )
        .with("metadata", Json::obj().with("$ref", "#/$defs/Metadata"))
        .with(
            "version",
            Json::obj()
                .with("type", "integer")
                .with("minimum", 1u32)
                .with("default", 1u32)
                .with("description", "The payload schema version (1 when absent)."),
        )
        .with("occurredAt", formatted("date-time", "When it happened, in UTC (RFC 3339)."));
    let metadata = Json::obj()
        .with(
            "description",
            "Tenant and tracing context every event carries.",
        )
        .with("type", "object")
        .with(
            "properties",
            Json::obj()
                .with(
                    "districtId",
                    string("The district (tenant) the event belongs to."),
                )
                .with("schoolId", string("The school within the district."))
                .with(
                    "userId",
                    nullable(
                        None,
                        "The person whose action raised the event; absent for system events.",
                    ),
                )
                .with(
                    "correlationId",
                    nullable(
                        None,
                        "Shared by every event of one chain (a request, a workflow).",
                    ),
                )
                .with(
                    "causationId",
                    nullable(Some("uuid"), "The id of the event that caused this one."),
                ),
        )
        .with(
            "required",
            Json::Arr(vec![Json::str("districtId"), Json::str("schoolId")]),
        );
    let per_event: Vec<Json> = catalog
        .events
        .iter()
        .flat_map(|e| {
            released::versions(catalog, lock, e)
                .into_iter()
                .map(move |v| (e, v.number))
        })
        .map(|(e, version)| {
            let cond = Json::obj()
                .with("eventType", Json::obj().with("const", e.name.as_str()))
                .with("version", Json::obj().with("const", version));
            // Version 1 is also an envelope without `version`; any other
            // version must say so.
            let mut required = vec![Json::str("eventType")];
            if version != 1 {
                required.push(Json::str("version"));
            }
            Json::obj()
                .with(
                    "if",
                    Json::obj()
                        .with("properties", cond)
                        .with("required", Json::Arr(required)),
                )
                .with(
                    "then",
                    Json::obj().with(
                        "properties",
                        Json::obj().with(
                            "payload",
                            Json::obj().with("$ref", versioned_file_name(&e.name, version)),
                        ),
                    ),
                )
        })
        .collect();
    let mut doc = Json::obj()
        .with("$schema", DRAFT_2020_12)
        .with("$id", id)
        .with("title", format!("{} event envelope", catalog.name))
        .with(
            "description",
            "The envelope around every event: the EventStore row and bus message written by `skillcore_events::Envelope`.",
        )
        .with("type", "object")
        .with("properties", props)
        .with(
            "required",
            Json::Arr(
                ["id", "eventType", "aggregateId", "aggregateType", "payload", "metadata", "occurredAt"]
                    .iter()
                    .map(|k| Json::str(*k))
                    .collect(),
            ),
        );
    if !per_event.is_empty() {
        doc.set("allOf", Json::Arr(per_event));
    }
    doc.set("$defs", Json::obj().with("Metadata", metadata));
    doc
}

/// Every event's schema as `(file name, pretty JSON text)`, in event name order,
/// then the envelope schema.
pub fn export(catalog: &Catalog, settings: &Settings) -> Vec<(String, String)> {
    export_with_history(catalog, None, settings)
}

/// [`export`] with every released version in `lock`: per event, one file per
/// version, oldest first (the current version's file is the same as without
/// a lock, plus `x-renamedFrom`), then the envelope schema.
pub fn export_with_history(
    catalog: &Catalog,
    lock: Option<&Lock>,
    settings: &Settings,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for e in &catalog.events {
        let versions = released::versions(catalog, lock, e);
        for (at, v) in versions.iter().enumerate() {
            out.push((
                versioned_file_name(&e.name, v.number),
                version_schema(catalog, e, &versions, at, settings).to_json_pretty(),
            ));
        }
    }
    out.push((
        ENVELOPE_FILE.to_string(),
        envelope_schema_with_history(catalog, lock, settings).to_json_pretty(),
    ));
    out
}

/// The file name of version `version` of event `name`.
pub fn versioned_file_name(name: &str, version: u32) -> String {
    format!("{name}.v{version}.schema.json")
}

/// The standalone schema of `versions[at]` of `e` (see [`released::versions`]).
pub fn version_schema(
    catalog: &Catalog,
    e: &EventDef,
    versions: &[Version],
    at: usize,
    settings: &Settings,
) -> Json {
    let v = &versions[at];
    let (cat, def) = v.def(catalog, e);
    let mut doc = event_schema(cat, def, settings);
    released::annotate_renames(&mut doc, versions, at);
    if let (Some(as_name), Some(Json::Obj(x))) = (v.released_as(e), get_mut(&mut doc, "x-event")) {
        x.push(("publishedAs".to_string(), Json::str(as_name)));
    }
    doc
}

fn get_mut<'j>(doc: &'j mut Json, key: &str) -> Option<&'j mut Json> {
    match doc {
        Json::Obj(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"
types:
  LetterGrade:
    description: Letter grade
    enum: [A, B]
  Contact:
    description: How to reach someone
    fields:
      email: { type: string, pii: true }
      grade: LetterGrade?
events:
  gradebook.grade.posted:
    description: Grade posted
    version: 2
    aggregate: Result
    aggregate_id: resultId
    payload:
      resultId: uuid
      postedAt: datetime
      due: date?
      contacts: Contact[]
      comment:
        type: string?
        description: A comment
        pii: true
"#;

    #[test]
    fn schema_shape() {
        let c = crate::compile_str("c.yaml", SRC);
        assert!(c.is_ok(), "{}", c.render_diagnostics());
        let e = c.catalog.event("gradebook.grade.posted").unwrap();
        let s = event_schema(&c.catalog, e, &Settings::default()).to_value();
        assert_eq!(s["$schema"], DRAFT_2020_12);
        assert_eq!(
            s["$id"],
            "https://schemas.skillcore.dev/events/gradebook.grade.posted.v2.schema.json"
        );
        assert_eq!(
            s["required"],
            serde_json::json!(["resultId", "postedAt", "contacts"])
        );
        assert_eq!(s["properties"]["postedAt"]["format"], "date-time");
        assert_eq!(
            s["properties"]["due"]["type"],
            serde_json::json!(["string", "null"])
        );
        assert_eq!(s["properties"]["comment"]["x-pii"], true);
        assert_eq!(
            s["properties"]["contacts"]["items"]["$ref"],
            "#/$defs/Contact"
        );
        assert_eq!(
            s["$defs"]["LetterGrade"]["enum"],
            serde_json::json!(["A", "B"])
        );
        assert_eq!(s["x-event"]["aggregateId"], "resultId");
        assert_eq!(file_name(e), "gradebook.grade.posted.v2.schema.json");
        // Deterministic.
        assert_eq!(
            export(&c.catalog, &Settings::default()),
            export(&c.catalog, &Settings::default())
        );
    }
}
