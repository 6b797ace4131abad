//! Diagnostics: span-free errors that every stage pushes and every front end renders.
//!
//! A [`Diagnostic`] is self-contained (file name, line, column, the offending source
//! line, message, help): it does not borrow the catalog, so it can be cached, sent
//! across threads, turned into `compile_error!` by the macro, printed with colours by
//! the CLI or serialized to JSON for editors.

use crate::text::{bound_message, escape, escaped_width};
use std::fmt::{self, Write as _};

/// Most characters of a source line a rendered snippet shows; a longer line is
/// cut to a window around the column, marked `…` where text was left out.
pub const SNIPPET_CHARS: usize = 200;
/// How many characters before the column a cut snippet keeps.
pub const SNIPPET_BEFORE: usize = 60;

/// The stable identifier of a validation rule, printed as `error[RULE-ID]`.
///
/// Ids never change once published: tools and people search for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Rule {
    /// The catalog path does not exist, cannot be read, or holds no `*.yaml` file.
    CatalogIo,
    /// Unparsable YAML, tabs in indentation, alias expansion over budget, nesting too deep.
    YamlSyntax,
    /// A key the catalog format does not define.
    UnknownKey,
    /// A required key is missing.
    MissingKey,
    /// A key holds a value of the wrong shape (a list where text is expected, `version: 0`...).
    InvalidValue,
    /// An event name that is not `<context>.<aggregate>.<action>` in lowercase snake_case.
    NameFormat,
    /// An event action that is not in the past tense.
    PastTense,
    /// The same event name defined twice.
    DuplicateEvent,
    /// The same named type defined twice.
    DuplicateType,
    /// The same payload field twice, or two fields whose Rust names collide.
    DuplicateField,
    /// Two events, types or enum values that would generate the same Rust item.
    NameCollision,
    /// A field type that is neither built in nor declared under `types`.
    UnknownType,
    /// A field name that is not lowerCamelCase.
    FieldName,
    /// `aggregate_id` names a missing, optional or non-identifier field.
    AggregateId,
    /// A named type or aggregate that is not PascalCase.
    TypeName,
    /// A named struct type that contains itself without a list in between.
    RecursiveType,
    /// A declared handler id that is malformed or listed twice.
    HandlerName,
    /// An `examples:` payload that does not match the event's payload.
    BadExample,
    /// A handler refers to an event the catalog does not declare.
    UnknownEvent,
    /// A field's `default` that does not match its type.
    BadDefault,
    /// A `renamed_from` naming nothing that was ever released, or clashing with a current name.
    BadRename,
    /// A change to a released version that its compatibility mode does not allow.
    BreakingChange,
    /// A `metadata:` mapping naming a field that is missing or not a required string.
    BadMetadata,
    /// A lock file that cannot be read, is malformed, or belongs to another catalog.
    LockFile,
    /// A step of an event's upcast chain that no generated step can make has no
    /// `upcast:` function, or one is named for a version that is not released.
    MissingUpcaster,
}

impl Rule {
    /// Every rule, in documentation order.
    pub const ALL: &'static [Rule] = &[
        Rule::CatalogIo,
        Rule::YamlSyntax,
        Rule::UnknownKey,
        Rule::MissingKey,
        Rule::InvalidValue,
        Rule::NameFormat,
        Rule::PastTense,
        Rule::DuplicateEvent,
        Rule::DuplicateType,
        Rule::DuplicateField,
        Rule::NameCollision,
        Rule::UnknownType,
        Rule::FieldName,
        Rule::AggregateId,
        Rule::TypeName,
        Rule::RecursiveType,
        Rule::HandlerName,
        Rule::BadExample,
        Rule::UnknownEvent,
        Rule::BadDefault,
        Rule::BadRename,
        Rule::BadMetadata,
        Rule::BreakingChange,
        Rule::LockFile,
        Rule::MissingUpcaster,
    ];

    /// The stable id, for example `past-tense`.
    pub fn id(self) -> &'static str {
        match self {
            Rule::CatalogIo => "catalog-io",
            Rule::YamlSyntax => "yaml-syntax",
            Rule::UnknownKey => "unknown-key",
            Rule::MissingKey => "missing-key",
            Rule::InvalidValue => "invalid-value",
            Rule::NameFormat => "name-format",
            Rule::PastTense => "past-tense",
            Rule::DuplicateEvent => "duplicate-event",
            Rule::DuplicateType => "duplicate-type",
            Rule::DuplicateField => "duplicate-field",
            Rule::NameCollision => "name-collision",
            Rule::UnknownType => "unknown-type",
            Rule::FieldName => "field-name",
            Rule::AggregateId => "aggregate-id",
            Rule::TypeName => "type-name",
            Rule::RecursiveType => "recursive-type",
            Rule::HandlerName => "handler-name",
            Rule::BadExample => "bad-example",
            Rule::UnknownEvent => "unknown-event",
            Rule::BadDefault => "bad-default",
            Rule::BadRename => "bad-rename",
            Rule::BadMetadata => "bad-metadata",
            Rule::BreakingChange => "breaking-change",
            Rule::LockFile => "lock-file",
            Rule::MissingUpcaster => "missing-upcaster",
        }
    }

    /// Looks a rule up by its id.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.id() == id)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A position in a catalog file, already resolved to text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// Path of the file, relative to the base directory (the crate's manifest dir).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// Length of the offending text in characters (at least 1 for the caret).
    pub len: u32,
    /// The source line without its line break (empty when unknown), or, for a
    /// long line, a window of it around `column` (see `source_skip`).
    pub source_line: String,
    /// How many characters of the real line precede `source_line` (0 unless the
    /// line was cut to a window).
    pub source_skip: u32,
    /// `true` when the real line goes on after `source_line`.
    pub source_more: bool,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One finding about a catalog.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// The rule that was broken.
    pub rule: Rule,
    /// Where (absent only for errors about the catalog as a whole, such as a missing path).
    pub location: Option<Location>,
    /// What is wrong, lowercase, naming the offending key or value.
    pub message: String,
    /// How to fix it, when a concrete fix is known.
    pub help: Option<String>,
    /// Other places that matter (for example the first definition of a duplicate).
    pub notes: Vec<(Location, String)>,
}

impl Diagnostic {
    /// A diagnostic without a location.
    pub fn global(rule: Rule, message: impl Into<String>) -> Self {
        Diagnostic {
            rule,
            location: None,
            message: message.into(),
            help: None,
            notes: Vec::new(),
        }
    }

    /// Adds a `help:` line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a help line only when one is given.
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Adds a note pointing at another place.
    pub fn with_note(mut self, at: Location, note: impl Into<String>) -> Self {
        self.notes.push((at, note.into()));
        self
    }

    /// The first line, `FILE:LINE:COL: error[RULE]: message`.
    pub fn headline(&self) -> String {
        let message = shown(&self.message);
        match &self.location {
            Some(loc) => format!(
                "{}: error[{}]: {message}",
                shown(&loc.to_string()),
                self.rule
            ),
            None => format!("error[{}]: {message}", self.rule),
        }
    }

    /// The diagnostic with every message, help and note bounded: quoted values
    /// cut to [`crate::text::MAX_QUOTE_CHARS`] characters, each text to
    /// [`crate::text::MAX_MESSAGE_CHARS`]. The compiler applies it to every
    /// diagnostic it returns, so a 200 KB key is never copied into a message.
    pub fn bounded(mut self) -> Self {
        fn b(s: &mut String) {
            if let std::borrow::Cow::Owned(o) = bound_message(s) {
                *s = o;
            }
        }
        b(&mut self.message);
        if let Some(h) = &mut self.help {
            b(h);
        }
        for (_, n) in &mut self.notes {
            b(n);
        }
        self
    }

    /// Renders the diagnostic as plain text: headline, source line with a caret, help
    /// and notes. This exact text is what the macro puts into `compile_error!` and what
    /// the CLI prints when colours are off.
    pub fn render(&self) -> String {
        self.render_with(&Style::plain())
    }

    /// Renders with the given style (the CLI passes ANSI colours on a terminal).
    ///
    /// Every text taken from the catalog (messages, file names, the source line)
    /// is bounded and has its control characters escaped, so the result is safe
    /// to print on a terminal whatever the catalog holds.
    pub fn render_with(&self, style: &Style) -> String {
        let mut out = String::new();
        let message = shown(&self.message);
        match &self.location {
            Some(loc) => {
                let _ = write!(
                    out,
                    "{}{}{}: {}error[{}]{}: {}{message}{}",
                    style.path,
                    shown(&loc.to_string()),
                    style.reset,
                    style.error,
                    self.rule,
                    style.reset,
                    style.bold,
                    style.reset
                );
            }
            None => {
                let _ = write!(
                    out,
                    "{}error[{}]{}: {}{message}{}",
                    style.error, self.rule, style.reset, style.bold, style.reset
                );
            }
        }
        if let Some(loc) = &self.location {
            snippet(&mut out, loc, style);
        }
        if let Some(help) = &self.help {
            let help = shown(help);
            let pad = self.gutter_width();
            let _ = write!(
                out,
                "\n{:pad$} {}={} {}help{}: {help}",
                "", style.gutter, style.reset, style.help, style.reset
            );
        }
        for (at, note) in &self.notes {
            let pad = self.gutter_width();
            let _ = write!(
                out,
                "\n{:pad$} {}={} note: {}: {}{}{}",
                "",
                style.gutter,
                style.reset,
                shown(note),
                style.path,
                shown(&at.to_string()),
                style.reset
            );
        }
        out
    }

    fn gutter_width(&self) -> usize {
        self.location
            .as_ref()
            .map_or(1, |l| l.line.to_string().len())
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostic {}

/// `text` bounded and escaped for a reader.
fn shown(text: &str) -> String {
    escape(&bound_message(text)).into_owned()
}

fn snippet(out: &mut String, loc: &Location, style: &Style) {
    if loc.source_line.is_empty() && loc.line == 0 {
        return;
    }
    let num = loc.line.to_string();
    let pad = num.len();
    let w = Window::of(loc);
    let text: String = w.chars.iter().map(|&c| shown_char(c)).collect();
    let before: usize = w.chars[..w.caret].iter().map(|&c| char_width(c)).sum();
    let under: usize = w.chars[w.caret..w.caret + w.len]
        .iter()
        .map(|&c| char_width(c))
        .sum();
    let lead = if w.cut_before { "…" } else { "" };
    let tail = if w.cut_after { "…" } else { "" };
    // Padding is built by hand: `{:width$}` panics past 65,535.
    let _ = write!(
        out,
        "\n{:pad$} {}|{}\n{}{num} |{} {lead}{text}{tail}\n{:pad$} {}|{} {}{}{}{}",
        "",
        style.gutter,
        style.reset,
        style.gutter,
        style.reset,
        "",
        style.gutter,
        style.reset,
        " ".repeat(before + lead.chars().count()),
        style.error,
        "^".repeat(under.max(1)),
        style.reset,
    );
}

/// Tabs would make the caret line up wrongly: one space each. Control
/// characters are shown escaped.
fn shown_char(c: char) -> String {
    if c == '\t' {
        " ".into()
    } else {
        escape(c.encode_utf8(&mut [0; 4])).into_owned()
    }
}

fn char_width(c: char) -> usize {
    if c == '\t' {
        1
    } else {
        escaped_width(c)
    }
}

/// The part of a source line a snippet shows, and where its caret goes.
struct Window {
    chars: Vec<char>,
    /// Index in `chars` of the first character under the caret (may be
    /// `chars.len()`: the column just past the end).
    caret: usize,
    /// How many characters the caret covers (0 past the end).
    len: usize,
    cut_before: bool,
    cut_after: bool,
}

impl Window {
    fn of(loc: &Location) -> Window {
        let line: Vec<char> = loc.source_line.chars().collect();
        let col = (loc.column.saturating_sub(1) as usize).saturating_sub(loc.source_skip as usize);
        let col = col.min(line.len());
        let (start, end) = if line.len() <= SNIPPET_CHARS {
            (0, line.len())
        } else {
            let start = col
                .saturating_sub(SNIPPET_BEFORE)
                .min(line.len() - SNIPPET_CHARS);
            (start, start + SNIPPET_CHARS)
        };
        let caret = col - start;
        let len = (loc.len.max(1) as usize).min(end.saturating_sub(col));
        Window {
            chars: line[start..end].to_vec(),
            caret,
            len,
            cut_before: start > 0 || loc.source_skip > 0,
            cut_after: end < line.len() || loc.source_more,
        }
    }
}

/// Cuts a long source line to the window a snippet at `column` (1-based, in
/// characters) can show, so a diagnostic never holds a 10 MB line. Returns the
/// kept text, how many characters precede it, and whether more follow.
pub fn source_window(line: &str, column: u32) -> (String, u32, bool) {
    // Keep a window wider than the snippet's, so a renderer with other limits
    // still has context; the exact count does not matter.
    let keep = 2 * SNIPPET_CHARS;
    if line.len() <= keep {
        return (line.to_string(), 0, false);
    }
    let total = line.chars().count();
    if total <= keep {
        return (line.to_string(), 0, false);
    }
    let col = (column.saturating_sub(1) as usize).min(total);
    let start = col.saturating_sub(2 * SNIPPET_BEFORE).min(total - keep);
    let text: String = line.chars().skip(start).take(keep).collect();
    (text, start as u32, start + keep < total)
}

/// Escape sequences used by [`Diagnostic::render_with`]; empty strings for plain text.
#[derive(Clone, Debug, Default)]
pub struct Style {
    /// Before the `error[...]` label.
    pub error: &'static str,
    /// Before the message.
    pub bold: &'static str,
    /// Before `help`.
    pub help: &'static str,
    /// Before the `|` and `=` gutter.
    pub gutter: &'static str,
    /// Before a `file:line:col`.
    pub path: &'static str,
    /// Resets the style.
    pub reset: &'static str,
}

impl Style {
    /// No escape sequences at all.
    pub fn plain() -> Self {
        Style::default()
    }

    /// ANSI colours, as rustc uses them.
    pub fn ansi() -> Self {
        Style {
            error: "\x1b[1;31m",
            bold: "\x1b[1m",
            help: "\x1b[1;36m",
            gutter: "\x1b[1;34m",
            path: "\x1b[1m",
            reset: "\x1b[0m",
        }
    }
}

/// Sorts diagnostics into a stable order: by file, line, column, then rule.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            d.location
                .as_ref()
                .map(|l| (l.file.clone(), l.line, l.column))
        };
        key(a)
            .cmp(&key(b))
            .then(a.rule.cmp(&b.rule))
            .then(a.message.cmp(&b.message))
    });
}

/// Renders a list of diagnostics separated by blank lines, with a summary line.
pub fn render_all(diags: &[Diagnostic], style: &Style) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.render_with(style));
        out.push_str("\n\n");
    }
    let n = diags.len();
    let _ = write!(
        out,
        "{}error{}: the catalog has {n} error{}",
        style.error,
        style.reset,
        if n == 1 { "" } else { "s" }
    );
    out
}

#[cfg(test)]
mod tests;
