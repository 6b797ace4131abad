//! A fast path for the YAML that catalogs are made of.
//!
//! Proc macros run at opt-level 0 unless the user asks otherwise, and there a
//! general YAML parser costs tens of milliseconds on a large catalog. Catalogs use
//! a small part of YAML: block mappings and sequences, one-line flow collections,
//! plain and quoted one-line scalars, comments. This module parses exactly that,
//! with simple loops over bytes, and produces the same tree, positions included,
//! as the full parser in [`crate::yaml`]. On anything else (anchors, tags, block
//! scalars, multi-line scalars, tabs, syntax errors...) it returns `None` and the
//! full parser takes over, so behaviour and error messages never depend on which
//! path ran. A differential test holds the two to the same output.

use crate::source::{FileId, Span};
use crate::yaml::{Kind, Node, Scalar, MAX_DEPTH};

struct Line<'a> {
    /// 1-based line number.
    no: u32,
    /// Leading spaces.
    indent: usize,
    /// The line after its indentation, without the line break.
    text: &'a str,
    /// Whether the whole line is ASCII (then byte offsets are columns).
    ascii: bool,
    /// The whole line (for column computations on non-ASCII lines).
    full: &'a str,
}

impl Line<'_> {
    /// 1-based character column of byte offset `at` within `text`.
    fn col(&self, at: usize) -> u32 {
        let byte = self.indent + at;
        if self.ascii {
            byte as u32 + 1
        } else {
            self.full[..byte].chars().count() as u32 + 1
        }
    }

    fn span(&self, file: FileId, at: usize, len_bytes: usize) -> Span {
        let len = if self.ascii {
            len_bytes
        } else {
            self.text[at..at + len_bytes].chars().count()
        };
        Span {
            file,
            line: self.no,
            col: self.col(at),
            len: len as u32,
        }
    }
}

fn is_blank_or_comment(text: &str) -> bool {
    let t = text.trim_start_matches(' ');
    t.is_empty() || t.starts_with('#')
}

/// Characters that may not start a plain scalar (or that start a construct this
/// fast path leaves to the full parser).
fn special_start(c: u8) -> bool {
    matches!(
        c,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

struct P<'a> {
    file: FileId,
    lines: Vec<Line<'a>>,
    /// Index of the current content line.
    i: usize,
}

/// Parses `text` if it stays within the catalog subset: `Some(tree)` (`Some(None)`
/// for an empty document), or `None` to let the full parser decide.
pub fn parse(text: &str, file: FileId) -> Option<Option<Node>> {
    // `<[u8]>::contains` is memchr in the (optimized) standard library: cheap even
    // when this crate is built at opt-level 0, unlike a `[char; 2]` pattern.
    let bytes = text.as_bytes();
    if bytes.contains(&b'\t') || bytes.contains(&b'\r') || text.starts_with('\u{feff}') {
        return None;
    }
    let mut lines = Vec::new();
    let mut seen_content = false;
    for (idx, full) in text.split('\n').enumerate() {
        let indent = full.bytes().take_while(|b| *b == b' ').count();
        let body = &full[indent..];
        if is_blank_or_comment(body) {
            continue;
        }
        let no = idx as u32 + 1;
        if indent == 0
            && (body.starts_with("---") || body.starts_with("...") || body.starts_with('%'))
        {
            // A leading `---` alone is fine; any other document marker or a
            // directive goes to the full parser.
            let rest = body.get(3..).unwrap_or("").trim_start();
            if !seen_content && body.starts_with("---") && is_blank_or_comment(rest) {
                seen_content = true;
                continue;
            }
            return None;
        }
        seen_content = true;
        lines.push(Line {
            no,
            indent,
            text: body,
            ascii: full.is_ascii(),
            full,
        });
    }
    if lines.is_empty() {
        return Some(None);
    }
    let mut p = P { file, lines, i: 0 };
    let first_indent = p.lines[0].indent;
    let root = p.block(first_indent, 0)?;
    if p.i != p.lines.len() {
        return None;
    }
    Some(Some(root))
}

/// What may follow a complete value on its line: nothing, or spaces and a comment
/// (YAML wants whitespace before `#`).
fn ok_tail(tail: &str) -> bool {
    let t = tail.trim_start_matches(' ');
    t.is_empty() || (t.starts_with('#') && t.len() < tail.len())
}

fn is_seq_item(text: &str) -> bool {
    text.trim_end_matches(' ') == "-" || text.starts_with("- ")
}

/// Byte offset of the `:` that ends a plain key (a `:` followed by a space or the
/// end of the line), if the text reads as `key: ...`.
fn plain_key_end(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    if b.is_empty() || special_start(b[0]) {
        return None;
    }
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b':' if i + 1 == b.len() || b[i + 1] == b' ' => return Some(i),
            b'#' if i > 0 && b[i - 1] == b' ' => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

impl<'a> P<'a> {
    fn line(&self) -> Option<&Line<'a>> {
        self.lines.get(self.i)
    }

    /// A block node whose first line is the current line, at indentation `indent`.
    fn block(&mut self, indent: usize, depth: usize) -> Option<Node> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let line = self.line()?;
        if line.indent != indent {
            return None;
        }
        if is_seq_item(line.text) {
            self.sequence(indent, depth, None)
        } else {
            self.mapping(indent, 0, depth)
        }
    }

    /// A block mapping whose keys sit at column `indent` (+ `offset` on the first
    /// line, for `- key: value` items, where `offset` is where the key starts).
    fn mapping(&mut self, indent: usize, offset: usize, depth: usize) -> Option<Node> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let file = self.file;
        let start = {
            let l = self.line()?;
            l.span(file, offset, 0)
        };
        let key_col = indent + offset;
        let mut pairs = Vec::new();
        let mut first = true;
        while let Some(l) = self.line() {
            let at = if first { offset } else { 0 };
            if !first {
                if l.indent < key_col {
                    break;
                }
                if l.indent > key_col || is_seq_item(l.text) {
                    return None;
                }
            }
            first = false;
            let text = &l.text[at..];
            let (key, after_colon) = if text.starts_with('"') || text.starts_with('\'') {
                let (scalar, consumed) = quoted(text)?;
                let rest = text[consumed..].trim_start_matches(' ');
                let colon = text.len() - rest.len();
                if !rest.starts_with(':') || !(rest.len() == 1 || rest.as_bytes()[1] == b' ') {
                    return None;
                }
                let key = Node {
                    kind: Kind::Scalar(Scalar {
                        text: scalar,
                        plain: false,
                    }),
                    span: l.span(file, at, quoted_span_len(text, consumed)),
                };
                (key, at + colon + 1)
            } else {
                let end = plain_key_end(text)?;
                let key_text = text[..end].trim_end_matches(' ');
                if key_text.contains(": ") || key_text.contains(" #") {
                    return None;
                }
                let key = Node {
                    kind: Kind::Scalar(Scalar {
                        text: key_text.to_string(),
                        plain: true,
                    }),
                    span: l.span(file, at, key_text.len()),
                };
                (key, at + end + 1)
            };
            let colon_at = after_colon - 1;
            let value = self.value_after(after_colon, colon_at, key_col, depth, ValueOf::Key)?;
            pairs.push((key, value));
        }
        Some(Node {
            kind: Kind::Map(pairs),
            span: Span { len: 1, ..start },
        })
    }

    /// The value that follows a key's colon (or an item's dash) on the current
    /// line, at byte `from` of the line's text; the current line is consumed, and
    /// with it any nested block.
    fn value_after(
        &mut self,
        from: usize,
        marker_at: usize,
        owner_col: usize,
        depth: usize,
        of: ValueOf,
    ) -> Option<Node> {
        let file = self.file;
        let l = self.line()?;
        let rest_full = &l.text[from..];
        let rest = rest_full.trim_start_matches(' ');
        let at = from + (rest_full.len() - rest.len());
        if is_blank_or_comment(rest) {
            // The value is on the next lines, or there is none.
            // Where the full parser puts the empty value: at a key's colon; for an
            // item, at the end of its line.
            let empty_at = match of {
                ValueOf::Key => l.span(file, marker_at, 0),
                ValueOf::Item => l.span(file, l.text.len(), 0),
            };
            self.i += 1;
            return match self.line() {
                Some(n) if n.indent > owner_col => {
                    let indent = n.indent;
                    self.block(indent, depth + 1)
                }
                Some(n) if n.indent == owner_col && is_seq_item(n.text) && of == ValueOf::Key => {
                    // An indentless sequence: `key:` then `- item` at the key's column.
                    self.sequence(owner_col, depth + 1, Some(()))
                }
                _ => Some(Node {
                    kind: Kind::Scalar(Scalar {
                        text: String::new(),
                        plain: true,
                    }),
                    span: empty_at,
                }),
            };
        }
        let b = rest.as_bytes()[0];
        let node = match b {
            b'[' | b'{' => {
                let mut pos = at;
                let node = flow(l, file, &mut pos, depth + 1)?;
                if !ok_tail(&l.text[pos..]) {
                    return None;
                }
                node
            }
            b'"' | b'\'' => {
                let (text, consumed) = quoted(rest)?;
                if !ok_tail(&rest[consumed..]) {
                    return None;
                }
                Node {
                    kind: Kind::Scalar(Scalar { text, plain: false }),
                    span: l.span(file, at, quoted_span_len(rest, consumed)),
                }
            }
            _ if special_start(b) => {
                // `- ` (a nested sequence), `? `, anchors, tags, block scalars...
                if b == b'-' && !is_seq_item(rest) {
                    self.plain_value(at)?
                } else {
                    return None;
                }
            }
            _ => self.plain_value(at)?,
        };
        self.i += 1;
        // A more indented line after a one-line value would continue a plain
        // scalar (or be an error): the full parser knows what to make of it.
        if let Some(n) = self.line() {
            if n.indent > owner_col {
                return None;
            }
        }
        Some(node)
    }

    fn plain_value(&self, at: usize) -> Option<Node> {
        let l = self.line()?;
        let text = &l.text[at..];
        let end = match text.find(" #") {
            Some(i) => i,
            None => text.len(),
        };
        let value = text[..end].trim_end_matches(' ');
        if value.is_empty() || value.contains(": ") || value.ends_with(':') {
            return None;
        }
        Some(Node {
            kind: Kind::Scalar(Scalar {
                text: value.to_string(),
                plain: true,
            }),
            span: l.span(self.file, at, value.len()),
        })
    }

    /// A block sequence whose dashes sit at column `indent`. `indentless` is set
    /// for a sequence at the same column as its parent key, whose start the full
    /// parser places at the first item's content.
    fn sequence(&mut self, indent: usize, depth: usize, indentless: Option<()>) -> Option<Node> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let file = self.file;
        let first = self.line()?;
        let start = if indentless.is_some() {
            let rest = first.text.get(1..)?.trim_start_matches(' ');
            if is_blank_or_comment(rest) {
                return None;
            }
            first.span(file, first.text.len() - rest.len(), 0)
        } else {
            first.span(file, 0, 0)
        };
        let mut items = Vec::new();
        while let Some(l) = self.line() {
            if l.indent < indent {
                break;
            }
            if l.indent > indent || !is_seq_item(l.text) {
                if indentless.is_some() && l.indent == indent {
                    // Back to the parent mapping's next key.
                    break;
                }
                return None;
            }
            let rest_full = &l.text[1..];
            let rest = rest_full.trim_start_matches(' ');
            let at = 1 + (rest_full.len() - rest.len());
            let compact_map = !is_blank_or_comment(rest)
                && (rest.starts_with('"')
                    || rest.starts_with('\'')
                    || plain_key_end(rest).is_some())
                && looks_like_key(rest);
            let node = if compact_map {
                self.mapping(indent, at, depth + 1)?
            } else {
                if is_seq_item(rest) {
                    return None; // `- - x`: nested compact sequences
                }
                self.value_after(1, 0, indent, depth, ValueOf::Item)?
            };
            items.push(node);
        }
        Some(Node {
            kind: Kind::Seq(items),
            span: Span { len: 1, ..start },
        })
    }
}

/// Whether a sequence item's text starts with a key (`key: value` or `"key": v`).
fn looks_like_key(rest: &str) -> bool {
    if rest.starts_with('"') || rest.starts_with('\'') {
        match quoted(rest) {
            Some((_, consumed)) => {
                let after = rest[consumed..].trim_start_matches(' ');
                after.starts_with(':') && (after.len() == 1 || after.as_bytes()[1] == b' ')
            }
            None => false,
        }
    } else {
        plain_key_end(rest).is_some()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ValueOf {
    Key,
    Item,
}

/// The full parser's span of a quoted scalar runs past the closing quote over
/// following spaces, and over a comment to the end of the line.
fn quoted_span_len(text: &str, consumed: usize) -> usize {
    let after = &text[consumed..];
    let spaces = after.len() - after.trim_start_matches(' ').len();
    let rest = &after[spaces..];
    if rest.starts_with('#') && spaces > 0 {
        text.len()
    } else {
        consumed + spaces
    }
}

/// A one-line quoted scalar at the start of `text`: its value and the bytes it
/// takes, quotes included.
fn quoted(text: &str) -> Option<(String, usize)> {
    let q = text.as_bytes()[0];
    let body = &text[1..];
    let mut out = String::new();
    if q == b'\'' {
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if let Some((_, '\'')) = chars.peek() {
                    chars.next();
                    out.push('\'');
                    continue;
                }
                return Some((out, i + 2));
            }
            out.push(c);
        }
        return None;
    }
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 2)),
            '\\' => {
                let (_, e) = chars.next()?;
                let simple = match e {
                    '0' => '\0',
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    't' => '\t',
                    'n' => '\n',
                    'v' => '\u{b}',
                    'f' => '\u{c}',
                    'r' => '\r',
                    'e' => '\u{1b}',
                    ' ' => ' ',
                    '"' => '"',
                    '/' => '/',
                    '\\' => '\\',
                    'N' => '\u{85}',
                    '_' => '\u{a0}',
                    'L' => '\u{2028}',
                    'P' => '\u{2029}',
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut v = 0u32;
                        for _ in 0..n {
                            let (_, h) = chars.next()?;
                            v = v * 16 + h.to_digit(16)?;
                        }
                        char::from_u32(v)?
                    }
                    _ => return None,
                };
                out.push(simple);
            }
            _ => out.push(c),
        }
    }
    None
}

/// A flow collection or scalar at byte `*pos` of the line; advances `*pos`.
fn flow(l: &Line<'_>, file: FileId, pos: &mut usize, depth: usize) -> Option<Node> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let text = l.text;
    skip_spaces(text, pos);
    let b = *text.as_bytes().get(*pos)?;
    match b {
        b'[' | b'{' => {
            let start = l.span(file, *pos, 1);
            let close = if b == b'[' { b']' } else { b'}' };
            *pos += 1;
            let mut items = Vec::new();
            let mut pairs = Vec::new();
            skip_spaces(text, pos);
            if text.as_bytes().get(*pos) == Some(&close) {
                *pos += 1;
            } else {
                loop {
                    if b == b'[' {
                        items.push(flow(l, file, pos, depth + 1)?);
                    } else {
                        let key = flow_scalar(l, file, pos)?;
                        skip_spaces(text, pos);
                        if text.as_bytes().get(*pos) != Some(&b':') {
                            return None;
                        }
                        *pos += 1;
                        if !matches!(text.as_bytes().get(*pos), Some(b' ')) {
                            return None;
                        }
                        let value = flow(l, file, pos, depth + 1)?;
                        pairs.push((key, value));
                    }
                    skip_spaces(text, pos);
                    match text.as_bytes().get(*pos) {
                        Some(b',') => {
                            *pos += 1;
                            skip_spaces(text, pos);
                            // A trailing comma: leave it to the full parser.
                            if matches!(text.as_bytes().get(*pos), Some(b']' | b'}')) {
                                return None;
                            }
                        }
                        Some(c) if *c == close => {
                            *pos += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            Some(Node {
                kind: if b == b'[' {
                    Kind::Seq(items)
                } else {
                    Kind::Map(pairs)
                },
                span: start,
            })
        }
        _ => flow_scalar(l, file, pos),
    }
}

fn skip_spaces(text: &str, pos: &mut usize) {
    while text.as_bytes().get(*pos) == Some(&b' ') {
        *pos += 1;
    }
}

/// A quoted or plain scalar inside a flow collection.
fn flow_scalar(l: &Line<'_>, file: FileId, pos: &mut usize) -> Option<Node> {
    let text = l.text;
    skip_spaces(text, pos);
    let rest = &text[*pos..];
    let first = *rest.as_bytes().first()?;
    if first == b'"' || first == b'\'' {
        let (value, consumed) = quoted(rest)?;
        // In flow context the full parser's span also runs over following spaces.
        let after = &rest[consumed..];
        let spaces = after.len() - after.trim_start_matches(' ').len();
        let node = Node {
            kind: Kind::Scalar(Scalar {
                text: value,
                plain: false,
            }),
            span: l.span(file, *pos, consumed + spaces),
        };
        *pos += consumed;
        return Some(node);
    }
    if special_start(first) {
        return None;
    }
    let b = rest.as_bytes();
    let mut end = 0;
    while end < b.len() {
        match b[end] {
            b',' | b'[' | b']' | b'{' | b'}' => break,
            b':' if end + 1 < b.len() && matches!(b[end + 1], b' ' | b',' | b']' | b'}') => break,
            b'#' if end > 0 && b[end - 1] == b' ' => return None,
            _ => end += 1,
        }
    }
    let value = rest[..end].trim_end_matches(' ');
    if value.is_empty() || value.ends_with(':') {
        return None;
    }
    let node = Node {
        kind: Kind::Scalar(Scalar {
            text: value.to_string(),
            plain: true,
        }),
        span: l.span(file, *pos, value.len()),
    };
    *pos += value.len();
    Some(node)
}
