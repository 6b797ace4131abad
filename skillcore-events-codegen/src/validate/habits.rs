//! Type spellings from other languages (TypeScript above all: the catalog
//! began as TypeScript interfaces) and the catalog type they mean, for the
//! `unknown-type` help: `Date` -> `datetime`, `integer` -> `int`,
//! `Array<number>` -> `number[]`, `string | null` -> `string?`.

use crate::model::BaseType;

/// The built-in a foreign spelling of a base type means.
fn builtin_for(word: &str) -> Option<&'static str> {
    Some(match word {
        // TypeScript's `Date` holds an instant: the original's `Date` fields
        // are timestamps.
        "Date" | "DateTime" | "Datetime" | "Timestamp" | "timestamp" | "Instant"
        | "OffsetDateTime" | "ZonedDateTime" | "timestamptz" => "datetime",
        "LocalDate" | "NaiveDate" => "date",
        "integer" | "Integer" | "Int" | "INT" | "long" | "Long" | "short" | "bigint" | "BigInt"
        | "int32" | "int64" | "i32" | "i64" | "u32" | "u64" | "usize" => "int",
        "float" | "Float" | "double" | "Double" | "decimal" | "Decimal" | "Number" | "float64"
        | "f32" | "f64" => "number",
        "boolean" | "Boolean" | "Bool" | "BOOL" => "bool",
        "String" | "str" | "text" | "Text" | "varchar" => "string",
        "UUID" | "Uuid" | "guid" | "GUID" | "Guid" => "uuid",
        "object" | "Object" | "any" | "unknown" | "JSON" | "Json" | "Value" => "json",
        _ => return None,
    })
}

/// A type read from a foreign spelling: base, list depth, optional.
type Parsed = (String, u8, bool);

/// The catalog spelling of `text` when it is a type written another
/// language's way (`Date[]`, `Array<integer>`, `boolean | null`,
/// `Option<String>`), or `None` when it is no such thing or already the
/// catalog's spelling. `known` says which names are declared types.
pub(super) fn catalog_spelling(text: &str, known: &dyn Fn(&str) -> bool) -> Option<String> {
    let (base, depth, optional) = parse(text.trim(), known, 0)?;
    if depth > 4 {
        return None;
    }
    let mut out = base;
    for _ in 0..depth {
        out.push_str("[]");
    }
    if optional {
        out.push('?');
    }
    (out != text.trim()).then_some(out)
}

/// The name to stub for an unknown type written as a bare PascalCase name
/// (`AttendanceStatus`, `AttendanceStatus[]?`): one the author meant to
/// declare under `types:`. Not a foreign spelling of a built-in (`String`,
/// `Date`: a stub would shadow the real type) nor a name of Rust's prelude.
pub(super) fn stub_name(text: &str) -> Option<String> {
    let mut base = text.trim().trim_end_matches('?').trim_end();
    while let Some(b) = base.strip_suffix("[]") {
        base = b.trim_end();
    }
    const PRELUDE: &[&str] = &[
        "Option", "Some", "None", "Result", "Ok", "Err", "Vec", "Box", "String", "ToString",
        "Self", "AnyEvent", "Copy", "Clone", "Send", "Sync", "Sized", "Default", "Drop", "Fn",
        "FnMut", "FnOnce", "Iterator", "Into", "From",
    ];
    let ok = crate::naming::is_pascal(base)
        && builtin_for(base).is_none()
        && !PRELUDE.contains(&base)
        && !base.starts_with("__");
    ok.then(|| base.to_string())
}

/// A note after the suggestion, when the habit has a trap in it.
pub(super) fn why(text: &str) -> &'static str {
    let word: String = text
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let inner = text.contains("<Date>") || text.contains("<Date ") || text.contains("<Date|");
    if word == "Date" || inner {
        " (a TypeScript `Date` is a timestamp: `datetime`; the catalog's `date` is a calendar day, `YYYY-MM-DD`)"
    } else {
        ""
    }
}

fn parse(t: &str, known: &dyn Fn(&str) -> bool, nesting: u8) -> Option<Parsed> {
    if nesting > 8 || t.is_empty() {
        return None;
    }
    // `T | null`, `T | undefined`: optional.
    if t.contains('|') {
        let parts: Vec<&str> = t.split('|').map(str::trim).collect();
        let kept: Vec<&str> = parts
            .iter()
            .copied()
            .filter(|p| *p != "null" && *p != "undefined")
            .collect();
        if kept.len() != 1 || kept.len() == parts.len() {
            return None;
        }
        let (b, d, _) = parse(kept[0], known, nesting + 1)?;
        return Some((b, d, true));
    }
    if let Some(r) = t.strip_suffix('?') {
        let (b, d, o) = parse(r.trim_end(), known, nesting + 1)?;
        return (!o).then_some((b, d, true));
    }
    if let Some(r) = t.strip_suffix("[]") {
        let (b, d, o) = parse(r.trim_end(), known, nesting + 1)?;
        return (!o).then_some((b, d.checked_add(1)?, false));
    }
    if let Some((outer, inner)) = t.strip_suffix('>').and_then(|r| r.split_once('<')) {
        let outer = outer.trim();
        return match outer {
            "Array" | "ReadonlyArray" | "List" | "Vec" | "Set" | "HashSet" | "Iterable" => {
                let (b, d, o) = parse(inner.trim(), known, nesting + 1)?;
                (!o).then_some((b, d.checked_add(1)?, false))
            }
            "Option" | "Optional" | "Maybe" | "Nullable" => {
                let (b, d, o) = parse(inner.trim(), known, nesting + 1)?;
                (!o).then_some((b, d, true))
            }
            "Record" | "Map" | "HashMap" | "BTreeMap" | "Dictionary" | "Partial" => {
                Some(("json".into(), 0, false))
            }
            _ => None,
        };
    }
    if !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    if BaseType::builtin(t).is_some() || known(t) {
        return Some((t.to_string(), 0, false));
    }
    builtin_for(t).map(|b| (b.to_string(), 0, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(t: &str) -> Option<String> {
        catalog_spelling(t, &|n| n == "LetterGrade")
    }

    #[test]
    fn typescript_spellings_become_catalog_types() {
        for (written, meant) in [
            ("Date", "datetime"),
            ("Date?", "datetime?"),
            ("Date[]", "datetime[]"),
            ("integer", "int"),
            ("Int", "int"),
            ("float", "number"),
            ("boolean", "bool"),
            ("String", "string"),
            ("String[]?", "string[]?"),
            ("Array<number>", "number[]"),
            ("Array<integer>", "int[]"),
            ("Array<Array<string>>", "string[][]"),
            ("number[] | null", "number[]?"),
            ("string | undefined", "string?"),
            ("Option<String>", "string?"),
            ("Array<LetterGrade>", "LetterGrade[]"),
            ("Record<string, number>", "json"),
            ("UUID", "uuid"),
        ] {
            assert_eq!(fix(written).as_deref(), Some(meant), "{written}");
        }
    }

    #[test]
    fn unknown_or_catalog_spellings_get_none() {
        for t in [
            "string",
            "number[]",
            "strng",
            "Grade",
            "string | number",
            "Array<string?>",
            "Foo<string>",
            "",
        ] {
            assert_eq!(fix(t), None, "{t}");
        }
    }

    #[test]
    fn only_date_warns_about_timestamps() {
        assert!(why("Date").contains("timestamp"));
        assert!(why("Array<Date>").contains("timestamp"));
        assert_eq!(why("integer"), "");
        assert_eq!(why("DateTime"), "");
    }
}
