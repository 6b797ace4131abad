//! Text bound for an operator's terminal.
//!
//! Producers and catalogs control much of what the CLI prints (enum values in
//! decode errors, catalog names, handler ids, file names). A control character
//! among them could retitle the window, clear the screen or rewrite earlier
//! lines, so every string from those sources goes through [`escape`] before it
//! is printed. The rules are the codegen crate's
//! ([`skillcore_events_codegen::text`]), which its diagnostic renderer applies
//! too, so `check` and `catalog!` escape alike.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL and C1, except `\n` and `\t`)
/// and the Unicode line and paragraph separators written as `\u{..}` escapes,
/// so the terminal shows them instead of obeying them.
///
/// ```text
/// assert_eq!(escape("a\u{1b}]0;x\u{7}b"), r"a\u{1b}]0;x\u{7}b");
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    skillcore_events_codegen::text::escape(text)
}

/// Like [`escape`], for text printed on a single line: newlines and tabs are
/// escaped too.
pub fn escape_line(text: &str) -> Cow<'_, str> {
    skillcore_events_codegen::text::escape_line(text)
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
