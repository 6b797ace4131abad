//! Generated valid catalogs.

use super::*;

// ------------------------------------------------------ generated valid catalogs

#[derive(Clone, Debug)]
struct GenField {
    name: String,
    ty: String,
    pii: bool,
}

#[derive(Clone, Debug)]
struct GenEvent {
    context: String,
    aggregate: String,
    action: String,
    version: u32,
    fields: Vec<GenField>,
    description: String,
}

#[derive(Clone, Debug)]
struct GenEnum {
    name: String,
    values: Vec<String>,
}

fn snake_segment() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,4}){0,2}"
}

fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        "([a-z]{1,6}_)?[a-z]{1,6}ed",
        Just("sent".to_string()),
        Just("withdrawn".to_string()),
        Just("read".to_string()),
    ]
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-zA-Z0-9]{0,10}",
        1 => prop_oneof![
            Just("type".to_string()),
            Just("match".to_string()),
            Just("self".to_string()),
            Just("crate".to_string()),
            Just("super".to_string()),
            Just("async".to_string()),
            Just("districtID".to_string()),
            Just("fn".to_string()),
        ],
    ]
}

fn text() -> impl Strategy<Value = String> {
    "[ -~]{1,40}".prop_filter("non-blank", |s| !s.trim().is_empty())
}

fn gen_enum() -> impl Strategy<Value = GenEnum> {
    (
        "[A-Z][a-zA-Z0-9]{0,8}",
        proptest::collection::vec("[a-zA-Z0-9_]{1,8}", 1..6),
    )
        .prop_map(|(name, values)| GenEnum { name, values })
}

const BUILTINS: &[&str] = &[
    "string", "int", "number", "bool", "uuid", "datetime", "date", "json",
];

fn gen_event(type_names: Vec<String>) -> impl Strategy<Value = GenEvent> {
    let mut bases: Vec<String> = BUILTINS.iter().map(|s| s.to_string()).collect();
    bases.extend(type_names);
    let ty = (
        proptest::sample::select(bases),
        prop_oneof![Just(""), Just("[]"), Just("?"), Just("[]?"), Just("[][]")],
    )
        .prop_map(|(b, s)| format!("{b}{s}"));
    let field =
        (field_name(), ty, any::<bool>()).prop_map(|(name, ty, pii)| GenField { name, ty, pii });
    (
        snake_segment(),
        snake_segment(),
        action(),
        1u32..5,
        proptest::collection::vec(field, 0..10),
        text(),
    )
        .prop_map(
            |(context, aggregate, action, version, fields, description)| GenEvent {
                context,
                aggregate,
                action,
                version,
                fields,
                description,
            },
        )
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Drops whatever would collide, using the crate's own naming functions, and
/// writes the YAML. Returns the text and the number of events kept.
fn render(enums: &[GenEnum], events: &[GenEvent]) -> (String, usize) {
    let mut out = String::from("catalog: generated\ntypes:\n");
    let mut type_idents = HashSet::new();
    let mut type_names = HashSet::new();
    for e in enums {
        let ident = naming::rust_ident(&naming::to_pascal(&e.name));
        if e.name == "AnyEvent" || !type_idents.insert(ident) {
            continue;
        }
        type_names.insert(e.name.clone());
        let mut seen = HashSet::new();
        let values: Vec<String> = e
            .values
            .iter()
            .filter(|v| seen.insert(naming::variant_ident(v)))
            .map(|v| quote(v))
            .collect();
        out.push_str(&format!(
            "  {}:\n    description: generated enum\n    enum: [{}]\n",
            e.name,
            values.join(", ")
        ));
    }
    out.push_str("  Point:\n    description: a struct type\n    fields:\n      x: number\n      label: string?\n");
    out.push_str("events:\n");
    let mut items = HashSet::new();
    let mut kept = 0;
    for e in events {
        let name = format!("{}.{}.{}", e.context, e.aggregate, e.action);
        let ty = format!(
            "{}{}",
            naming::to_pascal(&e.aggregate),
            naming::to_pascal(&e.action)
        );
        let keys = [
            format!("type {}::{ty}", e.context),
            format!("variant {}{ty}", naming::to_pascal(&e.context)),
            format!("const {}", naming::to_screaming(&name)),
        ];
        if e.context == "names" || keys.iter().any(|k| items.contains(k)) {
            continue;
        }
        items.extend(keys);
        kept += 1;
        out.push_str(&format!("  {name}:\n"));
        out.push_str(&format!("    description: {}\n", quote(&e.description)));
        out.push_str(&format!("    version: {}\n", e.version));
        out.push_str(
            "    aggregate: Agg\n    aggregate_id: aggId\n    payload:\n      aggId: uuid\n",
        );
        let mut rust_names: HashSet<String> =
            HashSet::from(["agg_id".to_string(), "r#where".to_string()]);
        for f in &e.fields {
            let base = f.ty.trim_end_matches(['?', '[', ']']);
            let known = BUILTINS.contains(&base) || type_names.contains(base) || base == "Point";
            if !known || !rust_names.insert(naming::rust_ident(&naming::to_snake(&f.name))) {
                continue;
            }
            if f.pii {
                out.push_str(&format!(
                    "      {}:\n        type: {}\n        pii: true\n",
                    f.name, f.ty
                ));
            } else {
                out.push_str(&format!("      {}: {}\n", f.name, f.ty));
            }
        }
        out.push_str("      where: Point[]?\n");
    }
    (out, kept)
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn generated_valid_catalogs(
        (enums, events) in proptest::collection::vec(gen_enum(), 0..4).prop_flat_map(|enums| {
            let mut names: Vec<String> = enums.iter().map(|e| e.name.clone()).collect();
            names.push("Point".into());
            (Just(enums), proptest::collection::vec(gen_event(names), 1..8))
        })
    ) {
        let (text, kept) = render(&enums, &events);
        let c = check_any(&text);
        prop_assert!(c.is_ok(), "{}\n{}", c.render_diagnostics(), text);
        prop_assert_eq!(c.catalog.events.len(), kept);
    }
}
