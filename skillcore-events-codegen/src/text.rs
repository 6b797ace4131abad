//! Text that leaves the compiler for a person: control characters escaped, long
//! quotes bounded.
//!
//! A catalog is input like any other: a double-quoted YAML scalar can hold an
//! ESC (`"\e]0;x\a"`), and a minified or generated file can have a 10 MB line.
//! Diagnostics quote both, and they end up on a terminal (the CLI), in rustc's
//! output (the macro) and in editors (JSON). These helpers keep such text
//! harmless and short.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Longest quoted value (between backticks) kept whole in a message, in characters.
pub const MAX_QUOTE_CHARS: usize = 80;
/// Longest message, help or note text kept whole, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1_000;

/// `text` with every control character (C0, DEL and C1, except `\n` and `\t`)
/// and the Unicode line and paragraph separators written as `\u{..}` escapes,
/// so a terminal shows them instead of obeying them.
///
/// ```
/// use skillcore_events_codegen::text::escape;
/// assert_eq!(escape("a\u{1b}]0;x\u{7}b"), r"a\u{1b}]0;x\u{7}b");
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_with(text, false)
}

/// Like [`escape`], for text shown on a single line: newlines and tabs are
/// escaped too (`\n`, `\t`).
pub fn escape_line(text: &str) -> Cow<'_, str> {
    escape_with(text, true)
}

fn escape_with(text: &str, line: bool) -> Cow<'_, str> {
    let bad = |c: char| needs_escape(c) || (line && (c == '\n' || c == '\t'));
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' if line => out.push_str("\\n"),
            '\t' if line => out.push_str("\\t"),
            c if needs_escape(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `true` for the characters [`escape`] rewrites.
pub fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{2028}' || c == '\u{2029}'
}

/// Appends `c` as `\u{..}`.
pub fn push_escaped(out: &mut String, c: char) {
    let _ = write!(out, "\\u{{{:x}}}", c as u32);
}

/// How many characters `c` takes once escaped by [`escape`] (1 for most).
pub fn escaped_width(c: char) -> usize {
    if needs_escape(c) {
        // `\u{` + hex digits + `}`
        4 + format!("{:x}", c as u32).len()
    } else {
        1
    }
}

/// `text` cut to at most `max` characters, the last of them `…` when
/// something was left out (so clipping again changes nothing).
///
/// ```
/// use skillcore_events_codegen::text::clip;
/// assert_eq!(clip("abcdef", 4), "abc…");
/// assert_eq!(clip("abcd", 4), "abcd");
/// ```
pub fn clip(text: &str, max: usize) -> Cow<'_, str> {
    if text.chars().nth(max).is_none() {
        return Cow::Borrowed(text);
    }
    let keep = max.saturating_sub(1);
    let cut = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    Cow::Owned(format!("{}…", &text[..cut]))
}

/// A message with every backtick-quoted value longer than
/// [`MAX_QUOTE_CHARS`] clipped, and the whole cut to [`MAX_MESSAGE_CHARS`].
/// Idempotent: a bounded message is returned unchanged.
pub fn bound_message(msg: &str) -> Cow<'_, str> {
    let quotes_ok = msg
        .split('`')
        .enumerate()
        .all(|(i, part)| i % 2 == 0 || part.chars().nth(MAX_QUOTE_CHARS).is_none());
    let quoted: Cow<'_, str> = if quotes_ok {
        Cow::Borrowed(msg)
    } else {
        let mut out = String::with_capacity(MAX_MESSAGE_CHARS);
        for (i, part) in msg.split('`').enumerate() {
            if i > 0 {
                out.push('`');
            }
            if i % 2 == 1 {
                out.push_str(&clip(part, MAX_QUOTE_CHARS));
            } else {
                out.push_str(part);
            }
        }
        Cow::Owned(out)
    };
    match clip(&quoted, MAX_MESSAGE_CHARS) {
        Cow::Borrowed(_) => quoted,
        Cow::Owned(s) => Cow::Owned(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_sequences() {
        let hostile = "x\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}y\u{2028}";
        let shown = escape(hostile);
        assert_eq!(shown, r"x\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}y\u{2028}");
        assert!(!shown.chars().any(needs_escape));
        assert!(matches!(escape("plain é\ntext\t1"), Cow::Borrowed(_)));
        assert_eq!(escape_line("a\nb\tc\u{0}"), r"a\nb\tc\u{0}");
    }

    #[test]
    fn escaped_width_matches_escape() {
        for c in ['a', 'é', '\u{0}', '\u{1b}', '\u{7f}', '\u{9b}', '\u{2028}'] {
            let s = c.to_string();
            assert_eq!(escape(&s).chars().count(), escaped_width(c), "{c:?}");
        }
    }

    #[test]
    fn clips_long_quotes_and_long_messages() {
        let long = "k".repeat(200_000);
        let msg = format!("unknown key `{long}` in `events`");
        let b = bound_message(&msg);
        assert_eq!(b, format!("unknown key `{}…` in `events`", "k".repeat(79)));
        assert_eq!(bound_message(&b), b, "idempotent");
        let plain = "x".repeat(5_000);
        let b = bound_message(&plain);
        assert_eq!(b, format!("{}…", "x".repeat(999)));
        assert!(matches!(bound_message("short `k`"), Cow::Borrowed(_)));
    }
}
