//! Bounds on text the store keeps: a handler's error can be as long as what
//! it quotes (a 20 MB value in a message), and the stored `last_error` is read
//! back into dead-letter listings, logs and terminals.

use std::borrow::Cow;

/// The most bytes of an error the store keeps as a delivery's `last_error`.
pub const MAX_ERROR_BYTES: usize = 4096;

/// `error`, cut to at most [`MAX_ERROR_BYTES`] (at a character boundary) with
/// a note of how long it was; shorter text is kept as it is.
pub(crate) fn error_text(error: &str) -> Cow<'_, str> {
    if error.len() <= MAX_ERROR_BYTES {
        return Cow::Borrowed(error);
    }
    let note = format!(" … (error cut: {} bytes in all)", error.len());
    let mut end = MAX_ERROR_BYTES.saturating_sub(note.len());
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{note}", &error[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_cut_at_a_char_boundary_with_their_length() {
        assert_eq!(error_text("short"), "short");
        let long = "é".repeat(10_000);
        let cut = error_text(&long);
        assert!(cut.len() <= MAX_ERROR_BYTES, "{}", cut.len());
        assert!(cut.ends_with(" … (error cut: 20000 bytes in all)"), "{cut}");
        assert!(cut.starts_with("éé"));
    }
}
