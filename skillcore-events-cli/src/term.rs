//! Text bound for an operator's terminal.
//!
//! Producers and catalogs control much of what the CLI prints (enum values in
//! decode errors, catalog names, handler ids). A control character among them
//! could retitle the window, clear the screen or rewrite earlier lines, so every
//! string from those sources goes through [`escape`] before it is printed.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL and C1, except `\n` and `\t`)
/// and the Unicode line and paragraph separators written as `\u{..}` escapes,
/// so the terminal shows them instead of obeying them.
///
/// ```text
/// assert_eq!(escape("a\u{1b}]0;x\u{7}b"), r"a\u{1b}]0;x\u{7}b");
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`escape`], for text printed on a single line: newlines and tabs are
/// escaped too.
pub fn escape_line(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| needs_escape(c) || c == '\n' || c == '\t')
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{2028}' || c == '\u{2029}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_sequences() {
        let hostile = "x\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}y";
        let shown = escape(hostile);
        assert_eq!(shown, r"x\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}y");
        assert!(!shown.chars().any(|c| c.is_control()));
    }

    #[test]
    fn leaves_plain_text_and_newlines_alone() {
        assert!(matches!(escape("plain é\ntext\t1"), Cow::Borrowed(_)));
        assert_eq!(escape_line("a\nb\tc\u{0}"), r"a\nb\tc\u{0}");
    }
}
