//! Catalogs of several files: duplicate events across files, directory loading, catalog I/O.

use super::*;

// ------------------------------------------------------------ duplicate-event

#[test]
fn duplicate_event_as_duplicate_yaml_key() {
    let yaml = format!("{GOOD}{}", &GOOD["events:\n".len()..]);
    let d = only(&yaml, "duplicate-event", 8, 3);
    assert_eq!(
        d.message,
        "event `gradebook.grade.posted` is declared twice"
    );
    assert_eq!(
        help(&d),
        "remove one declaration; to change a payload incompatibly, raise `version`"
    );
    assert_eq!(d.notes.len(), 1);
    assert_eq!(d.notes[0].1, "first declared here");
    assert_eq!((d.notes[0].0.line, d.notes[0].0.column), (2, 3));
}

/// A fresh directory under the system temp dir (no `tempfile` crate).
fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "skillcore-rules-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn duplicate_event_across_files_points_at_both() {
    let base = temp_dir("dup-event");
    let cat = base.join("catalog");
    std::fs::create_dir(&cat).unwrap();
    std::fs::write(cat.join("a_gradebook.yaml"), GOOD).unwrap();
    std::fs::write(
        cat.join("b_other.yaml"),
        format!(
            "# owned by another team\n{}",
            GOOD.replace("Grade posted", "Again")
        ),
    )
    .unwrap();
    std::fs::write(cat.join("notes.txt"), "not yaml: [").unwrap();
    let c = skillcore_events_codegen::load(&cat, &base);
    assert_eq!(c.sources.files.len(), 2, "only *.yaml files are read");
    assert_eq!(c.diagnostics.len(), 1, "{}", c.render_diagnostics());
    let d = &c.diagnostics[0];
    assert_eq!(d.rule, Rule::DuplicateEvent);
    let l = d.location.as_ref().unwrap();
    assert_eq!(
        (l.file.as_str(), l.line, l.column),
        ("catalog/b_other.yaml", 3, 3)
    );
    assert_eq!(d.notes.len(), 1);
    let (n, text) = &d.notes[0];
    assert_eq!(
        (n.file.as_str(), n.line, n.column),
        ("catalog/a_gradebook.yaml", 2, 3)
    );
    assert_eq!(text, "first declared here");
    assert!(
        d.render()
            .ends_with("= note: first declared here: catalog/a_gradebook.yaml:2:3"),
        "{}",
        d.render()
    );
    // The first declaration wins in the model.
    assert_eq!(c.catalog.events.len(), 1);
    assert_eq!(c.catalog.events[0].description, "Grade posted");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn directory_catalog_merges_files() {
    let base = temp_dir("merge");
    let cat = base.join("cat");
    std::fs::create_dir(&cat).unwrap();
    std::fs::write(
        cat.join("shared.yaml"),
        "catalog: school\nnaming:\n  exempt: [student.enrolled]\ntypes:\n  LetterGrade:\n    description: d\n    enum: [A, B]\n",
    )
    .unwrap();
    std::fs::write(
        cat.join("gradebook.yml"),
        format!("catalog: school\n{}      letterGrade: LetterGrade\n", GOOD),
    )
    .unwrap();
    std::fs::write(cat.join("enrollment.yaml"), event_named("student.enrolled")).unwrap();
    let c = skillcore_events_codegen::load(&cat, &base);
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    assert_eq!(c.catalog.name, "school");
    let names: Vec<&str> = c.catalog.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, vec!["gradebook.grade.posted", "student.enrolled"]);
    let files: Vec<&str> = c.sources.files.iter().map(|f| f.display.as_str()).collect();
    assert_eq!(
        files,
        vec![
            "cat/enrollment.yaml",
            "cat/gradebook.yml",
            "cat/shared.yaml"
        ]
    );

    // Files that disagree on the catalog name.
    std::fs::write(cat.join("zz.yaml"), "catalog: other\n").unwrap();
    let c = skillcore_events_codegen::load(&cat, &base);
    assert_eq!(c.diagnostics.len(), 1, "{}", c.render_diagnostics());
    let d = &c.diagnostics[0];
    assert_eq!(d.rule, Rule::InvalidValue);
    assert_eq!(d.message, "catalog name `other` differs from `school`");
    assert_eq!(d.location.as_ref().unwrap().file, "cat/zz.yaml");
    assert_eq!(d.notes[0].0.file, "cat/gradebook.yml");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn load_notices_edits() {
    let base = temp_dir("edit");
    let file = base.join("c.yaml");
    std::fs::write(&file, GOOD).unwrap();
    let first = skillcore_events_codegen::load(&file, &base);
    assert!(first.is_ok());
    // Unchanged: served from the cache, not parsed again.
    let again = skillcore_events_codegen::load(&file, &base);
    assert!(std::sync::Arc::ptr_eq(&first, &again));
    // A different size is enough for the cache to notice, whatever the mtime resolution.
    std::fs::write(&file, event_named("gradebook.grade.post")).unwrap();
    let c = skillcore_events_codegen::load(&file, &base);
    assert_eq!(positions(&c), vec![("past-tense", 2, 3)]);
    assert_eq!(c.diagnostics[0].location.as_ref().unwrap().file, "c.yaml");
    assert!(!std::sync::Arc::ptr_eq(&first, &c));
    let _ = std::fs::remove_dir_all(&base);
}

// ---------------------------------------------------------------- catalog-io

#[test]
fn catalog_io_missing_path_and_empty_directory() {
    let base = temp_dir("io");
    let c = skillcore_events_codegen::load(&base.join("nope.yaml"), &base);
    assert_eq!(c.diagnostics.len(), 1);
    let d = &c.diagnostics[0];
    assert_eq!(d.rule, Rule::CatalogIo);
    assert!(d.location.is_none());
    assert_eq!(
        d.message,
        "cannot read catalog `nope.yaml`: no such file or directory"
    );
    assert_eq!(
        help(d),
        format!(
            "paths are relative to the crate's manifest directory `{}`; point at a `.yaml` file or a directory of them",
            base.display()
        )
    );
    std::fs::create_dir(base.join("empty")).unwrap();
    let c = skillcore_events_codegen::load(&base.join("empty"), &base);
    assert_eq!(
        c.diagnostics[0].message,
        "catalog directory `empty` holds no `*.yaml` file"
    );
    std::fs::write(base.join("latin1.yaml"), b"events: {}\n# caf\xe9\n").unwrap();
    let c = skillcore_events_codegen::load(&base.join("latin1.yaml"), &base);
    assert_eq!(
        c.diagnostics[0].message,
        "`latin1.yaml` is not UTF-8 text (invalid byte at offset 16)"
    );
    let _ = std::fs::remove_dir_all(&base);
}
