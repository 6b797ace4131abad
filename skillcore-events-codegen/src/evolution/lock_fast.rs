//! A fast reader for the lock's one layout.
//!
//! `skillcore-events lock` always writes the same layout ([`Lock::render`]),
//! and the macro reads the lock on every build at opt-level 0, where the
//! general YAML reader costs tens of milliseconds on a large lock. This module
//! reads exactly that layout, line by line, and nothing else: on any line it
//! does not expect (a hand edit, a comment, quoting, tabs, CRLF, a version out
//! of order, an unknown type...) it returns `None` and [`Lock::parse`] reads
//! the text with the YAML reader, which gives the `lock-file` errors. So what a
//! lock means, and every message about a bad one, never depends on which reader
//! ran; a differential test below holds the two to the same result, positions
//! included.

use super::lock::{is_plain, plain_brackets, plain_rules, plain_scan, Lock, LOCK_FORMAT};
use super::shape::{EventShape, FieldShape, TypeShape};
use crate::model::{BaseType, TypeRef};
use crate::source::{SourceFile, Sources, Span};
use std::collections::BTreeMap;

/// A cursor over the text, always at the start of a line between calls: a
/// line is taken by its prefix ([`Lines::take`]), then its rest by one of the
/// readers below, which consume the line break. No pass looks for line breaks
/// on its own: the scan of a line's value finds its end.
struct Lines<'a> {
    text: &'a str,
    /// The cursor.
    pos: usize,
    /// The number of the line the cursor is in, from 1.
    no: u32,
    /// 0 and the offset after every line break read: the line index of the
    /// lock's [`Sources`], made on the way.
    starts: Vec<usize>,
    /// The fields of the block being read: one buffer for every block, so a
    /// block's vector is allocated once, at its size.
    scratch: Vec<FieldShape>,
}

impl<'a> Lines<'a> {
    /// Takes the line at the cursor when it starts with `prefix`: its number.
    fn take(&mut self, prefix: &str) -> Option<u32> {
        let (b, p) = (self.text.as_bytes(), prefix.as_bytes());
        let end = self.pos + p.len();
        if end > b.len() || b[self.pos..end] != *p {
            return None;
        }
        self.pos = end;
        Some(self.no)
    }

    /// Consumes the line break at the cursor.
    fn eol(&mut self) -> Option<()> {
        if self.text.as_bytes().get(self.pos) != Some(&b'\n') {
            return None;
        }
        self.pos += 1;
        self.no += 1;
        self.starts.push(self.pos);
        Some(())
    }

    /// The rest of the line (the layout ends every line with a line break).
    fn rest(&mut self) -> Option<&'a str> {
        let b = self.text.as_bytes();
        let (start, n) = (self.pos, b.len());
        let mut i = start;
        while i < n && b[i] != b'\n' {
            i += 1;
        }
        // `\n` is ASCII: `start..i` lies on character boundaries.
        let s = self.text.get(start..i)?;
        self.pos = i;
        self.eol()?;
        Some(s)
    }

    /// A plain scalar ending at `end` (`\n`, or `:` which stays unread).
    fn plain(&mut self, end: u8) -> Option<&'a str> {
        let b = self.text.as_bytes();
        let scan = plain_scan(&b[self.pos..]);
        let stop = self.pos + scan.len;
        if b.get(stop) != Some(&end) {
            return None;
        }
        let s = self.text.get(self.pos..stop)?;
        plain_rules(s, scan)?;
        self.pos = stop;
        if end == b'\n' {
            self.eol()?;
        }
        Some(s)
    }

    /// A key line's name and its `:` (`  name:`), to the line's end.
    fn key(&mut self) -> Option<&'a str> {
        let name = self.plain(b':')?;
        self.pos += 1;
        self.eol()?;
        Some(name)
    }

    fn at_end(&self) -> bool {
        self.pos == self.text.len()
    }
}

fn span(line: u32, col: usize, len: usize) -> Span {
    Span {
        file: 0,
        line,
        col: col as u32,
        len: len as u32,
    }
}

/// Reads `text` when it is in the layout `render` writes; `None` otherwise.
/// The result's `sources` hold `text` as the file `display`.
pub(super) fn parse(display: &str, text: &str) -> Option<Lock> {
    let (mut lock, starts) = read(text)?;
    lock.sources = Sources {
        files: vec![SourceFile::with_line_starts(
            display,
            text.to_string(),
            starts,
        )],
    };
    Some(lock)
}

/// The lock without its `sources`, and the line index of `text`.
fn read(text: &str) -> Option<(Lock, Vec<usize>)> {
    // Two memchr passes (a closure per byte costs milliseconds at opt-level 0).
    if text.as_bytes().contains(&b'\r') || text.as_bytes().contains(&b'\t') {
        return None;
    }
    let mut lines = Lines {
        text,
        pos: 0,
        no: 1,
        starts: Vec::with_capacity(text.len() / 24),
        scratch: Vec::new(),
    };
    lines.starts.push(0);
    while lines.take("# ").is_some() {
        lines.rest()?;
    }
    lines.take("lock: ")?;
    if lines.rest()? != LOCK_FORMAT.to_string() {
        return None;
    }
    let no = lines.take("catalog: ")?;
    let name = lines.plain(b'\n')?;
    let mut lock = Lock {
        catalog: name.to_string(),
        catalog_span: span(no, 10, name.len()),
        ..Lock::default()
    };
    lines.take("events:")?;
    match lines.rest()? {
        " {}" => return lines.at_end().then_some((lock, lines.starts)),
        "" => {}
        _ => return None,
    }
    let mut last: Option<&str> = None;
    while !lines.at_end() {
        lines.take("  ")?;
        let name = lines.key()?;
        if last.is_some_and(|l| l >= name) {
            return None; // out of order or twice
        }
        last = Some(name);
        let mut shapes: Vec<EventShape> = Vec::new();
        while let Some(no) = lines.take("    - version: ") {
            let s = entry(&mut lines, name, no)?;
            if shapes.last().is_some_and(|p| s.version < p.version) {
                return None;
            }
            shapes.push(s);
        }
        if shapes.is_empty() {
            return None;
        }
        lock.events.insert(name.to_string(), shapes);
    }
    Some((lock, lines.starts))
}

fn version(text: &str) -> Option<u32> {
    let b = text.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) || b[0] == b'0' {
        return None;
    }
    text.parse().ok()
}

/// One `- version:` entry, its first line's prefix already taken.
fn entry(lines: &mut Lines<'_>, key: &str, no: u32) -> Option<EventShape> {
    let mut s = EventShape {
        name: key.to_string(),
        version: version(lines.rest()?)?,
        aggregate: String::new(),
        aggregate_id: String::new(),
        deprecated: false,
        fields: Vec::new(),
        types: BTreeMap::new(),
        span: span(no, 7, 1),
    };
    if lines.take("      name: ").is_some() {
        s.name = lines.plain(b'\n')?.to_string();
    }
    lines.take("      aggregate: ")?;
    s.aggregate = lines.plain(b'\n')?.to_string();
    lines.take("      aggregate_id: ")?;
    s.aggregate_id = lines.plain(b'\n')?.to_string();
    if lines.take("      deprecated: ").is_some() {
        if lines.rest()? != "true" {
            return None;
        }
        s.deprecated = true;
    }
    s.fields = fields(lines, &ENTRY)?;
    let mut types: Vec<(&str, TypeShape)> = Vec::new();
    if lines.take("      types:").is_some() {
        lines.eol()?;
        while lines.take("        ").is_some() {
            let name = lines.key()?;
            if types.last().is_some_and(|(l, _)| *l >= name) {
                return None;
            }
            let t = if lines.take("          enum: ").is_some() {
                TypeShape::Enum(enum_values(lines.rest()?)?)
            } else {
                TypeShape::Struct(fields(lines, &STRUCT)?)
            };
            types.push((name, t));
        }
    }
    // Every named type a field refers to is one of the entry's types (the
    // fields were read before the types, assuming so).
    let known = |fields: &[FieldShape]| {
        fields.iter().all(|f| match &f.ty.base {
            BaseType::Named(n) => types.iter().any(|(k, _)| *k == n.as_str()),
            _ => true,
        })
    };
    if !known(&s.fields) {
        return None;
    }
    for (_, t) in &types {
        if let TypeShape::Struct(f) = t {
            if !known(f) {
                return None;
            }
        }
    }
    if !s.fields.iter().any(|f| f.name == s.aggregate_id) {
        return None;
    }
    for (name, shape) in types {
        s.types.insert(name.to_string(), shape);
    }
    Some(s)
}

fn enum_values(list: &str) -> Option<Vec<String>> {
    let mut rest = list.strip_prefix('[')?.strip_suffix(']')?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (value, after) = if rest.starts_with('"') {
            quoted(rest)?
        } else {
            let b = rest.as_bytes();
            let mut end = 0;
            while end < b.len() && !(b[end] == b',' && b.get(end + 1) == Some(&b' ')) {
                end += 1;
            }
            let v = &rest[..end];
            if plain_brackets(v)? {
                return None;
            }
            (v.to_string(), &rest[end..])
        };
        out.push(value);
        rest = match after.strip_prefix(", ") {
            Some(r) if !r.is_empty() => r,
            Some(_) => return None,
            None if after.is_empty() => after,
            None => return None,
        };
    }
    Some(out)
}

/// A double-quoted value as the layout writes it (JSON escapes, which YAML
/// reads the same way), and what follows it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let b = s.as_bytes();
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => break,
            _ => i += 1,
        }
    }
    let token = s.get(..i + 1)?;
    let value: String = serde_json::from_str(token).ok()?;
    (serde_json::to_string(&value).is_ok_and(|t| t == token) && !is_plain(&value))
        .then(|| (value, &s[i + 1..]))
}

/// The line prefixes of a `fields:` block, by its indent (6 for an entry's
/// fields, 10 for a struct type's).
struct Prefixes {
    block: &'static str,
    key: &'static str,
    ty: &'static str,
    default: &'static str,
    renamed: &'static str,
    pii: &'static str,
}

const ENTRY: Prefixes = Prefixes {
    block: "      fields:",
    key: "        ",
    ty: "          type: ",
    default: "          default: ",
    renamed: "          renamed_from: ",
    pii: "          pii: ",
};

const STRUCT: Prefixes = Prefixes {
    block: "          fields:",
    key: "            ",
    ty: "              type: ",
    default: "              default: ",
    renamed: "              renamed_from: ",
    pii: "              pii: ",
};

/// A `fields:` block. A named type is taken as declared; the caller checks
/// it against the entry's `types`, which come after.
fn fields(lines: &mut Lines<'_>, p: &Prefixes) -> Option<Vec<FieldShape>> {
    lines.take(p.block)?;
    match lines.rest()? {
        " {}" => return Some(Vec::new()),
        "" => {}
        _ => return None,
    }
    let mut out = std::mem::take(&mut lines.scratch);
    out.clear();
    let found = block(lines, p, &mut out);
    let fields = found.map(|()| {
        let mut v = Vec::with_capacity(out.len());
        v.append(&mut out); // one move of the block, not one per field
        v
    });
    lines.scratch = out;
    fields
}

/// The lines of a `fields:` block after its first, into `out`.
fn block(lines: &mut Lines<'_>, p: &Prefixes, out: &mut Vec<FieldShape>) -> Option<()> {
    while let Some(no) = lines.take(p.key) {
        let name = lines.plain(b':')?;
        lines.pos += 1;
        let mut i = 0;
        while i < out.len() {
            if out[i].name == name {
                return None;
            }
            i += 1;
        }
        let mut f = FieldShape {
            name: name.to_string(),
            ty: TypeRef::plain(BaseType::Json),
            default: None,
            renamed_from: None,
            pii: false,
            span: span(no, p.key.len() + 1, name.len()),
        };
        let ty = if lines.take(" ").is_some() {
            lines.plain(b'\n')?
        } else {
            lines.eol()?;
            lines.take(p.ty)?;
            let ty = lines.plain(b'\n')?;
            if lines.take(p.default).is_some() {
                f.default = Some(json(lines.rest()?)?);
            }
            if lines.take(p.renamed).is_some() {
                f.renamed_from = Some(lines.plain(b'\n')?.to_string());
            }
            if lines.take(p.pii).is_some() {
                if lines.rest()? != "true" {
                    return None;
                }
                f.pii = true;
            }
            ty
        };
        f.ty = type_ref(ty)?;
        out.push(f);
    }
    Some(())
}

/// A plain type expression, as [`TypeRef::parse`] reads it, a name that is
/// not built in taken as a named type (the caller checks that it is one).
/// Plain text has no whitespace, which is all `parse` would trim.
fn type_ref(text: &str) -> Option<TypeRef> {
    let b = text.as_bytes();
    let mut n = b.len();
    let optional = n > 0 && b[n - 1] == b'?';
    if optional {
        n -= 1;
    }
    let mut list_depth = 0u8;
    while n >= 2 && b[n - 2] == b'[' && b[n - 1] == b']' {
        n -= 2;
        list_depth = list_depth.checked_add(1)?;
    }
    let base = &text[..n];
    let base = match BaseType::builtin(base) {
        Some(b) => b,
        None if !base.is_empty() => BaseType::Named(base.to_string()),
        None => return None,
    };
    Some(TypeRef {
        base,
        list_depth,
        optional,
    })
}

/// A default's JSON text, as the YAML reader would read it: numbers that YAML's
/// core schema reads differently (beyond `i64`) are left to that reader.
fn json(text: &str) -> Option<serde_json::Value> {
    fn fits(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) => n.is_i64() || n.is_f64(),
            serde_json::Value::Array(a) => a.iter().all(fits),
            serde_json::Value::Object(m) => m.values().all(fits),
            _ => true,
        }
    }
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    (fits(&v) && serde_json::to_string(&v).is_ok_and(|t| t == text)).then_some(v)
}

#[cfg(test)]
mod tests;
