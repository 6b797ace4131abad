//! Naming: the case rules of the catalog, their conversion to Rust identifiers,
//! the past-tense check and "did you mean" suggestions.

// The predicates below loop over bytes by hand: the compiler runs inside rustc at
// opt-level 0 by default, where iterator adapters cost many times more.

/// `true` for a lowercase snake_case segment: `grade`, `grade_item`, `sis2`.
pub fn is_snake_segment(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_lowercase() || b[b.len() - 1] == b'_' {
        return false;
    }
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'a'..=b'z' | b'0'..=b'9' => {}
            b'_' if b[i - 1] != b'_' => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

/// `true` for lowerCamelCase: `studentId`, `districtID`, `score2`.
pub fn is_lower_camel(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b[0].is_ascii_lowercase() && all_alnum(&b[1..])
}

/// `true` for PascalCase: `Result`, `LetterGrade`, `IepGoal2`.
pub fn is_pascal(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b[0].is_ascii_uppercase() && all_alnum(&b[1..])
}

fn all_alnum(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphanumeric() {
            return false;
        }
        i += 1;
    }
    true
}

/// Splits an identifier-ish string into lowercase ASCII words, at underscores,
/// dashes, spaces, dots, any non-ASCII character and case changes:
/// `districtID` -> `district id`, `IEPGoal` -> `iep goal`. Only ASCII survives, so
/// the words always make valid Rust identifiers.
pub fn words(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `lineItemId` -> `line_item_id`, `districtID` -> `district_id`.
pub fn to_snake(s: &str) -> String {
    // Fast path: already lowercase letters and digits.
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i].is_ascii_lowercase() || b[i].is_ascii_digit()) {
        i += 1;
    }
    if i == b.len() && !b.is_empty() && b[0].is_ascii_lowercase() {
        return s.to_string();
    }
    // The same word boundaries as `words`, written straight into one string.
    let mut out = String::with_capacity(s.len() + 4);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !c.is_ascii_alphanumeric() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            i += 1;
            continue;
        }
        if c.is_ascii_uppercase() && i > 0 && !out.is_empty() && !out.ends_with('_') {
            let prev = b[i - 1];
            let next_lower = i + 1 < b.len() && b[i + 1].is_ascii_lowercase();
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase() as char);
        i += 1;
    }
    if out.ends_with('_') {
        out.pop();
    }
    out
}

/// `grade_item` -> `GradeItem`, `in_app` -> `InApp`, `A` -> `A`.
pub fn to_pascal(s: &str) -> String {
    words(s)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// `gradebook.grade.posted` -> `GRADEBOOK_GRADE_POSTED`.
pub fn to_screaming(s: &str) -> String {
    words(s).join("_").to_uppercase()
}

/// `lineItemId` -> `lineItemId` is already camel; `line_item_id` -> `lineItemId`.
pub fn to_lower_camel(s: &str) -> String {
    let p = to_pascal(s);
    let mut c = p.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => p,
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "async"
            | "await"
            | "break"
            | "const"
            | "continue"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "gen"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "static"
            | "struct"
            | "trait"
            | "true"
            | "try"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
    )
}

/// Keywords that cannot even be raw identifiers.
const UNRAWABLE: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Makes `s` (already a syntactically plausible identifier) safe as a Rust
/// identifier: keywords become raw identifiers (`type` -> `r#type`), and the few
/// that cannot be raw get a trailing underscore (`self` -> `self_`). A leading
/// digit gets a prefix (`1st` -> `_1st`).
pub fn rust_ident(s: &str) -> String {
    if UNRAWABLE.contains(&s) {
        format!("{s}_")
    } else if is_keyword(s) {
        format!("r#{s}")
    } else if s.starts_with(|c: char| c.is_ascii_digit()) || s.is_empty() {
        format!("_{s}")
    } else {
        s.to_string()
    }
}

/// The Rust variant name for an enum value: `in_app` -> `InApp`, `A` -> `A`,
/// `1st` -> `V1st`, `Self` -> `Self_`.
pub fn variant_ident(value: &str) -> String {
    let p = to_pascal(value);
    if p.is_empty() || p.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{p}")
    } else {
        rust_ident(&p)
    }
}

/// Participles that do not end in `ed`.
const IRREGULAR: &[&str] = &[
    "arisen",
    "awoken",
    "been",
    "beaten",
    "become",
    "begun",
    "bent",
    "bet",
    "bid",
    "bitten",
    "blown",
    "bound",
    "broadcast",
    "broken",
    "brought",
    "built",
    "bought",
    "cast",
    "caught",
    "chosen",
    "come",
    "cost",
    "crept",
    "cut",
    "dealt",
    "done",
    "drawn",
    "driven",
    "dug",
    "eaten",
    "fallen",
    "fed",
    "felt",
    "fled",
    "flown",
    "forbidden",
    "forecast",
    "forgiven",
    "forgotten",
    "found",
    "frozen",
    "given",
    "gone",
    "gotten",
    "got",
    "grown",
    "held",
    "heard",
    "hidden",
    "hit",
    "hung",
    "hurt",
    "kept",
    "known",
    "laid",
    "led",
    "left",
    "lent",
    "let",
    "lit",
    "lost",
    "made",
    "meant",
    "met",
    "mistaken",
    "overcome",
    "overdone",
    "overridden",
    "overrun",
    "overseen",
    "overtaken",
    "overthrown",
    "paid",
    "proven",
    "put",
    "quit",
    "read",
    "rebuilt",
    "redone",
    "remade",
    "rerun",
    "reset",
    "resent",
    "retaken",
    "rewritten",
    "rewound",
    "ridden",
    "risen",
    "run",
    "rung",
    "said",
    "seen",
    "sent",
    "set",
    "shaken",
    "shed",
    "shown",
    "shut",
    "slept",
    "sold",
    "sought",
    "spent",
    "split",
    "spoken",
    "spread",
    "stolen",
    "stood",
    "struck",
    "stuck",
    "sung",
    "sunk",
    "swept",
    "sworn",
    "taken",
    "taught",
    "thought",
    "thrown",
    "told",
    "torn",
    "undergone",
    "understood",
    "undone",
    "unset",
    "upheld",
    "upset",
    "withdrawn",
    "withheld",
    "woken",
    "won",
    "worn",
    "wound",
    "written",
];

/// Base forms with an irregular participle, or whose `ed` form doubles a consonant.
const BASE_TO_PARTICIPLE: &[(&str, &str)] = &[
    ("admit", "admitted"),
    ("begin", "begun"),
    ("break", "broken"),
    ("bring", "brought"),
    ("build", "built"),
    ("buy", "bought"),
    ("cancel", "cancelled"),
    ("choose", "chosen"),
    ("commit", "committed"),
    ("cut", "cut"),
    ("deal", "dealt"),
    ("do", "done"),
    ("draw", "drawn"),
    ("drop", "dropped"),
    ("find", "found"),
    ("flag", "flagged"),
    ("forget", "forgotten"),
    ("get", "got"),
    ("give", "given"),
    ("go", "gone"),
    ("hold", "held"),
    ("keep", "kept"),
    ("know", "known"),
    ("lead", "led"),
    ("leave", "left"),
    ("lose", "lost"),
    ("make", "made"),
    ("meet", "met"),
    ("omit", "omitted"),
    ("pay", "paid"),
    ("permit", "permitted"),
    ("plan", "planned"),
    ("put", "put"),
    ("read", "read"),
    ("rerun", "rerun"),
    ("reset", "reset"),
    ("resubmit", "resubmitted"),
    ("rewrite", "rewritten"),
    ("run", "run"),
    ("say", "said"),
    ("see", "seen"),
    ("sell", "sold"),
    ("send", "sent"),
    ("set", "set"),
    ("show", "shown"),
    ("shut", "shut"),
    ("speak", "spoken"),
    ("spend", "spent"),
    ("split", "split"),
    ("stop", "stopped"),
    ("submit", "submitted"),
    ("take", "taken"),
    ("teach", "taught"),
    ("tell", "told"),
    ("think", "thought"),
    ("throw", "thrown"),
    ("transfer", "transferred"),
    ("undo", "undone"),
    ("uphold", "upheld"),
    ("win", "won"),
    ("withdraw", "withdrawn"),
    ("withhold", "withheld"),
    ("write", "written"),
];

/// `true` when `word` reads as a past participle: it ends in `ed`, is a known
/// irregular participle, or is listed in the catalog's `naming.past_tense`.
pub fn is_past_tense(word: &str, extra: &[String]) -> bool {
    word.ends_with("ed") || IRREGULAR.contains(&word) || extra.iter().any(|e| e == word)
}

/// The past participle of a base form, by the usual spelling rules with a table
/// of exceptions: `post` -> `posted`, `update` -> `updated`, `apply` -> `applied`,
/// `send` -> `sent`, `submit` -> `submitted`.
pub fn past_participle(base: &str) -> String {
    if let Some((_, p)) = BASE_TO_PARTICIPLE.iter().find(|(b, _)| *b == base) {
        return (*p).to_string();
    }
    let vowel = |c: char| "aeiou".contains(c);
    let chars: Vec<char> = base.chars().collect();
    match chars.as_slice() {
        [.., 'e'] => format!("{base}d"),
        [.., c, 'y'] if !vowel(*c) => format!("{}ied", &base[..base.len() - 1]),
        // One-syllable consonant-vowel-consonant words double the last letter: plan -> planned.
        [a, b, c] if !vowel(*a) && vowel(*b) && !vowel(*c) && !"wxy".contains(*c) => {
            format!("{base}{c}ed")
        }
        _ => format!("{base}ed"),
    }
}

/// Suggests the past-tense form of a snake_case action by changing its last word:
/// `post` -> `posted`, `score_update` -> `score_updated`, `posting` -> `posted`.
pub fn past_tense_action(action: &str) -> String {
    let mut parts: Vec<&str> = action.split('_').collect();
    let last = parts.pop().unwrap_or("");
    let base = last
        .strip_suffix("ing")
        .filter(|b| b.len() >= 3)
        .map(|b| {
            // "posting" -> "post", "updating" -> "updat" -> "update", "planning" -> "plan"
            let ch: Vec<char> = b.chars().collect();
            match ch.as_slice() {
                [.., x, y] if x == y && !"aeiouls".contains(*x) => b[..b.len() - 1].to_string(),
                [.., x, y] if !"aeiou".contains(*y) && "aeiou".contains(*x) && b.len() > 3 => {
                    format!("{b}e")
                }
                _ => b.to_string(),
            }
        })
        .or_else(|| {
            last.strip_suffix('s')
                .filter(|b| b.len() >= 3 && !b.ends_with('s'))
                .map(str::to_string)
        })
        .unwrap_or_else(|| last.to_string());
    let participle = past_participle(&base);
    parts.push(&participle);
    parts.join("_")
}

/// The closest of `candidates` to `word`, if one is close enough to be a typo.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    // Hostile catalogs ask for suggestions among tens of thousands of names, tens
    // of thousands of times: skip candidates whose length alone rules them out,
    // and give up after a bounded number of distance computations.
    const MAX_COMPARISONS: usize = 200;
    let lower = word.to_lowercase();
    let word_len = lower.chars().count();
    let mut best: Option<(usize, &'a str)> = None;
    let mut compared = 0;
    for cand in candidates {
        if cand == word {
            continue;
        }
        let cand_len = cand.chars().count();
        let limit = (word_len.max(cand_len) / 3).max(1);
        if word_len.abs_diff(cand_len) > limit {
            continue; // the edit distance is at least the difference in length
        }
        if compared == MAX_COMPARISONS {
            break;
        }
        compared += 1;
        let cand_lower = cand.to_lowercase();
        let d = if cand_lower == lower {
            0
        } else {
            strsim::osa_distance(&lower, &cand_lower)
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests;
