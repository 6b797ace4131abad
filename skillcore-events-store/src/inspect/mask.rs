//! The masked form of an error text that groups dead letters: the parts that
//! differ from one failure to the next (ids, numbers, quoted values) are
//! replaced by placeholders, so "student 41 not found" and "student 7 not
//! found" read the same.

/// `error` with UUIDs as `<uuid>`, runs of hex digits of 8 or more that hold
/// a digit as `<hex>`, other numbers (with their decimals) as `<n>` and
/// quoted text (`'…'`, `"…"`, `` `…` ``) as `<str>`. Words that merely
/// contain digits (`utf8`, `v2`) keep them: only numbers standing alone are
/// masked. Whitespace runs become one space.
///
/// ```
/// use skillcore_events_store::mask_error;
/// assert_eq!(
///     mask_error("student 41 not found (req 0195f1d2-7a4b-7cde-8f00-112233445566)"),
///     "student <n> not found (req <uuid>)"
/// );
/// assert_eq!(mask_error("timeout after 2.5s"), "timeout after <n>s");
/// assert_eq!(mask_error("no school 'Ann Smith'"), "no school <str>");
/// assert_eq!(mask_error("utf8 error at byte 12"), "utf8 error at byte <n>");
/// ```
pub fn mask_error(error: &str) -> String {
    let chars: Vec<char> = error.chars().collect();
    let mut out = String::with_capacity(error.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let word_before = i > 0 && is_word(chars[i - 1]);
        if let Some(end) = uuid_at(&chars, i).filter(|_| !word_before) {
            out.push_str("<uuid>");
            i = end;
        } else if let Some(end) = hex_at(&chars, i).filter(|_| !word_before) {
            out.push_str("<hex>");
            i = end;
        } else if c.is_ascii_digit() && !word_before {
            let mut end = i;
            while end < chars.len() && chars[end].is_ascii_digit() {
                end += 1;
            }
            if end + 1 < chars.len() && chars[end] == '.' && chars[end + 1].is_ascii_digit() {
                end += 1;
                while end < chars.len() && chars[end].is_ascii_digit() {
                    end += 1;
                }
            }
            out.push_str("<n>");
            i = end;
        } else if matches!(c, '\'' | '"' | '`') {
            match chars[i + 1..].iter().position(|&q| q == c) {
                Some(len) => {
                    out.push_str("<str>");
                    i += len + 2;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else if c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out.trim().to_string()
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The end of a UUID (8-4-4-4-12 hex digits) starting at `i`, if one does
/// and no word character follows it.
fn uuid_at(chars: &[char], i: usize) -> Option<usize> {
    let mut p = i;
    for (n, len) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if n > 0 {
            if chars.get(p) != Some(&'-') {
                return None;
            }
            p += 1;
        }
        for _ in 0..len {
            if !chars.get(p)?.is_ascii_hexdigit() {
                return None;
            }
            p += 1;
        }
    }
    (!chars.get(p).is_some_and(|&c| is_word(c))).then_some(p)
}

/// The end of a run of at least 8 hex digits with a digit among them starting
/// at `i`, standing alone.
fn hex_at(chars: &[char], i: usize) -> Option<usize> {
    let mut p = i;
    let mut digit = false;
    while p < chars.len() && chars[p].is_ascii_hexdigit() {
        digit |= chars[p].is_ascii_digit();
        p += 1;
    }
    let alone = !chars.get(p).is_some_and(|&c| is_word(c));
    (p - i >= 8 && digit && alone).then_some(p)
}

/// The group key of a handler's masked error: FNV-1a (64 bits) of both, as 16
/// hex digits. Fixed here, so keys stay the same across processes, builds and
/// backends.
pub(crate) fn group_key(handler: &str, masked: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in handler.bytes().chain([0]).chain(masked.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_numbers_and_quotes_are_masked_words_are_kept() {
        assert_eq!(
            mask_error("deadline 3000ms exceeded for job deadbeef12"),
            "deadline <n>ms exceeded for job <hex>"
        );
        // A hex-looking word without a digit is a word.
        assert_eq!(mask_error("facade failed"), "facade failed");
        assert_eq!(mask_error("x2 at  line\n7"), "x2 at line <n>");
        assert_eq!(mask_error("unclosed 'quote"), "unclosed 'quote");
        assert_eq!(mask_error("a \"b c\" d `e`"), "a <str> d <str>");
        assert_eq!(mask_error("-12 and 1.5.3"), "-<n> and <n>.<n>");
    }

    #[test]
    fn the_same_masked_text_gives_the_same_key_another_handler_another() {
        let a = mask_error("student 41 not found");
        let b = mask_error("student 7 not found");
        assert_eq!(a, b);
        assert_eq!(group_key("h.one", &a), group_key("h.one", &b));
        assert_ne!(group_key("h.one", &a), group_key("h.two", &a));
        assert_eq!(group_key("h.one", &a).len(), 16);
    }
}
