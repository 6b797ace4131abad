//! `skillcore-events docs`: the site opened in headless Chromium. The index lists
//! every event, the filter narrows the list (driven through `?q=`, which types the
//! query into the box and fires its `input` event, the same path as a keystroke),
//! an event page shows its payload table, and screenshots land in
//! `target/docs-screenshots/`.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "headless Chromium is needed at {} (Debian: `apt-get install -y chromium`; or set CHROMIUM)",
        path.display()
    );
    path
}

/// Runs headless Chromium with a fresh profile on `url` with `extra` flags.
fn browse(url: &str, extra: &[String]) -> String {
    let profile = scratch("chromium-profile");
    let o = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        o.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn dump_dom(url: &str) -> String {
    browse(url, &["--dump-dom".to_string()])
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// The `<article class="event" ...>` opening tags of the index, after scripts ran.
fn cards(dom: &str) -> Vec<(String, bool)> {
    dom.match_indices("<article class=\"event\"")
        .map(|(i, _)| {
            let tag = &dom[i..i + dom[i..].find('>').unwrap()];
            let name = tag
                .split("data-name=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap()
                .to_string();
            (name, tag.contains(" hidden"))
        })
        .collect()
}

fn shown(dom: &str) -> usize {
    dom.split("data-shown=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|n| n.parse().ok())
        .expect("the filter script ran and set data-shown")
}

fn build_site(name: &str) -> PathBuf {
    let dir = scratch(name);
    let (code, out, err) = parts(&run(
        &dir,
        &["docs", catalog().to_str().unwrap(), "--out", "site"],
    ));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("open site/index.html"), "{out}");
    dir.join("site")
}

#[test]
fn the_site_is_complete_and_offline() {
    let site = build_site("docs-files");
    let compiled = skillcore_events_codegen::load(&catalog(), &root());
    for e in &compiled.catalog.events {
        let page = site.join(format!("events/{}.html", e.name));
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(html.contains(&format!(
            "href=\"../schemas/{}.v{}.schema.json\"",
            e.name, e.version
        )));
        assert!(site
            .join(format!("schemas/{}.v{}.schema.json", e.name, e.version))
            .is_file());
    }
    for f in [
        "index.html",
        "types.html",
        "map.html",
        "changelog.html",
        "assets/style.css",
        "assets/app.js",
        "schemas/gradebook.grade.posted.v1.schema.json",
    ] {
        assert!(site.join(f).is_file(), "{f}");
    }
    // catalog.lock has version 1 of gradebook.grade.posted: its page has a
    // version history, and the changelog (linked from the index) the step.
    let posted = std::fs::read_to_string(site.join("events/gradebook.grade.posted.html")).unwrap();
    let at = posted
        .find("<section class=\"card-box history\"")
        .expect("a version history");
    let history = &posted[at..];
    let (v2, v1) = (
        history.find("<h3>Version 2 ").expect("version 2"),
        history.find("<h3>Version 1 ").expect("version 1"),
    );
    assert!(v2 < v1, "newest first");
    assert!(history[v1..].contains("<td class=\"fname\"><code>score</code>"));
    assert!(history[v2..v1].contains("<code>field-renamed</code>"));
    assert!(history[v2..v1].contains("Breaking under <code>backward</code>"));
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains("href=\"changelog.html\""));
    let log = std::fs::read_to_string(site.join("changelog.html")).unwrap();
    assert!(log.contains("id=\"gradebook.grade.posted-v2\""), "{log}");
    assert!(log.contains("<code>field-added-required</code>"));
    // Nothing is loaded from the network: no remote src/href/url()/@import.
    let mut all = String::new();
    for f in [
        "index.html",
        "types.html",
        "map.html",
        "changelog.html",
        "assets/style.css",
        "assets/app.js",
    ] {
        all.push_str(&std::fs::read_to_string(site.join(f)).unwrap());
    }
    all.push_str(
        &std::fs::read_to_string(site.join("events/gradebook.grade.posted.html")).unwrap(),
    );
    for bad in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "href=\"//",
        "url(http",
        "@import",
    ] {
        assert!(!all.contains(bad), "remote reference `{bad}` in the site");
    }
    // Source paths are relative to the catalog's parent, not to where the
    // command ran: the site is the same wherever it is built.
    let posted = std::fs::read_to_string(site.join("events/gradebook.grade.posted.html")).unwrap();
    assert!(
        posted.contains("<code>catalog/gradebook.yaml:"),
        "source shown"
    );
    assert!(
        !posted.contains(root().to_str().unwrap()),
        "no machine path"
    );
    let other = scratch("docs-files-elsewhere");
    let (code, _, _) = parts(&run(
        &root(),
        &[
            "docs",
            "catalog",
            "--out",
            other.join("site").to_str().unwrap(),
        ],
    ));
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(other.join("site/events/gradebook.grade.posted.html")).unwrap(),
        posted,
        "byte-identical from another working directory"
    );
    // The map is an inline SVG with every event.
    let map = std::fs::read_to_string(site.join("map.html")).unwrap();
    assert!(map.contains("<svg class=\"flow\""));
    for e in &compiled.catalog.events {
        assert!(
            map.contains(&format!("href=\"events/{}.html\"", e.name)),
            "{}",
            e.name
        );
    }
    // Written only when changed: a second run writes nothing.
    let (code, out, _) = parts(&run(
        site.parent().unwrap(),
        &["docs", catalog().to_str().unwrap(), "--out", "site"],
    ));
    assert_eq!(code, 0);
    assert!(out.contains(" 0 written"), "{out}");
}

#[test]
fn chromium_index_lists_every_event_and_the_filter_narrows_it() {
    let site = build_site("docs-browser");
    let compiled = skillcore_events_codegen::load(&catalog(), &root());
    let total = compiled.catalog.events.len();
    let index = site.join("index.html");

    let dom = dump_dom(&file_url(&index));
    let all = cards(&dom);
    assert_eq!(all.len(), total, "the index lists every event");
    for e in &compiled.catalog.events {
        assert!(all.iter().any(|(n, _)| n == &e.name), "{} listed", e.name);
    }
    assert!(
        all.iter().all(|(_, hidden)| !hidden),
        "nothing hidden without a query"
    );
    assert_eq!(shown(&dom), total);
    assert!(dom.contains(&format!(">{total} events<")), "count shown");

    // Typing `grade posted` keeps the events whose text has both words.
    let dom = dump_dom(&format!("{}?q=grade%20posted", file_url(&index)));
    let filtered = cards(&dom);
    let visible: Vec<&str> = filtered
        .iter()
        .filter(|(_, h)| !h)
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(visible.contains(&"gradebook.grade.posted"), "{visible:?}");
    assert!(
        visible.len() < total,
        "the filter narrows the list: {visible:?}"
    );
    assert_eq!(shown(&dom), visible.len());
    assert!(
        dom.contains(&format!("{} of {total} events", visible.len())),
        "count updated"
    );
    assert!(dom.contains("value=\"grade posted\"") || dom.contains("id=\"filter\""));
    // Hidden contexts: attendance has no event matching.
    assert!(
        dom.contains("<section class=\"context\" id=\"ctx-attendance\" data-context=\"attendance\" style=\"--c:#16a34a\" hidden=\"\">"),
        "an empty context is hidden"
    );

    // A query matching nothing shows the empty state.
    let dom = dump_dom(&format!("{}?q=zzz-no-such-event", file_url(&index)));
    assert_eq!(shown(&dom), 0);
    assert!(cards(&dom).iter().all(|(_, h)| *h));
    assert!(
        dom.contains("<p id=\"empty\" class=\"empty\">"),
        "empty state shown"
    );
}

#[test]
fn chromium_event_page_shows_the_payload_table_and_screenshots() {
    let site = build_site("docs-page");
    let compiled = skillcore_events_codegen::load(&catalog(), &root());
    let e = compiled.catalog.event("gradebook.grade.posted").unwrap();
    let page = site.join("events/gradebook.grade.posted.html");
    let dom = dump_dom(&file_url(&page));
    let table = dom
        .split("<table class=\"fields\">")
        .nth(1)
        .expect("a payload table")
        .split("</table>")
        .next()
        .unwrap();
    for h in ["Field", "Type", "Optional", "PII", "Description"] {
        assert!(table.contains(&format!("<th>{h}</th>")), "column {h}");
    }
    for f in &e.fields {
        assert!(
            table.contains(&format!("<td class=\"fname\"><code>{}</code>", f.name)),
            "row for {}",
            f.name
        );
    }
    assert!(
        table.contains("<span class=\"chip pii\">PII</span>"),
        "pii marked"
    );
    assert!(table.contains("optional</span>"));
    assert!(
        dom.contains("analytics.</span>update_gpa"),
        "handlers listed"
    );
    assert!(dom.contains("Example payload"), "example shown");

    // Screenshots for people to look at.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("docs-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for (url, file, size) in [
        (file_url(&site.join("index.html")), "index.png", "1360,1500"),
        (file_url(&page), "event.png", "1360,1900"),
        (file_url(&site.join("map.html")), "map.png", "1360,1800"),
        (
            format!("{}?q=grade%20posted", file_url(&site.join("index.html"))),
            "index-filtered.png",
            "1360,900",
        ),
    ] {
        let out = shots.join(file);
        let _ = std::fs::remove_file(&out);
        browse(
            &url,
            &[
                format!("--window-size={size}"),
                format!("--screenshot={}", out.display()),
            ],
        );
        let bytes = std::fs::read(&out).unwrap_or_else(|_| panic!("{} written", out.display()));
        assert!(bytes.starts_with(b"\x89PNG"), "{file} is a PNG");
        assert!(
            bytes.len() > 20_000,
            "{file} has content ({} bytes)",
            bytes.len()
        );
    }
}

#[test]
fn chromium_typing_in_the_filter_box_narrows_the_list() {
    // Real keystrokes through the DevTools protocol (tests/node/type-filter.mjs,
    // plain Node, no package needed): type, then Escape to clear.
    let site = build_site("docs-typing");
    let o = Command::new("node")
        .arg(root().join("tests/node/type-filter.mjs"))
        .arg(chromium())
        .arg(site.join("index.html"))
        .arg("grade posted")
        .output()
        .expect("`node` runs (install Node.js)");
    assert!(
        o.status.success(),
        "type-filter.mjs failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let total = v["initial"]["total"].as_u64().unwrap();
    assert_eq!(total, 56);
    assert_eq!(v["initial"]["shown"], total);
    let typed = &v["typed"];
    assert_eq!(typed["value"], "grade posted", "the keys reached the box");
    let visible: Vec<&str> = typed["visible"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(visible.contains(&"gradebook.grade.posted"), "{visible:?}");
    assert!((visible.len() as u64) < total, "narrowed: {visible:?}");
    assert_eq!(typed["shown"], visible.len());
    assert_eq!(
        typed["count"],
        format!("{} of {total} events", visible.len())
    );
    assert_eq!(v["cleared"]["shown"], total, "Escape clears the filter");
    assert_eq!(v["cleared"]["value"], "");
}
