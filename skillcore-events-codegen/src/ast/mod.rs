//! Stage 2: YAML tree -> the catalog's syntax (keys and shapes), still unchecked.
//!
//! This stage knows the format's keys: it reports unknown keys (with a did-you-mean),
//! missing required keys and values of the wrong shape, and keeps going so that one
//! build shows every mistake. It does not judge names or types; that is
//! [`crate::validate`]'s job.

use crate::diag::{Diagnostic, Rule};
use crate::naming::did_you_mean;
use crate::source::{Sources, Span};
use crate::yaml::{core_scalar, CoreValue, Kind, Node};

/// A description of where a value sits ("the payload of event `x`"), formatted
/// only when a message needs it.
type Args<'a> = std::fmt::Arguments<'a>;

/// A value with the span it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

/// One catalog file, as written.
#[derive(Clone, Debug, Default)]
pub struct RawFile {
    /// `catalog:`.
    pub catalog: Option<Spanned<String>>,
    /// `naming.past_tense`.
    pub past_tense: Vec<Spanned<String>>,
    /// `naming.exempt`.
    pub exempt: Vec<Spanned<String>>,
    /// `evolution.compatibility`, unchecked.
    pub compatibility: Option<Spanned<String>>,
    /// `metadata:`: envelope metadata key -> payload field, catalog-wide.
    pub metadata: Vec<(Spanned<String>, Spanned<String>)>,
    /// `types:`, in file order.
    pub types: Vec<RawType>,
    /// `events:`, in file order (duplicates kept).
    pub events: Vec<RawEvent>,
}

/// A named type as written.
#[derive(Clone, Debug)]
pub struct RawType {
    /// Its key.
    pub name: Spanned<String>,
    /// `description`.
    pub description: Option<String>,
    /// `enum` or `fields`.
    pub def: RawTypeDef,
}

/// The body of a named type.
#[derive(Clone, Debug)]
pub enum RawTypeDef {
    /// `enum: [...]`.
    Enum(Vec<Spanned<String>>),
    /// `fields: {...}`.
    Fields(Vec<RawField>),
    /// Neither (already reported).
    Missing,
}

/// An event as written.
#[derive(Clone, Debug)]
pub struct RawEvent {
    /// Its key.
    pub name: Spanned<String>,
    /// `description`.
    pub description: Option<String>,
    /// `version`.
    pub version: Option<u32>,
    /// `aggregate`.
    pub aggregate: Option<Spanned<String>>,
    /// `aggregate_id`.
    pub aggregate_id: Option<Spanned<String>>,
    /// `payload` (None when missing or malformed).
    pub payload: Option<Vec<RawField>>,
    /// `handlers`.
    pub handlers: Vec<Spanned<String>>,
    /// `examples`, as YAML nodes of the file's tree (checked against the payload
    /// later).
    pub examples: Vec<Node>,
    /// `compatibility`, unchecked.
    pub compatibility: Option<Spanned<String>>,
    /// `renamed_from`: the event's earlier name.
    pub renamed_from: Option<Spanned<String>>,
    /// `deprecated`: the reason (empty for `deprecated: true`).
    pub deprecated: Option<Spanned<String>>,
    /// Where `version:` is written.
    pub version_span: Option<Span>,
    /// `upcast`: per released version, the Rust path of the function that
    /// turns it into the next version.
    pub upcast: Vec<(Spanned<u32>, Spanned<String>)>,
    /// `metadata:`: envelope metadata key -> payload field, for this event.
    pub metadata: Vec<(Spanned<String>, Spanned<String>)>,
}

/// A field as written, in short (`name: type`) or long form.
#[derive(Clone, Debug)]
pub struct RawField {
    /// Its key.
    pub name: Spanned<String>,
    /// The type expression, `number[]?`.
    pub ty: Option<Spanned<String>>,
    /// `description` (long form).
    pub description: Option<String>,
    /// `pii` (long form).
    pub pii: bool,
    /// `renamed_from` (long form): the field's earlier wire name.
    pub renamed_from: Option<Spanned<String>>,
    /// `default` (long form), as a YAML node (checked against the type later).
    pub default: Option<Node>,
    /// `deprecated` (long form): the reason (empty for `deprecated: true`).
    pub deprecated: Option<Spanned<String>>,
}

/// Keys of the top level of a file.
pub const TOP_KEYS: &[&str] = &[
    "catalog",
    "naming",
    "evolution",
    "metadata",
    "types",
    "events",
];
/// Keys of `metadata` (catalog-wide or an event's).
pub const METADATA_KEYS: &[&str] = &["district", "school", "user"];
/// Keys of `evolution`.
pub const EVOLUTION_KEYS: &[&str] = &["compatibility"];
/// Keys of `naming`.
pub const NAMING_KEYS: &[&str] = &["past_tense", "exempt"];
/// Keys of a named type.
pub const TYPE_KEYS: &[&str] = &["description", "enum", "fields"];
/// Keys of an event.
pub const EVENT_KEYS: &[&str] = &[
    "description",
    "version",
    "aggregate",
    "aggregate_id",
    "payload",
    "handlers",
    "examples",
    "compatibility",
    "renamed_from",
    "deprecated",
    "upcast",
    "metadata",
];
/// Keys of a field in long form.
pub const FIELD_KEYS: &[&str] = &[
    "type",
    "description",
    "pii",
    "renamed_from",
    "default",
    "deprecated",
];

struct Reader<'a> {
    sources: &'a Sources,
    diags: &'a mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn err(&mut self, rule: Rule, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        let d = self.sources.error(rule, span, msg);
        self.diags.push(d);
        self.diags.last_mut().expect("just pushed")
    }

    /// The pairs of a mapping, or an `invalid-value` error.
    fn mapping<'n>(&mut self, node: &'n Node, what: Args<'_>) -> Option<&'n [(Node, Node)]> {
        match &node.kind {
            Kind::Map(pairs) => Some(pairs),
            _ if node.is_null() => Some(&[]),
            _ => {
                let found = node.kind_name();
                self.err(
                    Rule::InvalidValue,
                    node.span,
                    format!("{what} must be a mapping, found {found}"),
                );
                None
            }
        }
    }

    /// Checks the keys of a mapping: each must be text, known and unique. Returns the
    /// pairs whose key is known, with the key text.
    fn keys<'n>(
        &mut self,
        pairs: &'n [(Node, Node)],
        allowed: &[&str],
        what: Args<'_>,
    ) -> Vec<(&'n str, &'n Node, &'n Node)> {
        let mut out: Vec<(&str, &Node, &Node)> = Vec::new();
        for (k, v) in pairs {
            let Some(key) = self.key_text(k, what) else {
                continue;
            };
            if !allowed.contains(&key) {
                let help = match did_you_mean(key, allowed.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the keys of {what} are: {}", quoted_list(allowed)),
                };
                self.err(
                    Rule::UnknownKey,
                    k.span,
                    format!("unknown key `{key}` in {what}"),
                )
                .help = Some(help);
                continue;
            }
            if let Some((_, first, _)) = out.iter().find(|(name, _, _)| *name == key) {
                let note = self.sources.location(first.span);
                self.err(
                    Rule::YamlSyntax,
                    k.span,
                    format!("duplicate key `{key}` in {what}"),
                )
                .notes
                .push((note, "first written here".into()));
                continue;
            }
            out.push((key, k, v));
        }
        out
    }

    fn key_text<'n>(&mut self, k: &'n Node, what: Args<'_>) -> Option<&'n str> {
        match &k.kind {
            Kind::Scalar(s) => Some(&s.text),
            _ => {
                self.err(
                    Rule::InvalidValue,
                    k.span,
                    format!("keys in {what} must be plain text, found {}", k.kind_name()),
                );
                None
            }
        }
    }

    /// A non-empty text value.
    fn text(&mut self, node: &Node, what: Args<'_>) -> Option<Spanned<String>> {
        match &node.kind {
            Kind::Scalar(s) if !node.is_null() || !s.plain => {
                if s.text.trim().is_empty() {
                    self.err(Rule::InvalidValue, node.span, format!("{what} is empty"));
                    return None;
                }
                Some(Spanned {
                    value: s.text.clone(),
                    span: node.span,
                })
            }
            _ => {
                let found = node.kind_name();
                self.err(
                    Rule::InvalidValue,
                    node.span,
                    format!("{what} must be text, found {found}"),
                );
                None
            }
        }
    }

    /// A list of texts.
    fn text_list(&mut self, node: &Node, what: Args<'_>) -> Vec<Spanned<String>> {
        match &node.kind {
            Kind::Seq(items) => items
                .iter()
                .filter_map(|i| self.text(i, format_args!("an entry of {what}")))
                .collect(),
            _ if node.is_null() => Vec::new(),
            _ => {
                let found = node.kind_name();
                self.err(
                    Rule::InvalidValue,
                    node.span,
                    format!("{what} must be a list, found {found}"),
                )
                .help = Some("write it as a YAML list: `[a, b]`".into());
                Vec::new()
            }
        }
    }

    fn missing(&mut self, at: Span, key: &str, whose: Args<'_>, example: &str) {
        self.err(Rule::MissingKey, at, format!("{whose} has no `{key}`"))
            .help = Some(format!("add `{key}: {example}`"));
    }

    fn file(&mut self, root: &Node) -> RawFile {
        let mut file = RawFile::default();
        let Some(pairs) = self.mapping(root, format_args!("a catalog file")) else {
            return file;
        };
        for (key, _, v) in self.keys(pairs, TOP_KEYS, format_args!("the catalog")) {
            match key {
                "catalog" => file.catalog = self.text(v, format_args!("`catalog`")),
                "naming" => {
                    let Some(np) = self.mapping(v, format_args!("`naming`")) else {
                        continue;
                    };
                    for (nk, _, nv) in self.keys(np, NAMING_KEYS, format_args!("`naming`")) {
                        let list = self.text_list(nv, format_args!("`naming.{nk}`"));
                        if nk == "past_tense" {
                            file.past_tense = list;
                        } else {
                            file.exempt = list;
                        }
                    }
                }
                "evolution" => {
                    let Some(ep) = self.mapping(v, format_args!("`evolution`")) else {
                        continue;
                    };
                    for (_, _, ev) in self.keys(ep, EVOLUTION_KEYS, format_args!("`evolution`")) {
                        file.compatibility =
                            self.text(ev, format_args!("`evolution.compatibility`"));
                    }
                }
                "metadata" => file.metadata = self.metadata(v, format_args!("the catalog")),
                "types" => {
                    let Some(tp) = self.mapping(v, format_args!("`types`")) else {
                        continue;
                    };
                    for (k, body) in tp {
                        if let Some(t) = self.named_type(k, body) {
                            file.types.push(t);
                        }
                    }
                }
                "events" => {
                    let Some(ep) = self.mapping(v, format_args!("`events`")) else {
                        continue;
                    };
                    for (k, body) in ep {
                        if let Some(e) = self.event(k, body) {
                            file.events.push(e);
                        }
                    }
                }
                _ => unreachable!("keys() only returns allowed keys"),
            }
        }
        file
    }

    fn named_type(&mut self, k: &Node, body: &Node) -> Option<RawType> {
        let name = self.key_text(k, format_args!("`types`"))?.to_string();
        let whose = format!("type `{name}`");
        let whose = format_args!("{whose}");
        let mut t = RawType {
            name: Spanned {
                value: name,
                span: k.span,
            },
            description: None,
            def: RawTypeDef::Missing,
        };
        let pairs = self.mapping(body, whose)?;
        let mut seen_def: Option<&str> = None;
        for (key, kn, v) in self.keys(pairs, TYPE_KEYS, whose) {
            match key {
                "description" => {
                    t.description = self
                        .text(v, format_args!("the description of {whose}"))
                        .map(|s| s.value)
                }
                "enum" | "fields" => {
                    if let Some(prev) = seen_def {
                        self.err(
                            Rule::InvalidValue,
                            kn.span,
                            format!("{whose} has both `{prev}` and `{key}`"),
                        )
                        .help = Some(
                            "a named type is either an `enum` or a struct with `fields`; keep one"
                                .into(),
                        );
                        continue;
                    }
                    seen_def = Some(key);
                    if key == "enum" {
                        let values = self.text_list(v, format_args!("the `enum` of {whose}"));
                        if values.is_empty() {
                            self.err(
                                Rule::InvalidValue,
                                v.span,
                                format!("the `enum` of {whose} has no values"),
                            )
                            .help = Some("list the values: `enum: [A, B, C]`".into());
                        }
                        t.def = RawTypeDef::Enum(values);
                    } else if let Some(fp) =
                        self.mapping(v, format_args!("the `fields` of {whose}"))
                    {
                        t.def = RawTypeDef::Fields(self.fields(fp, whose));
                    }
                }
                _ => unreachable!(),
            }
        }
        let meant = meant_keys(pairs, TYPE_KEYS);
        if t.description.is_none() && !meant.contains(&"description") {
            self.missing(k.span, "description", whose, "<what the type means>");
        }
        if seen_def.is_none() && !meant.contains(&"enum") && !meant.contains(&"fields") {
            self.err(
                Rule::MissingKey,
                k.span,
                format!("{whose} has neither `enum` nor `fields`"),
            )
            .help =
                Some("add `enum: [A, B]` for a set of values, or `fields:` for a struct".into());
        }
        Some(t)
    }

    fn event(&mut self, k: &Node, body: &Node) -> Option<RawEvent> {
        let name = self.key_text(k, format_args!("`events`"))?.to_string();
        let whose = format!("event `{name}`");
        let whose = format_args!("{whose}");
        let mut e = RawEvent {
            name: Spanned {
                value: name,
                span: k.span,
            },
            description: None,
            version: None,
            aggregate: None,
            aggregate_id: None,
            payload: None,
            handlers: Vec::new(),
            examples: Vec::new(),
            compatibility: None,
            renamed_from: None,
            deprecated: None,
            version_span: None,
            upcast: Vec::new(),
            metadata: Vec::new(),
        };
        let pairs = self.mapping(body, whose)?;
        let present = meant_keys(pairs, EVENT_KEYS);
        for (key, _, v) in self.keys(pairs, EVENT_KEYS, whose) {
            match key {
                "description" => {
                    e.description = self
                        .text(v, format_args!("the description of {whose}"))
                        .map(|s| s.value)
                }
                "version" => {
                    e.version = self.version(v, whose);
                    e.version_span = Some(v.span);
                }
                "upcast" => e.upcast = self.upcasts(v, whose),
                "metadata" => e.metadata = self.metadata(v, whose),
                "aggregate" => e.aggregate = self.text(v, format_args!("the aggregate of {whose}")),
                "aggregate_id" => {
                    e.aggregate_id = self.text(v, format_args!("the aggregate_id of {whose}"))
                }
                "payload" => {
                    if let Some(fp) = self.mapping(v, format_args!("the payload of {whose}")) {
                        e.payload = Some(self.fields(fp, whose));
                    }
                }
                "handlers" => {
                    e.handlers = self.text_list(v, format_args!("the handlers of {whose}"))
                }
                "compatibility" => {
                    e.compatibility = self.text(v, format_args!("the compatibility of {whose}"))
                }
                "renamed_from" => {
                    e.renamed_from = self.text(v, format_args!("`renamed_from` of {whose}"))
                }
                "deprecated" => e.deprecated = self.deprecated(v, whose),
                "examples" => match &v.kind {
                    Kind::Seq(items) => e.examples = items.clone(),
                    _ if v.is_null() => {}
                    _ => {
                        self.err(
                            Rule::InvalidValue,
                            v.span,
                            format!(
                                "the examples of {whose} must be a list of payloads, found {}",
                                v.kind_name()
                            ),
                        )
                        .help =
                            Some("write `examples:` followed by `- field: value` entries".into());
                    }
                },
                _ => unreachable!(),
            }
        }
        for (key, example) in [
            ("description", "<one sentence saying what happened>"),
            ("aggregate", "<PascalCase aggregate type>"),
            ("aggregate_id", "<payload field holding the aggregate id>"),
            ("payload", "{ <fieldName>: <type> }"),
        ] {
            if !present.contains(&key) {
                self.missing(k.span, key, whose, example);
            }
        }
        Some(e)
    }

    fn version(&mut self, v: &Node, whose: Args<'_>) -> Option<u32> {
        let ok = v.as_scalar().and_then(|s| match core_scalar(s) {
            CoreValue::Int(i) if i >= 1 && i <= u32::MAX as i64 => Some(i as u32),
            _ => None,
        });
        if ok.is_none() {
            let text = v.as_scalar().map(|s| s.text.clone()).unwrap_or_default();
            self.err(
                Rule::InvalidValue,
                v.span,
                format!("the version of {whose} must be a whole number from 1, found `{text}`"),
            )
            .help = Some("write `version: 2` (or leave it out for version 1)".into());
        }
        ok
    }

    fn fields(&mut self, pairs: &[(Node, Node)], whose: Args<'_>) -> Vec<RawField> {
        let mut out = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let Some(name) = self.key_text(k, format_args!("the fields of {whose}")) else {
                continue;
            };
            let what = format_args!("field `{name}` of {whose}");
            let mut f = RawField {
                name: Spanned {
                    value: name.to_string(),
                    span: k.span,
                },
                ty: None,
                description: None,
                pii: false,
                renamed_from: None,
                default: None,
                deprecated: None,
            };
            match &v.kind {
                Kind::Map(fp) => {
                    let mut has_type = false;
                    for (key, _, fv) in self.keys(fp, FIELD_KEYS, what) {
                        match key {
                            "type" => {
                                has_type = true;
                                f.ty = self.text(fv, format_args!("the type of {what}"));
                            }
                            "description" => {
                                f.description = self
                                    .text(fv, format_args!("the description of {what}"))
                                    .map(|s| s.value)
                            }
                            "renamed_from" => {
                                f.renamed_from =
                                    self.text(fv, format_args!("`renamed_from` of {what}"))
                            }
                            "default" => f.default = Some(fv.clone()),
                            "deprecated" => f.deprecated = self.deprecated(fv, what),
                            "pii" => match fv.as_scalar().map(core_scalar) {
                                Some(CoreValue::Bool(b)) => f.pii = b,
                                _ => {
                                    self.err(
                                        Rule::InvalidValue,
                                        fv.span,
                                        format!("`pii` of {what} must be `true` or `false`"),
                                    );
                                }
                            },
                            _ => unreachable!(),
                        }
                    }
                    if !has_type && !meant_keys(fp, FIELD_KEYS).contains(&"type") {
                        self.missing(k.span, "type", what, "string");
                    }
                }
                Kind::Seq(_) => {
                    self.err(
                        Rule::InvalidValue,
                        v.span,
                        format!("the type of {what} must be text such as `string` or `string[]`, found a list"),
                    );
                }
                Kind::Scalar(_) => f.ty = self.text(v, format_args!("the type of {what}")),
            }
            out.push(f);
        }
        out
    }
}

/// The keys written in a mapping, and for each unknown one the key its
/// did-you-mean names: a misspelt key is reported once (`unknown-key`, did you
/// mean `payload`?), not a second time as the key it meant being missing.
fn meant_keys<'a>(pairs: &'a [(Node, Node)], allowed: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::with_capacity(pairs.len());
    for (k, _) in pairs {
        let Some(s) = k.as_scalar() else { continue };
        let key = s.text.as_str();
        if allowed.contains(&key) {
            out.push(key);
        } else if let Some(m) = did_you_mean(key, allowed.iter().copied()) {
            out.push(m);
        }
    }
    out
}

fn quoted_list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the syntax of one parsed file, appending problems to `diags`.
///
/// The result owns its data (examples are copied out of the tree), so the tree
/// can be dropped before the next file is parsed.
pub fn read_file(sources: &Sources, root: &Node, diags: &mut Vec<Diagnostic>) -> RawFile {
    Reader { sources, diags }.file(root)
}

mod evolution;
mod metadata;
mod schema;
#[cfg(test)]
mod tests;

pub use schema::{catalog_schema, catalog_schema_text};
