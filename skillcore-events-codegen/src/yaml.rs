//! Stage 1: YAML text -> a tree in which every node knows where it came from.
//!
//! We build our own small tree from `saphyr-parser` events instead of deserializing
//! with serde: the catalog checks need the position of *every* key and value, the raw
//! text of scalars (`1st`, `yes` and `1.0` must stay what the author wrote), duplicate
//! keys kept so that the later stages can report them with their own rule ids, and
//! hard limits so that hostile input fails fast. The builder is iterative, so deep
//! nesting cannot overflow the stack.

use crate::diag::{Diagnostic, Rule};
use crate::source::{FileId, Sources, Span};
use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

/// Deepest nesting of mappings and sequences accepted in a catalog file.
pub const MAX_DEPTH: usize = 48;
/// Most nodes a file may hold once aliases are expanded (an alias bomb hits this).
pub const MAX_NODES: usize = 200_000;
/// Largest catalog file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// A YAML node with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: Kind,
    /// Where it starts (for mappings and sequences: their first character).
    pub span: Span,
}

/// The three kinds of YAML node.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A scalar, with its text exactly as written (after unquoting).
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order, duplicates kept.
    Map(Vec<(Node, Node)>),
}

/// A scalar value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scalar {
    /// The text (unquoted, escapes resolved).
    pub text: String,
    /// `true` for plain (unquoted) scalars, whose meaning depends on the text
    /// (`null`, `true`, `12` ...); quoted and block scalars are always strings.
    pub plain: bool,
}

impl Node {
    /// The scalar, if this is one.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// `true` for an empty plain scalar or `null` / `~` (a key with no value).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar(s) if s.plain && matches!(s.text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// A short name of the node's kind for messages: "a mapping", "a list", "text".
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar(_) if self.is_null() => "nothing",
            Kind::Scalar(_) => "a single value",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// Converts to JSON following the YAML 1.2 core schema for plain scalars.
    /// Returns the first scalar that has no JSON form (`.nan`, `.inf`) as an error.
    pub fn to_json(&self) -> Result<serde_json::Value, &Node> {
        use serde_json::Value;
        Ok(match &self.kind {
            Kind::Scalar(s) => match core_scalar(s) {
                CoreValue::Null => Value::Null,
                CoreValue::Bool(b) => Value::Bool(b),
                CoreValue::Int(i) => Value::from(i),
                CoreValue::Float(f) => match serde_json::Number::from_f64(f) {
                    Some(n) => Value::Number(n),
                    None => return Err(self),
                },
                CoreValue::Str(t) => Value::String(t.to_string()),
            },
            Kind::Seq(items) => Value::Array(
                items
                    .iter()
                    .map(Node::to_json)
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Kind::Map(pairs) => {
                let mut map = serde_json::Map::new();
                for (k, v) in pairs {
                    let key = match &k.kind {
                        Kind::Scalar(s) => s.text.clone(),
                        _ => return Err(k),
                    };
                    map.insert(key, v.to_json()?);
                }
                Value::Object(map)
            }
        })
    }
}

/// What a scalar means under the YAML 1.2 core schema.
#[derive(Clone, Debug, PartialEq)]
pub enum CoreValue<'a> {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false` in any of the core schema's spellings.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// A float (including `.inf` and `.nan`).
    Float(f64),
    /// Anything else, and every quoted scalar.
    Str(&'a str),
}

/// Resolves a scalar with the YAML 1.2 core schema.
pub fn core_scalar(s: &Scalar) -> CoreValue<'_> {
    if !s.plain {
        return CoreValue::Str(&s.text);
    }
    let t = s.text.as_str();
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return CoreValue::Null,
        "true" | "True" | "TRUE" => return CoreValue::Bool(true),
        "false" | "False" | "FALSE" => return CoreValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return CoreValue::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return CoreValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return CoreValue::Float(f64::NAN),
        _ => {}
    }
    let digits = |d: &str, radix| !d.is_empty() && d.chars().all(|c| c.is_digit(radix));
    if let Some(h) = t.strip_prefix("0x") {
        if digits(h, 16) {
            if let Ok(i) = i64::from_str_radix(h, 16) {
                return CoreValue::Int(i);
            }
        }
    }
    if let Some(o) = t.strip_prefix("0o") {
        if digits(o, 8) {
            if let Ok(i) = i64::from_str_radix(o, 8) {
                return CoreValue::Int(i);
            }
        }
    }
    let unsigned = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits(unsigned, 10) {
        return match t.parse::<i64>() {
            Ok(i) => CoreValue::Int(i),
            Err(_) => CoreValue::Float(t.parse().unwrap_or(f64::NAN)),
        };
    }
    if is_core_float(unsigned) {
        if let Ok(f) = t.parse::<f64>() {
            return CoreValue::Float(f);
        }
    }
    CoreValue::Str(t)
}

// [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
fn is_core_float(t: &str) -> bool {
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mant_ok = match mant.split_once('.') {
        Some((a, b)) => {
            (!a.is_empty() || !b.is_empty())
                && a.chars().all(|c| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_digit())
        }
        None => !mant.is_empty() && mant.chars().all(|c| c.is_ascii_digit()),
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mant_ok && exp_ok
}

enum Frame {
    Seq {
        items: Vec<Node>,
        span: Span,
        anchor: usize,
    },
    Map {
        pairs: Vec<(Node, Node)>,
        pending_key: Option<Node>,
        span: Span,
        anchor: usize,
    },
}

/// Turns the parser's character offsets into our lines and columns. The parser
/// counts a lone `\r` as a line break too (YAML does), while diagnostics show
/// lines split at `\n`; computing both from the offset keeps them in agreement.
struct LineIndex {
    /// Character offset at which each line starts.
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.chars()
                .enumerate()
                .filter(|(_, c)| *c == '\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// 1-based line and column of a character offset.
    fn position(&self, index: usize) -> (u32, u32) {
        let line = self.starts.partition_point(|&s| s <= index).max(1);
        let col = index - self.starts[line - 1] + 1;
        (line as u32, col as u32)
    }

    fn span(&self, file: FileId, s: &saphyr_parser::Span) -> Span {
        let len = s.end.index().saturating_sub(s.start.index());
        let (line, col) = self.position(s.start.index());
        Span {
            file,
            line,
            col,
            len: len as u32,
        }
    }
}

fn count_nodes(n: &Node) -> usize {
    1 + match &n.kind {
        Kind::Scalar(_) => 0,
        Kind::Seq(items) => items.iter().map(count_nodes).sum(),
        Kind::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| count_nodes(k) + count_nodes(v))
            .sum(),
    }
}

/// Parses one file of `sources` into a node tree. An empty file gives `Ok(None)`.
///
/// Catalog-shaped YAML takes the fast path of [`crate::yaml_fast`]; anything else,
/// errors included, goes through the full parser, with the same result.
pub fn parse(sources: &Sources, file: FileId) -> Result<Option<Node>, Diagnostic> {
    let src = &sources.files[file as usize];
    if src.text.len() <= MAX_FILE_BYTES && !has_unprintable(&src.text) {
        if let Some(tree) = crate::yaml_fast::parse(&src.text, file) {
            return Ok(tree);
        }
    }
    parse_full(sources, file)
}

/// `true` when `text` holds a character YAML does not allow in a document (C0
/// and C1 controls other than tab, line breaks and NEL, DEL, a byte order mark,
/// U+FFFE/U+FFFF). The fast path does not look for them; the full parser
/// rejects them with a position. A byte loop: this runs on every catalog, in
/// rustc, at opt-level 0.
fn has_unprintable(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\t' | b'\n' | b'\r' => {}
            0..=0x1f | 0x7f => return true,
            // U+0080..U+009F except U+0085 (NEL).
            0xc2 if i + 1 < b.len() && (0x80..=0x9f).contains(&b[i + 1]) && b[i + 1] != 0x85 => {
                return true
            }
            // U+FEFF (BOM), U+FFFE, U+FFFF.
            0xef if i + 2 < b.len()
                && ((b[i + 1] == 0xbb && b[i + 2] == 0xbf)
                    || (b[i + 1] == 0xbf && (b[i + 2] == 0xbe || b[i + 2] == 0xbf))) =>
            {
                return true
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// [`parse`] with the full YAML parser only (the reference the fast path is
/// tested against).
pub fn parse_full(sources: &Sources, file: FileId) -> Result<Option<Node>, Diagnostic> {
    let src = &sources.files[file as usize];
    if src.text.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::global(
            Rule::YamlSyntax,
            format!(
                "`{}` is {} bytes; catalog files are limited to {} MiB",
                src.display,
                src.text.len(),
                MAX_FILE_BYTES / 1024 / 1024
            ),
        )
        .with_help("split the catalog into one file per context in a directory"));
    }
    let lines = LineIndex::new(&src.text);
    let mut parser = Parser::new_from_str(&src.text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    let mut total_nodes = 0usize;

    let err = |span: Span, msg: String| sources.error(Rule::YamlSyntax, span, msg);

    loop {
        let (event, pspan) = match parser.next_event() {
            None => break,
            Some(Ok(ev)) => ev,
            Some(Err(e)) => return Err(scan_error(sources, file, &lines, &e)),
        };
        let span = lines.span(file, &pspan);
        let finished: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => None,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(err(
                        span,
                        "a catalog file must hold exactly one YAML document".into(),
                    )
                    .with_help("remove the second `---` or move its content into its own file"));
                }
                None
            }
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id) else {
                    return Err(err(span, "alias refers to an unknown anchor".into()));
                };
                let size = count_nodes(target);
                total_nodes += size;
                if total_nodes > MAX_NODES {
                    return Err(err(
                        span,
                        format!("alias expansion exceeds {MAX_NODES} nodes (an alias bomb?)"),
                    )
                    .with_help("catalogs do not need nested aliases; write the values out"));
                }
                let mut node = target.clone();
                node.span = span;
                Some((node, 0))
            }
            Event::Scalar(text, style, anchor, _tag) => {
                total_nodes += 1;
                Some((
                    Node {
                        kind: Kind::Scalar(Scalar {
                            text: text.into_owned(),
                            plain: style == ScalarStyle::Plain,
                        }),
                        span,
                    },
                    anchor,
                ))
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                total_nodes += 1;
                if stack.len() >= MAX_DEPTH {
                    return Err(
                        err(span, format!("nesting is deeper than {MAX_DEPTH} levels")).with_help(
                            "catalog payloads should be flat; use a named type or `json`",
                        ),
                    );
                }
                let mut span = span;
                span.len = 1;
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        items: Vec::new(),
                        span,
                        anchor,
                    }
                } else {
                    Frame::Map {
                        pairs: Vec::new(),
                        pending_key: None,
                        span,
                        anchor,
                    }
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    span,
                    anchor,
                }) => Some((
                    Node {
                        kind: Kind::Seq(items),
                        span,
                    },
                    anchor,
                )),
                _ => return Err(err(span, "unbalanced sequence end".into())),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    pairs,
                    span,
                    anchor,
                    ..
                }) => Some((
                    Node {
                        kind: Kind::Map(pairs),
                        span,
                    },
                    anchor,
                )),
                _ => return Err(err(span, "unbalanced mapping end".into())),
            },
        };
        if total_nodes > MAX_NODES {
            return Err(err(
                span,
                format!("the file holds more than {MAX_NODES} YAML nodes"),
            ));
        }
        let Some((node, anchor)) = finished else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                pairs, pending_key, ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
        }
    }
    Ok(root.filter(|n| !n.is_null()))
}

fn scan_error(
    sources: &Sources,
    file: FileId,
    lines: &LineIndex,
    e: &saphyr_parser::ScanError,
) -> Diagnostic {
    let (line, col) = lines.position(e.marker().index());
    let mut span = Span {
        file,
        line,
        col,
        len: 1,
    };
    let src = &sources.files[file as usize];
    // Tabs are the most common cause: report the tab itself, at its own line
    // and column. The scanner often stops at the end of the line above it
    // (a plain scalar runs on until the tab), so look there too.
    if let Some((line_no, col)) = indenting_tab(src, span.line) {
        span.line = line_no;
        span.col = col;
        return sources
            .error(
                Rule::YamlSyntax,
                span,
                "tabs cannot indent YAML; use spaces",
            )
            .with_help("replace the tab with spaces");
    }
    let info = e.info();
    let info = info.strip_suffix('.').unwrap_or(info);
    // The scanner has its own depth limit, hit first by very deep flow nesting.
    if info.contains("recursion limit") {
        return sources
            .error(
                Rule::YamlSyntax,
                span,
                format!("nesting is deeper than {MAX_DEPTH} levels"),
            )
            .with_help("catalog payloads should be flat; use a named type or `json`");
    }
    let d = sources.error(Rule::YamlSyntax, span, format!("invalid YAML: {info}"));
    match unclosed_flow(&src.text, span.line) {
        Some((open, line, col)) => d.with_help(format!(
            "the `{open}` at line {line}, column {col} is never closed; add the missing `{}`",
            if open == '[' { ']' } else { '}' }
        )),
        None => d,
    }
}

/// The line and column (1-based, in characters) of a tab in the indentation
/// that explains a scanner error at `line`: on that line, on the next one
/// (a plain scalar runs on until the tab below it, so the scanner stops on
/// the line above the tab), or on one of the two lines above.
fn indenting_tab(src: &crate::source::SourceFile, line: u32) -> Option<(u32, u32)> {
    let tab_at = |line_no: u32| -> Option<(u32, u32)> {
        let pos = src
            .line(line_no)
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .position(|c| c == '\t')?;
        Some((line_no, pos as u32 + 1))
    };
    let line = line.max(1);
    tab_at(line)
        .or_else(|| tab_at(line + 1))
        .or_else(|| tab_at(line - 1))
        .or_else(|| tab_at(line.saturating_sub(2)))
}

/// The innermost flow bracket (`[` or `{`) still open at the start of line
/// `before`, with its line and column: the usual cause of a scanner error a few
/// lines below it. A rough lexer: it skips quoted text and comments.
fn unclosed_flow(text: &str, before: u32) -> Option<(char, u32, u32)> {
    let mut open: Vec<(char, u32, u32)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u32 + 1;
        if line_no >= before {
            break;
        }
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        for (col, c) in line.chars().enumerate() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '#' if prev == ' ' || prev == '\t' => break,
                    '\'' | '"' if matches!(prev, ' ' | '[' | '{' | ',' | ':') => quote = Some(c),
                    '[' | '{' => open.push((c, line_no, col as u32 + 1)),
                    ']' | '}' => {
                        open.pop();
                    }
                    _ => {}
                },
            }
            prev = c;
        }
    }
    open.pop()
}

#[cfg(test)]
mod tests;
