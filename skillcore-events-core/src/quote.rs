//! Quoting producer text in messages: a bounded prefix, control characters
//! escaped, so an error or a log line is never huge and never drives the
//! operator's terminal.

use std::fmt::Write as _;

/// At most this many characters of a value are quoted.
pub(crate) const QUOTE_CHARS: usize = 64;

/// `text` with control characters (and `\`) escaped, cut after `max` characters
/// with `…` and the full length in bytes.
pub(crate) fn bounded(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 2) + 24);
    let mut chars = text.chars();
    for c in chars.by_ref().take(max) {
        push_escaped(&mut out, c);
    }
    if chars.next().is_some() {
        let _ = write!(out, "… ({} bytes)", text.len());
    }
    out
}

/// [`bounded`] at the default length.
pub(crate) fn short(text: &str) -> String {
    bounded(text, QUOTE_CHARS)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() || is_bidi_control(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Characters that reorder the text shown around them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_with_its_length() {
        let s = "x".repeat(20_000_000);
        let q = short(&s);
        assert_eq!(q, format!("{}… (20000000 bytes)", "x".repeat(64)));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            short("\u{1b}]0;PWNED\u{7}\n\\"),
            "\\u{1b}]0;PWNED\\u{7}\\n\\\\"
        );
        assert_eq!(short("a\u{202e}b"), "a\\u{202e}b");
    }
}
