//! Mutations of a valid catalog.

use super::*;

// ------------------------------------------------------- mutated valid catalog

pub(super) const VALID: &str = r#"catalog: skillcore
naming:
  past_tense: [sent, withdrawn]
  exempt: [intervention.created]
types:
  LetterGrade:
    description: Letter grade derived from a percent score
    enum: [A, B, C, D, F]
  GuardianContact:
    description: How to reach a guardian
    fields:
      email: { type: string, pii: true }
      phone: string?
events:
  gradebook.grade.posted:
    description: Grade posted for student assignment
    version: 1
    aggregate: Result
    aggregate_id: resultId
    payload:
      resultId: uuid
      score: number
      letterGrade: LetterGrade
      previousScore: number?
      districtID: string
      tags: string[]
      contact: GuardianContact?
      comment:
        type: string?
        description: Teacher comment to the student
        pii: true
    handlers:
      - analytics.update_gpa
    examples:
      - resultId: 0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90
        score: 42.5
        letterGrade: B
        districtID: d-1
        tags: [a, b]
        contact: { email: x@example.org }
  intervention.created:
    description: Intervention opened
    aggregate: Intervention
    aggregate_id: interventionId
    payload:
      interventionId: int
      type: string
      dueOn: date
      extra: json?
"#;

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    InsertChar(usize, char),
    Indent(usize, i8),
    ReplaceKey(usize, String),
    InsertTab(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let yamlish = prop_oneof![
        Just(':'),
        Just('-'),
        Just('['),
        Just(']'),
        Just('{'),
        Just('}'),
        Just('&'),
        Just('*'),
        Just('?'),
        Just('#'),
        Just('\''),
        Just('"'),
        Just('\t'),
        Just('\n'),
        Just(' '),
        Just('.'),
        any::<char>(),
    ];
    let key = prop_oneof![
        Just("paylod".to_string()),
        Just("payload".to_string()),
        Just("type".to_string()),
        Just("events".to_string()),
        Just("types".to_string()),
        Just("enum".to_string()),
        Just("fields".to_string()),
        Just("aggregate_id".to_string()),
        Just("examples".to_string()),
        Just("AnyEvent".to_string()),
        Just("names.x.created".to_string()),
        Just("self".to_string()),
        Just("districtId".to_string()),
        "[a-zA-Z_.]{0,12}",
    ];
    prop_oneof![
        (0..80usize).prop_map(Mutation::DeleteLine),
        (0..80usize).prop_map(Mutation::DuplicateLine),
        (0..80usize, 0..80usize).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (0..3000usize, yamlish).prop_map(|(p, c)| Mutation::InsertChar(p, c)),
        (0..80usize, -6i8..6).prop_map(|(l, d)| Mutation::Indent(l, d)),
        (0..80usize, key).prop_map(|(l, k)| Mutation::ReplaceKey(l, k)),
        (0..80usize).prop_map(Mutation::InsertTab),
        (0..3000usize).prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len().max(1);
    match m {
        Mutation::DeleteLine(i) => {
            if !lines.is_empty() {
                lines.remove(i % n);
            }
        }
        Mutation::DuplicateLine(i) => {
            if !lines.is_empty() {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                lines.swap(a % n, b % n);
            }
        }
        Mutation::InsertChar(p, c) => {
            let chars: Vec<char> = text.chars().collect();
            let p = p % (chars.len() + 1);
            let mut s: String = chars[..p].iter().collect();
            s.push(*c);
            s.extend(&chars[p..]);
            return s;
        }
        Mutation::Indent(i, d) => {
            if !lines.is_empty() {
                let l = &mut lines[i % n];
                if *d > 0 {
                    l.insert_str(0, &" ".repeat(*d as usize));
                } else {
                    let strip = l
                        .chars()
                        .take_while(|c| *c == ' ')
                        .count()
                        .min(d.unsigned_abs() as usize);
                    l.drain(..strip);
                }
            }
        }
        Mutation::ReplaceKey(i, k) => {
            if !lines.is_empty() {
                let l = &mut lines[i % n];
                if let Some(colon) = l.find(':') {
                    let indent = l.len() - l.trim_start().len();
                    let indent = indent.min(colon);
                    l.replace_range(indent..colon, k);
                }
            }
        }
        Mutation::InsertTab(i) => {
            if !lines.is_empty() {
                lines[i % n].insert(0, '\t');
            }
        }
        Mutation::Truncate(p) => {
            let chars: Vec<char> = text.chars().collect();
            return chars[..p % (chars.len() + 1)].iter().collect();
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[test]
fn the_base_catalog_is_valid() {
    let c = check_any(VALID);
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    assert_eq!(c.catalog.events.len(), 2);
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn mutated_catalogs(ms in proptest::collection::vec(mutation(), 1..6)) {
        let mut text = VALID.to_string();
        for m in &ms {
            text = apply(&text, m);
        }
        check_any(&text);
    }
}
