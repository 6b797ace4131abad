//! Text formats of the built-in types (`uuid`, `date`, `datetime`), checked without
//! pulling date or uuid crates into the compiler.

/// `true` for the hyphenated form `8-4-4-4-12` of hexadecimal digits.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// `true` for a calendar date `YYYY-MM-DD` that exists.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if !s.is_ascii() || b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    match (digits(&s[0..4]), digits(&s[5..7]), digits(&s[8..10])) {
        (Some(y), Some(m), Some(d)) => (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m),
        _ => false,
    }
}

/// `true` for an RFC 3339 date-time: `2025-11-17T14:03:00Z`,
/// `2025-11-17T14:03:00.250+01:00` (a `t`/`z` or a space separator is accepted too,
/// as RFC 3339 allows).
pub fn is_datetime(s: &str) -> bool {
    // Everything below slices by byte position, which is only safe on ASCII.
    if !s.is_ascii() || s.len() < 20 || !is_date(&s[..10]) {
        return false;
    }
    let rest = &s[10..];
    let Some(rest) = rest
        .strip_prefix('T')
        .or_else(|| rest.strip_prefix('t'))
        .or_else(|| rest.strip_prefix(' '))
    else {
        return false;
    };
    // hh:mm:ss
    if rest.len() < 9 {
        return false;
    }
    let time = &rest[..8];
    let tb = time.as_bytes();
    if tb[2] != b':' || tb[5] != b':' {
        return false;
    }
    match (
        digits(&time[0..2]),
        digits(&time[3..5]),
        digits(&time[6..8]),
    ) {
        (Some(h), Some(m), Some(sec)) if h < 24 && m < 60 && sec <= 60 => {}
        _ => return false,
    }
    let mut rest = &rest[8..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest {
        "Z" | "z" => true,
        _ => {
            let b = rest.as_bytes();
            b.len() == 6
                && (b[0] == b'+' || b[0] == b'-')
                && b[3] == b':'
                && matches!(digits(&rest[1..3]), Some(h) if h < 24)
                && matches!(digits(&rest[4..6]), Some(m) if m < 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        assert!(is_uuid("0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90"));
        assert!(!is_uuid("0b9c6f4e3f1a4c1e9a556d2f1e7b8c90"));
        assert!(!is_uuid("0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c9g"));
    }

    #[test]
    fn dates() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2025-02-29"));
        assert!(!is_date("2025-13-01"));
        assert!(!is_date("2025-1-01"));
    }

    #[test]
    fn datetimes() {
        assert!(is_datetime("2025-11-17T14:03:00Z"));
        assert!(is_datetime("2025-11-17T14:03:00.123456+01:00"));
        assert!(is_datetime("2025-11-17 14:03:00-05:30"));
        assert!(!is_datetime("2025-11-17T14:03:00"));
        assert!(!is_datetime("2025-11-17T25:03:00Z"));
        assert!(!is_datetime("2025-11-17"));
        assert!(!is_datetime("2025-11-17T14:03:00.Z"));
        assert!(!is_datetime("2025-11-17T14:03:00é"));
    }
}
