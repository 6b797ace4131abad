//! Types and fields: duplicates, unknown types, the aggregate id, recursive types.

use super::*;

// ------------------------------------------------------------- duplicate-type

#[test]
fn duplicate_type() {
    let yaml = format!(
        "types:\n  LetterGrade:\n    description: d\n    enum: [A]\n  LetterGrade:\n    description: e\n    enum: [B]\n{GOOD}"
    );
    let d = only(&yaml, "duplicate-type", 5, 3);
    assert_eq!(d.message, "type `LetterGrade` is declared twice");
    assert_eq!(help(&d), "keep one declaration, or rename one of them");
    assert_eq!(d.notes[0].0.line, 2);
}

// ------------------------------------------------------------ duplicate-field

#[test]
fn duplicate_field_same_name_and_same_rust_name() {
    let d = only(
        &format!("{GOOD}      resultId: string\n"),
        "duplicate-field",
        8,
        7,
    );
    assert_eq!(
        d.message,
        "field `resultId` of event `gradebook.grade.posted` is declared twice"
    );
    assert_eq!(help(&d), "remove or rename one of the fields");
    assert_eq!(d.notes[0].0.line, 7);

    let d = only(
        &format!("{GOOD}      districtId: string\n      districtID: string\n"),
        "duplicate-field",
        9,
        7,
    );
    assert_eq!(
        d.message,
        "fields `districtId` and `districtID` of event `gradebook.grade.posted` both become the Rust field `district_id`"
    );
    assert_eq!(d.notes[0].1, "the other field");
}

// --------------------------------------------------------------- unknown-type

#[test]
fn unknown_type_with_did_you_mean() {
    let d = only(
        &format!("{GOOD}      score: strng\n"),
        "unknown-type",
        8,
        14,
    );
    assert_eq!(d.message, "unknown type `strng`");
    assert_eq!(help(&d), "did you mean `string`?");

    let d = only(
        &format!("{GOOD}      scores: numbr[]?\n"),
        "unknown-type",
        8,
        15,
    );
    assert_eq!(help(&d), "did you mean `number`?");

    let yaml = format!(
        "types:\n  LetterGrade:\n    description: d\n    enum: [A]\n{GOOD}      grade: LeterGrade\n"
    );
    let d = only(&yaml, "unknown-type", 12, 14);
    assert_eq!(help(&d), "did you mean `LetterGrade`?");

    let d = only(
        &format!("{GOOD}      grade: Grade\n"),
        "unknown-type",
        8,
        14,
    );
    assert_eq!(
        help(&d),
        "use a built-in (string, int, number, bool, uuid, datetime, date, json) or declare `Grade` under `types:`"
    );

    let d = only(
        &format!("{GOOD}      tags: list<string>\n"),
        "unknown-type",
        8,
        13,
    );
    assert!(help(&d).starts_with("write a type as `T`, `T[]` (list), `T?` (optional)"));
}

// --------------------------------------------------------------- aggregate-id

#[test]
fn aggregate_id_rules() {
    let d = only(
        &GOOD.replace("aggregate_id: resultId", "aggregate_id: resultID"),
        "aggregate-id",
        5,
        19,
    );
    assert_eq!(
        d.message,
        "aggregate_id `resultID` of event `gradebook.grade.posted` is not a payload field"
    );
    assert_eq!(help(&d), "did you mean `resultId`?");

    let d = only(
        &GOOD.replace("aggregate_id: resultId", "aggregate_id: zzz"),
        "aggregate-id",
        5,
        19,
    );
    assert_eq!(
        help(&d),
        "add `zzz: uuid` to the payload, or name an existing field"
    );

    for (ty, why) in [
        ("uuid?", "is optional"),
        ("number", "has type `number`"),
        ("string[]", "has type `string[]`"),
    ] {
        let d = only(
            &GOOD.replace("resultId: uuid", &format!("resultId: {ty}")),
            "aggregate-id",
            5,
            19,
        );
        assert_eq!(
            d.message,
            format!("aggregate_id field `resultId` of event `gradebook.grade.posted` {why}")
        );
        assert_eq!(
            help(&d),
            "the aggregate id must be a required `string`, `uuid` or `int` field"
        );
    }
    for ty in ["string", "int"] {
        assert!(compile(&GOOD.replace("resultId: uuid", &format!("resultId: {ty}"))).is_ok());
    }
}

// ------------------------------------------------------------- recursive-type

#[test]
fn recursive_type() {
    let yaml = format!(
        "types:\n  Person:\n    description: d\n    fields:\n      name: string\n      manager: Person?\n      reports: Person[]\n{GOOD}"
    );
    let d = only(&yaml, "recursive-type", 6, 7);
    assert_eq!(d.message, "type `Person` contains itself: Person -> Person");
    assert_eq!(
        help(&d),
        "refer to the other entity by its id (`managerId: string`), or make it a list (`Person[]`)"
    );
    let c = compile(&yaml);
    let TypeKind::Struct(fields) = &c.catalog.named_type("Person").unwrap().kind else {
        panic!()
    };
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["name", "reports"],
        "the cycle is cut, the list kept"
    );

    // Through another type.
    let yaml = format!(
        "types:\n  A:\n    description: d\n    fields:\n      b: B\n  B:\n    description: d\n    fields:\n      a: A?\n{GOOD}"
    );
    // The field that closes the cycle is reported (and cut).
    let c = compile(&yaml);
    assert_eq!(
        positions(&c),
        vec![("recursive-type", 9, 7)],
        "{}",
        c.render_diagnostics()
    );
    assert_eq!(
        c.diagnostics[0].message,
        "type `B` contains itself: B -> A -> B"
    );
    assert_eq!(
        help(&c.diagnostics[0]),
        "refer to the other entity by its id (`aId: string`), or make it a list (`A[]`)"
    );
}

#[test]
fn recursive_type_checks_stay_fast_on_long_chains() {
    // A chain T0 -> T1 -> ... -> T3000 (no cycle), then the same closed into a ring.
    let n = 3000;
    let mut chain = String::from("types:\n");
    for i in 0..n {
        chain.push_str(&format!(
            "  T{i}:\n    description: d\n    fields:\n      next: T{}\n",
            i + 1
        ));
    }
    let ring = format!("{chain}  T{n}:\n    description: d\n    fields:\n      next: T0\n");
    chain.push_str(&format!("  T{n}:\n    description: d\n    enum: [a]\n"));
    let t = std::time::Instant::now();
    assert!(compile(&chain).is_ok());
    let c = compile(&ring);
    assert!(t.elapsed().as_secs() < 3, "took {:?}", t.elapsed());
    assert_eq!(c.diagnostics.len(), 1, "{}", c.render_diagnostics());
    assert_eq!(
        c.diagnostics[0].message,
        "type `T3000` contains itself: T3000 -> T0 -> T1 -> T2 -> ... -> T2997 -> T2998 -> T2999 -> T3000"
    );
}
