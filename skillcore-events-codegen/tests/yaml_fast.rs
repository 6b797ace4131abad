//! Differential tests: the fast YAML path must give exactly the tree (positions
//! included) that the full parser gives, whenever it accepts an input, and it must
//! accept the catalogs we actually write.

use proptest::prelude::*;
use skillcore_events_codegen::{yaml, yaml_fast, Sources};
use std::path::{Path, PathBuf};

/// The first place two trees differ, as a short description.
fn first_difference(a: &yaml::Node, b: &yaml::Node) -> Option<String> {
    use yaml::Kind;
    if a.span != b.span {
        return Some(format!(
            "span {:?} vs {:?} at {:?}",
            a.span,
            b.span,
            a.kind_name()
        ));
    }
    match (&a.kind, &b.kind) {
        (Kind::Scalar(x), Kind::Scalar(y)) if x == y => None,
        (Kind::Seq(x), Kind::Seq(y)) if x.len() == y.len() => {
            x.iter().zip(y).find_map(|(p, q)| first_difference(p, q))
        }
        (Kind::Map(x), Kind::Map(y)) if x.len() == y.len() => {
            x.iter().zip(y).find_map(|((k1, v1), (k2, v2))| {
                first_difference(k1, k2).or_else(|| first_difference(v1, v2))
            })
        }
        (x, y) => Some(format!("{x:?} vs {y:?}").chars().take(400).collect()),
    }
}

fn same_as_full(text: &str) -> bool {
    let Some(fast) = yaml_fast::parse(text, 0) else {
        return false;
    };
    let sources = Sources::single("t.yaml", text);
    let full = yaml::parse_full(&sources, 0);
    match (&full, &fast) {
        (Ok(Some(f)), Some(q)) => {
            if let Some(d) = first_difference(q, f) {
                panic!("fast path and full parser disagree (fast first): {d}\non:\n{text}");
            }
        }
        (Ok(None), None) => {}
        _ => panic!(
            "fast path accepted what the full parser gives as {:?}:\n{text}",
            full.as_ref()
                .map(|t| t.as_ref().map(|n| n.kind_name()))
                .map_err(|e| e.message.clone())
        ),
    }
    true
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn real_catalogs_take_the_fast_path_with_identical_trees() {
    let mut files = Vec::new();
    yaml_files(&root().join("catalog"), &mut files);
    files.push(root().join("tests/fixtures/big208.yaml"));
    assert!(files.len() >= 9, "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            same_as_full(&text),
            "{} did not take the fast path",
            f.display()
        );
    }
}

#[test]
fn every_test_fixture_agrees_when_the_fast_path_accepts_it() {
    let mut files = Vec::new();
    yaml_files(&root().join("tests"), &mut files);
    let mut fast = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        if same_as_full(&text) {
            fast += 1;
        }
    }
    assert!(fast > 0, "no fixture took the fast path");
}

const SNIPPETS: &[&str] = &[
    "a: b\n",
    "a: plain value # c\n\"q\": 'single' \nb:\nc: [x, \"y z\", {k: v}]\n",
    "d:\n  - one\n  - k: v\n    k2: \"w\"\n  -\ne:\n- s\nf: {}\ng: []\n",
    "- a\n- \"b\" \n- \"c\" # x\n- k: \"v\"  \n  j: 'w'\n- [ \"x\" , y ]\n- {a: \"b\" , c: d }\n-   spaced\n",
    "---\na: 1\n",
    "# only\n\n  \n",
    "a:\n  b:\n    c: [1, 2]\n  d: x\n",
    "a: 'it''s'\nb: \"tab\\there \\u00e9\"\n",
    "key:   # comment\n  nested: 1\n",
    "key: # comment\nother: 2\n",
    "k: -5\nl: -x\n",
    "héllo: wörld\nnext: [é, \"ü\"]\n",
    "a: b: c\n",
    "a: [1, 2,]\n",
    "a:\n- x\n-\n",
    "- - x\n",
    "a: |\n  text\n",
    "a: &x 1\nb: *x\n",
    "a: b\n  c\n",
    "  a: 1\n  b: 2\n",
    "a: 'unclosed\n",
    "a: {x: 1, y: [2, {z: 3}]}\n",
    "list:\n  - name: x\n    type: string?\n  - name: y\n",
    "a: x #not a comment\n",
    "a: \"x\" y\n",
    "\"k\" : v\n",
    "a:\n  -\n    b: 1\n",
];

#[test]
fn snippets_agree_whenever_the_fast_path_accepts_them() {
    let mut accepted = 0;
    for s in SNIPPETS {
        if same_as_full(s) {
            accepted += 1;
        }
    }
    assert!(
        accepted >= 10,
        "only {accepted} snippets took the fast path"
    );
}

fn mutate(text: &str, ops: &[(u8, usize, char)]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for &(op, at, c) in ops {
        if lines.is_empty() {
            break;
        }
        let i = at % lines.len();
        match op % 6 {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            2 => lines[i] = format!(" {}", lines[i]),
            3 => {
                let l = &mut lines[i];
                let pos = (at / 7) % (l.len() + 1);
                if l.is_char_boundary(pos) {
                    l.insert(pos, c);
                }
            }
            4 => lines[i] = lines[i].trim_start().to_string(),
            _ => {
                let j = (at / 3) % lines.len();
                lines.swap(i, j);
            }
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_catalogs_agree(base in 0usize..9, ops in proptest::collection::vec(
        (any::<u8>(), any::<usize>(), prop::sample::select(vec![' ', ':', '-', '#', '"', '\'', '[', ']', '{', '}', ',', 'x', '?', 'é', '\t'])),
        1..6,
    )) {
        let mut files = Vec::new();
        yaml_files(&root().join("catalog"), &mut files);
        files.sort();
        let base = std::fs::read_to_string(&files[base % files.len()]).unwrap();
        let text = mutate(&base, &ops);
        same_as_full(&text);
    }

    #[test]
    fn arbitrary_text_agrees(text in "[ a-z:#\\-\\[\\]{},'\"\n]{0,80}") {
        same_as_full(&text);
    }
}

proptest! {
    #[test]
    fn to_snake_agrees_with_the_word_splitter(s in "[a-zA-Z0-9_ .é-]{0,24}") {
        use skillcore_events_codegen::naming::{to_snake, words};
        prop_assert_eq!(to_snake(&s), words(&s).join("_"));
    }
}
