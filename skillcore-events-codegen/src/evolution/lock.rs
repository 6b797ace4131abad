//! The lock file: every released shape of every event, written by
//! `skillcore-events lock`, read by `catalog!` and `skillcore-events check`.
//!
//! It is YAML in one fixed layout (so rewriting it for an unchanged catalog
//! changes no byte, and a pull request shows a release as a few added lines):
//!
//! ```yaml
//! # Released versions of the events of catalog `skillcore`. Written by
//! # `skillcore-events lock`: commit it and review its changes; do not edit it.
//! lock: 1
//! catalog: skillcore
//! events:
//!   gradebook.grade.posted:
//!     - version: 1
//!       aggregate: Result
//!       aggregate_id: resultId
//!       fields:
//!         resultId: uuid
//!         comment:
//!           type: string?
//!           pii: true
//!       types:
//!         LetterGrade:
//!           enum: [A, B, C, D, F]
//! ```
//!
//! Each event lists its shapes in release order. A version appears once per
//! released shape: a compatible change within a version adds an entry with
//! the same number (the transitive modes check against all of them; the
//! generated type of an older version follows its last entry). An entry
//! released under another name (before a declared `renamed_from`) says
//! `name:`; a field with a declared rename keeps `renamed_from:`, which the
//! upcast of the next version reads.

use super::shape::{EventShape, FieldShape, TypeShape};
use crate::diag::{Diagnostic, Rule};
use crate::model::{BaseType, TypeRef};
use crate::source::{Sources, Span};
use crate::yaml::{core_scalar, CoreValue, Kind, Node};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The format version written in `lock:`.
pub const LOCK_FORMAT: u32 = 1;

/// A lock: the released shapes of a catalog's events.
#[derive(Clone, Debug, Default)]
pub struct Lock {
    /// The catalog's name (`catalog:`).
    pub catalog: String,
    /// Per event (by its current name), its shapes in release order.
    pub events: BTreeMap<String, Vec<EventShape>>,
    /// The lock's text, for locations in messages (empty for a lock built in
    /// memory).
    pub sources: Sources,
    /// Where `catalog:` is written.
    pub catalog_span: Span,
}

/// Where the lock of the catalog at `catalog` lives: `catalog.lock` beside a
/// `catalog/` directory, `events.lock` beside `events.yaml`.
pub fn lock_path(catalog: &Path) -> PathBuf {
    if catalog.is_dir() {
        if catalog.file_name().is_none() {
            // `.` or `..`: name the lock after the directory itself.
            if let Ok(full) = std::fs::canonicalize(catalog) {
                return lock_path(&full);
            }
        }
        let name = catalog
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "catalog".into());
        catalog.with_file_name(format!("{name}.lock"))
    } else {
        catalog.with_extension("lock")
    }
}

impl Lock {
    /// The shapes released under `name`: its own history, or that of the event
    /// it was renamed from.
    pub fn history(&self, name: &str) -> Option<&[EventShape]> {
        self.events.get(name).map(Vec::as_slice)
    }

    /// The lock as text, in its one layout.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Released versions of the events of catalog `{}`. Written by\n# `skillcore-events lock`: commit it and review its changes; do not edit it.",
            self.catalog
        );
        let _ = writeln!(out, "lock: {LOCK_FORMAT}");
        let _ = writeln!(out, "catalog: {}", scalar(&self.catalog));
        if self.events.is_empty() {
            out.push_str("events: {}\n");
            return out;
        }
        out.push_str("events:\n");
        for (name, shapes) in &self.events {
            let _ = writeln!(out, "  {}:", scalar(name));
            for s in shapes {
                render_entry(&mut out, name, s);
            }
        }
        out
    }

    /// Reads a lock file's text. Problems are `lock-file` errors at their line.
    ///
    /// A lock in the layout [`Lock::render`] writes is read by a line reader
    /// made for that layout; anything else (a hand edit, a damaged file) by the
    /// YAML reader, which finds the errors. Both give the same lock.
    pub fn parse(display: &str, text: &str) -> Result<Lock, Vec<Diagnostic>> {
        if let Some(lock) = super::lock_fast::parse(display, text) {
            return Ok(lock);
        }
        Lock::parse_yaml(display, text)
    }

    /// [`Lock::parse`] with the YAML reader only (for comparisons; `parse`
    /// gives the same result, faster).
    #[doc(hidden)]
    pub fn parse_yaml(display: &str, text: &str) -> Result<Lock, Vec<Diagnostic>> {
        let sources = Sources::single(display, text);
        let root = match crate::yaml::parse(&sources, 0) {
            Ok(Some(root)) => root,
            Ok(None) => {
                return Err(vec![Diagnostic::global(
                    Rule::LockFile,
                    format!("lock file `{display}` is empty"),
                )
                .with_help("restore it from version control, or delete it and run `skillcore-events lock` (which forgets every earlier release)")])
            }
            Err(mut d) => {
                d.rule = Rule::LockFile;
                d.help = Some(
                    "the lock file is not valid YAML: restore it from version control (deleting it and locking again forgets every release)"
                        .into(),
                );
                return Err(vec![d]);
            }
        };
        let mut r = Reader {
            sources: &sources,
            diags: Vec::new(),
        };
        let mut lock = r.lock(&root);
        if r.diags.is_empty() {
            lock.sources = sources;
            Ok(lock)
        } else {
            Err(r.diags)
        }
    }

    /// Reads the lock at `path`; `Ok(None)` when there is none.
    pub fn read(path: &Path, display: &str) -> Result<Option<Lock>, Vec<Diagnostic>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Lock::parse(display, &text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(vec![Diagnostic::global(
                Rule::LockFile,
                format!("cannot read lock file `{display}`: {e}"),
            )]),
        }
    }

    /// Where an entry is written, for notes.
    pub fn location(&self, span: Span) -> Option<crate::diag::Location> {
        (!self.sources.files.is_empty()).then(|| self.sources.location(span))
    }
}

/// One entry as text (two-space indents under its event's key).
pub(super) fn render_entry(out: &mut String, key: &str, s: &EventShape) {
    let _ = writeln!(out, "    - version: {}", s.version);
    if s.name != key {
        let _ = writeln!(out, "      name: {}", scalar(&s.name));
    }
    let _ = writeln!(out, "      aggregate: {}", scalar(&s.aggregate));
    let _ = writeln!(out, "      aggregate_id: {}", scalar(&s.aggregate_id));
    if s.deprecated {
        out.push_str("      deprecated: true\n");
    }
    render_fields(out, &s.fields, 6);
    if !s.types.is_empty() {
        out.push_str("      types:\n");
        for (name, t) in &s.types {
            let _ = writeln!(out, "        {}:", scalar(name));
            match t {
                TypeShape::Enum(values) => {
                    let v: Vec<String> = values.iter().map(|v| scalar(v)).collect();
                    let _ = writeln!(out, "          enum: [{}]", v.join(", "));
                }
                TypeShape::Struct(fields) => render_fields(out, fields, 10),
            }
        }
    }
}

fn render_fields(out: &mut String, fields: &[FieldShape], indent: usize) {
    let pad = " ".repeat(indent);
    if fields.is_empty() {
        let _ = writeln!(out, "{pad}fields: {{}}");
        return;
    }
    let _ = writeln!(out, "{pad}fields:");
    for f in fields {
        let ty = scalar(&f.ty.to_string());
        if f.default.is_none() && f.renamed_from.is_none() && !f.pii {
            let _ = writeln!(out, "{pad}  {}: {ty}", scalar(&f.name));
            continue;
        }
        let _ = writeln!(out, "{pad}  {}:", scalar(&f.name));
        let _ = writeln!(out, "{pad}    type: {ty}");
        if let Some(d) = &f.default {
            let _ = writeln!(out, "{pad}    default: {d}");
        }
        if let Some(r) = &f.renamed_from {
            let _ = writeln!(out, "{pad}    renamed_from: {}", scalar(r));
        }
        if f.pii {
            let _ = writeln!(out, "{pad}    pii: true");
        }
    }
}

/// Text as a YAML scalar: plain when that reads back as the same text, else
/// double-quoted with JSON escapes (valid YAML).
fn scalar(s: &str) -> String {
    if is_plain(s) {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

/// Whether `s` is written plain (unquoted) in the lock.
pub(super) fn is_plain(s: &str) -> bool {
    plain_brackets(s).is_some()
}

/// What a byte may be in a plain scalar: 0 never, 1 anywhere after the first
/// byte, 2 a bracket (only in `[]`). A `static`: indexing a `const` array
/// copies it first at opt-level 0.
static PLAIN_BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'?' => 1,
            b'[' | b']' => 2,
            _ => 0,
        };
        c += 1;
    }
    t
};

/// [`is_plain`], and if so whether `s` holds a bracket (`number[]`).
pub(super) fn plain_brackets(s: &str) -> Option<bool> {
    let scan = plain_scan(s.as_bytes());
    if scan.len != s.len() {
        return None;
    }
    plain_rules(s, scan)
}

/// The plain-scalar bytes at the start of some text.
#[derive(Clone, Copy)]
pub(super) struct PlainScan {
    /// How many bytes, up to the first that no plain scalar holds.
    pub len: usize,
    /// Whether they hold `[` or `]`.
    pub brackets: bool,
    /// Whether they hold `[]`.
    pub pair: bool,
}

/// Scans `b` up to the first byte no plain scalar holds. One indexed pass:
/// the lock reader runs it over nearly every byte of the lock, and at
/// opt-level 0 (the macro in a debug build) an iterator chain per byte is what
/// that costs.
pub(super) fn plain_scan(b: &[u8]) -> PlainScan {
    let n = b.len();
    let (mut brackets, mut pair) = (false, false);
    let mut i = 0;
    while i < n {
        match PLAIN_BYTES[b[i] as usize] {
            0 => break,
            2 => {
                brackets = true;
                pair |= b[i] == b'[' && i + 1 < n && b[i + 1] == b']';
            }
            _ => {}
        }
        i += 1;
    }
    PlainScan {
        len: i,
        brackets,
        pair,
    }
}

/// The rules of [`is_plain`] beyond its bytes, for `s` whose bytes `scan`
/// found plain: `Some(whether it holds a bracket)` when it is plain.
pub(super) fn plain_rules(s: &str, scan: PlainScan) -> Option<bool> {
    let b = s.as_bytes();
    let n = b.len();
    if n == 0 || !b[0].is_ascii_alphabetic() || b[n - 1] == b'.' || b[n - 1] == b'-' {
        return None;
    }
    // Words YAML reads as booleans or null (each starts with one of these).
    if n <= 5
        && matches!(b[0].to_ascii_lowercase(), b't' | b'f' | b'n' | b'y' | b'o')
        && ["true", "false", "null", "yes", "no", "on", "off", "y", "n"]
            .iter()
            .any(|w| s.eq_ignore_ascii_case(w))
    {
        return None;
    }
    // `[`/`]` only in type expressions (`number[]`), which sit in block context.
    (!scan.brackets || scan.pair).then_some(scan.brackets)
}

/// A description of where a value sits, formatted only for a message.
type What<'a> = &'a dyn Fn() -> String;

struct Reader<'a> {
    sources: &'a Sources,
    diags: Vec<Diagnostic>,
}

impl Reader<'_> {
    fn bad(&mut self, at: Span, msg: impl Into<String>) {
        let d = self.sources.error(Rule::LockFile, at, msg).with_help(
            "the lock file is written by `skillcore-events lock`: restore it from version control (deleting it and locking again forgets every release)",
        );
        self.diags.push(d);
    }

    fn map<'n>(&mut self, n: &'n Node, what: What<'_>) -> &'n [(Node, Node)] {
        match &n.kind {
            Kind::Map(p) => p,
            _ => {
                self.bad(
                    n.span,
                    format!("{} must be a mapping, found {}", what(), n.kind_name()),
                );
                &[]
            }
        }
    }

    fn text(&mut self, n: &Node, what: What<'_>) -> String {
        match n.as_scalar() {
            Some(s) if !s.text.is_empty() => s.text.clone(),
            _ => {
                self.bad(
                    n.span,
                    format!("{} must be text, found {}", what(), n.kind_name()),
                );
                String::new()
            }
        }
    }

    fn keys<'n>(
        &mut self,
        pairs: &'n [(Node, Node)],
        allowed: &[&str],
        required: &[&str],
        at: Span,
        what: What<'_>,
    ) -> Vec<(&'n str, &'n Node)> {
        let mut out: Vec<(&str, &Node)> = Vec::new();
        for (k, v) in pairs {
            let key = k.as_scalar().map(|s| s.text.as_str()).unwrap_or("");
            if !allowed.contains(&key) {
                self.bad(k.span, format!("unknown key `{key}` in {}", what()));
            } else if out.iter().any(|(n, _)| *n == key) {
                self.bad(k.span, format!("duplicate key `{key}` in {}", what()));
            } else {
                out.push((key, v));
            }
        }
        for r in required {
            if !out.iter().any(|(k, _)| k == r) {
                self.bad(at, format!("{} has no `{r}`", what()));
            }
        }
        out
    }

    fn lock(&mut self, root: &Node) -> Lock {
        let mut lock = Lock::default();
        let pairs = self.map(root, &|| "the lock file".into());
        for (k, v) in self.keys(
            pairs,
            &["lock", "catalog", "events"],
            &["lock", "catalog", "events"],
            root.span,
            &|| "the lock file".into(),
        ) {
            match k {
                "lock" => {
                    let ok = v.as_scalar().is_some_and(
                        |s| matches!(core_scalar(s), CoreValue::Int(i) if i == LOCK_FORMAT as i64),
                    );
                    if !ok {
                        self.bad(
                            v.span,
                            format!("this lock file's format is not {LOCK_FORMAT}, the one this version reads"),
                        );
                    }
                }
                "catalog" => {
                    lock.catalog = self.text(v, &|| "`catalog`".into());
                    lock.catalog_span = v.span;
                }
                _ => {
                    if v.as_scalar().is_some_and(|_| v.is_null()) {
                        continue;
                    }
                    for (name, list) in self.map(v, &|| "`events`".into()) {
                        let name = self.text(name, &|| "an event name".into());
                        let Kind::Seq(items) = &list.kind else {
                            self.bad(
                                list.span,
                                format!("the versions of `{name}` must be a list"),
                            );
                            continue;
                        };
                        let mut shapes: Vec<EventShape> = Vec::new();
                        for item in items {
                            let Some(s) = self.entry(&name, item) else {
                                continue;
                            };
                            if let Some(prev) = shapes.last() {
                                if s.version < prev.version {
                                    self.bad(
                                        item.span,
                                        format!(
                                            "version {} of `{name}` is listed after version {}; entries are in release order",
                                            s.version, prev.version
                                        ),
                                    );
                                }
                            }
                            shapes.push(s);
                        }
                        if lock.events.insert(name.clone(), shapes).is_some() {
                            self.bad(list.span, format!("event `{name}` is listed twice"));
                        }
                    }
                }
            }
        }
        lock
    }

    fn entry(&mut self, key: &str, n: &Node) -> Option<EventShape> {
        let what = || format!("an entry of `{key}`");
        let pairs = self.map(n, &what);
        let mut s = EventShape {
            name: key.to_string(),
            version: 0,
            aggregate: String::new(),
            aggregate_id: String::new(),
            deprecated: false,
            fields: Vec::new(),
            types: BTreeMap::new(),
            span: n.span,
        };
        let before = self.diags.len();
        let keys = self.keys(
            pairs,
            &[
                "version",
                "name",
                "aggregate",
                "aggregate_id",
                "deprecated",
                "fields",
                "types",
            ],
            &["version", "aggregate", "aggregate_id", "fields"],
            n.span,
            &what,
        );
        let mut types_node = None;
        let mut fields_node = None;
        for (k, v) in keys {
            match k {
                "version" => match v.as_scalar().map(core_scalar) {
                    Some(CoreValue::Int(i)) if i >= 1 && i <= u32::MAX as i64 => {
                        s.version = i as u32
                    }
                    _ => self.bad(
                        v.span,
                        format!("the version in {} must be a whole number from 1", what()),
                    ),
                },
                "name" => s.name = self.text(v, &|| "`name`".into()),
                "aggregate" => s.aggregate = self.text(v, &|| "`aggregate`".into()),
                "aggregate_id" => s.aggregate_id = self.text(v, &|| "`aggregate_id`".into()),
                "deprecated" => s.deprecated = self.flag(v, &|| "`deprecated`".into()),
                "fields" => fields_node = Some(v),
                _ => types_node = Some(v),
            }
        }
        // Types first: field types are checked against them.
        let mut names: Vec<(String, &Node, Span)> = Vec::new();
        if let Some(t) = types_node {
            for (k, v) in self.map(t, &|| "`types`".into()) {
                names.push((self.text(k, &|| "a type name".into()), v, k.span));
            }
        }
        let known: Vec<String> = names.iter().map(|(n, _, _)| n.clone()).collect();
        for (name, v, _) in &names {
            let tw = || format!("type `{name}`");
            let pairs = self.map(v, &tw);
            let tk = self.keys(pairs, &["enum", "fields"], &[], v.span, &tw);
            let shape = match tk.first() {
                Some(("enum", ev)) => match &ev.kind {
                    Kind::Seq(items) => TypeShape::Enum(
                        items
                            .iter()
                            .map(|i| self.text(i, &|| "an enum value".into()))
                            .collect(),
                    ),
                    _ => {
                        self.bad(ev.span, format!("the `enum` of {} must be a list", tw()));
                        continue;
                    }
                },
                Some((_, fv)) => TypeShape::Struct(self.fields(fv, &known, &tw)),
                None => {
                    self.bad(v.span, format!("{} has neither `enum` nor `fields`", tw()));
                    continue;
                }
            };
            s.types.insert(name.clone(), shape);
        }
        if let Some(f) = fields_node {
            s.fields = self.fields(f, &known, &what);
        }
        if !s.aggregate_id.is_empty() && !s.fields.iter().any(|f| f.name == s.aggregate_id) {
            self.bad(
                n.span,
                format!(
                    "{}: the aggregate id `{}` is not one of its fields",
                    what(),
                    s.aggregate_id
                ),
            );
        }
        (self.diags.len() == before).then_some(s)
    }

    fn flag(&mut self, v: &Node, what: What<'_>) -> bool {
        match v.as_scalar().map(core_scalar) {
            Some(CoreValue::Bool(b)) => b,
            _ => {
                self.bad(v.span, format!("{} must be `true` or `false`", what()));
                false
            }
        }
    }

    fn fields(&mut self, n: &Node, known: &[String], whose: What<'_>) -> Vec<FieldShape> {
        if n.is_null() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (k, v) in self.map(n, &|| format!("the fields of {}", whose())) {
            let name = self.text(k, &|| "a field name".into());
            let what = || format!("field `{name}` of {}", whose());
            let mut f = FieldShape {
                name: name.clone(),
                ty: TypeRef::plain(BaseType::Json),
                default: None,
                renamed_from: None,
                pii: false,
                span: k.span,
            };
            let ty_node = match &v.kind {
                Kind::Map(pairs) => {
                    let mut ty = None;
                    for (key, fv) in self.keys(
                        pairs,
                        &["type", "default", "renamed_from", "pii"],
                        &["type"],
                        v.span,
                        &what,
                    ) {
                        match key {
                            "type" => ty = Some(fv),
                            "default" => match fv.to_json() {
                                Ok(j) => f.default = Some(j),
                                Err(bad) => self.bad(
                                    bad.span,
                                    format!("the default of {} has no JSON form", what()),
                                ),
                            },
                            "renamed_from" => {
                                f.renamed_from = Some(self.text(fv, &|| "`renamed_from`".into()))
                            }
                            _ => f.pii = self.flag(fv, &|| "`pii`".into()),
                        }
                    }
                    ty
                }
                _ => Some(v),
            };
            if let Some(t) = ty_node {
                let text = self.text(t, &|| format!("the type of {}", what()));
                match TypeRef::parse(&text, |n| known.iter().any(|k| k == n)) {
                    Some(ty) => f.ty = ty,
                    None => self.bad(
                        t.span,
                        format!("the type `{text}` of {} is neither built in nor listed under the entry's `types`", what()),
                    ),
                }
            }
            if out.iter().any(|o: &FieldShape| o.name == f.name) {
                self.bad(k.span, format!("{} is listed twice", what()));
            }
            out.push(f);
        }
        out
    }
}
