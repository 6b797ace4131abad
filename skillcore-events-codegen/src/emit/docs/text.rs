//! Text helpers of the site: HTML escaping, inline code spans, paragraphs,
//! and highlighted JSON.

use super::super::json::Json;
use std::fmt::Write as _;

/// HTML-escapes text (also safe inside double- and single-quoted attributes).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped text with `code` spans for backticks.
pub(super) fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", esc(part));
        } else {
            out.push_str(&esc(part));
        }
    }
    out
}

/// Paragraphs (split at blank lines) of inline text.
pub(super) fn prose(s: &str) -> String {
    s.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", inline(p.trim())))
        .collect()
}

/// The first sentence (or line) of a description, for cards.
pub(super) fn summary(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    line.to_string()
}

/// Pretty JSON with spans for keys, strings, numbers and literals.
pub(super) fn highlight_json(v: &Json) -> String {
    let text = v.to_json_pretty();
    let mut out = String::with_capacity(text.len() * 2);
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            let lit: String = chars[start..i.min(chars.len())].iter().collect();
            let is_key = chars[i.min(chars.len())..]
                .iter()
                .find(|c| !c.is_whitespace())
                == Some(&':');
            let cls = if is_key { "k" } else { "s" };
            let _ = write!(out, "<span class=\"{cls}\">{}</span>", esc(&lit));
            continue;
        }
        if c == '-' || c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "+-.".contains(chars[i]))
            {
                i += 1;
            }
            let lit: String = chars[start..i].iter().collect();
            let _ = write!(out, "<span class=\"n\">{}</span>", esc(&lit));
            continue;
        }
        if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            let lit: String = chars[start..i].iter().collect();
            let _ = write!(out, "<span class=\"l\">{lit}</span>");
            continue;
        }
        out.push_str(&esc(&c.to_string()));
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(inline("use `a<b` now"), "use <code>a&lt;b</code> now");
    }

    #[test]
    fn highlighting_keeps_the_text() {
        let j = Json::obj()
            .with("a", "x \"y\" <z>")
            .with(
                "n",
                Json::Num(serde_json::Number::from_f64(-1.5e3).unwrap()),
            )
            .with("b", Json::Null);
        let html = highlight_json(&j);
        assert!(
            html.contains("<span class=\"k\">&quot;a&quot;</span>"),
            "{html}"
        );
        assert!(html.contains("<span class=\"l\">null</span>"), "{html}");
    }
}
