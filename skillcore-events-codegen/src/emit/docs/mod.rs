//! The static HTML catalog: a site that works offline, from `file://` or any
//! static server, with no CDN and no script but our own.
//!
//! - `index.html`: every event grouped by context, with a filter box (also driven
//!   by `?q=` in the URL, so a link can share a filtered view);
//! - `events/<name>.html`: one page per event: description, version, aggregate and
//!   its id field, the payload table (type, optional or default, pii, description;
//!   deprecated fields marked), the named types it uses, the declared handlers
//!   with a small diagram, an example payload and links to its JSON Schema;
//! - `types.html`: every named type and the events that use it;
//! - `map.html`: contexts -> events -> handlers as one inline SVG, generated here;
//! - `schemas/*.schema.json`: the exported JSON Schemas, so links work offline;
//! - with a lock ([`site_with_history`]): a "Version history" on each page of
//!   an event with older versions (each version's payload table, and the
//!   classified changes between consecutive versions), and `changelog.html`,
//!   every version step of the catalog, newest first, linked from the index;
//! - `assets/style.css`, `assets/app.js`.
//!
//! A deprecated event has a "Deprecated" badge and reason on its card and page.
//!
//! Output is deterministic: the same catalog gives byte-identical files.

mod evolution;
mod history;
mod svg;
mod text;

pub use text::esc;
use text::{highlight_json, inline, prose, summary};

use super::{example, schema};
use crate::evolution::Lock;
use crate::model::{BaseType, Catalog, EventDef, Field, NamedType, TypeKind, TypeRef};
use crate::settings::Settings;
use crate::source::Sources;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("app.js");

/// Every file of the site as `(relative path with '/', content)`.
pub fn site(catalog: &Catalog, sources: &Sources, settings: &Settings) -> Vec<(String, String)> {
    site_with_history(catalog, sources, None, settings)
}

/// [`site`] with the released versions in `lock`: version histories, the
/// changelog, and every version's schema file.
pub fn site_with_history(
    catalog: &Catalog,
    sources: &Sources,
    lock: Option<&Lock>,
    settings: &Settings,
) -> Vec<(String, String)> {
    let mut ctx = Ctx::new(catalog, sources, settings);
    ctx.lock = lock;
    let mut files = Vec::with_capacity(catalog.events.len() * 2 + 5);
    files.push(("assets/style.css".to_string(), STYLE.to_string()));
    files.push(("assets/app.js".to_string(), SCRIPT.to_string()));
    files.push(("index.html".to_string(), ctx.index()));
    files.push(("types.html".to_string(), ctx.types_page()));
    files.push(("map.html".to_string(), ctx.map_page()));
    if lock.is_some() {
        let main = history::changelog(catalog, lock);
        let page = ctx.page("Changelog", "", "changelog", "page-changelog", &main);
        files.push(("changelog.html".to_string(), page));
    }
    for e in &catalog.events {
        files.push((format!("events/{}.html", e.name), ctx.event_page(e)));
    }
    for (name, text) in schema::export_with_history(catalog, lock, settings) {
        files.push((format!("schemas/{name}"), text));
    }
    files
}

/// The page of one event, relative to the site root.
pub fn event_href(e: &EventDef) -> String {
    format!("events/{}.html", e.name)
}

/// Colours of the contexts, in context order (cycled).
const PALETTE: &[&str] = &[
    "#2563eb", "#16a34a", "#db2777", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#dc2626",
    "#4f46e5", "#059669", "#c026d3", "#65a30d",
];

struct Ctx<'a> {
    catalog: &'a Catalog,
    sources: &'a Sources,
    /// The directory source paths are shown relative to: the catalog's parent.
    shown_base: Option<std::path::PathBuf>,
    colors: BTreeMap<&'a str, &'static str>,
    /// Named type -> events using it (directly or through other types).
    users: BTreeMap<&'a str, Vec<&'a EventDef>>,
    handler_count: usize,
    /// The lock of released versions, if any.
    lock: Option<&'a Lock>,
}

impl<'a> Ctx<'a> {
    fn new(catalog: &'a Catalog, sources: &'a Sources, settings: &Settings) -> Self {
        let colors = catalog
            .contexts()
            .iter()
            .enumerate()
            .map(|(i, (c, _))| (*c, PALETTE[i % PALETTE.len()]))
            .collect();
        let mut users: BTreeMap<&str, Vec<&EventDef>> = BTreeMap::new();
        for e in &catalog.events {
            for t in schema::used_types(catalog, &e.fields) {
                users.entry(&t.name).or_default().push(e);
            }
        }
        let handler_count = catalog
            .events
            .iter()
            .flat_map(|e| &e.handlers)
            .collect::<BTreeSet<_>>()
            .len();
        let shown_base = settings
            .resolved_catalog()
            .ok()
            .and_then(|p| std::fs::canonicalize(p).ok())
            .and_then(|p| p.parent().map(|d| d.to_path_buf()));
        Ctx {
            catalog,
            sources,
            shown_base,
            colors,
            users,
            handler_count,
            lock: None,
        }
    }

    /// A source file's path relative to the catalog's parent directory
    /// (`catalog/gradebook.yaml`), the same wherever the command runs.
    fn shown_path(&self, file: u32) -> Option<String> {
        let base = self.shown_base.as_ref()?;
        let path = std::fs::canonicalize(&self.sources.files.get(file as usize)?.path).ok()?;
        let rel = path.strip_prefix(base).ok()?;
        Some(rel.to_string_lossy().replace('\\', "/"))
    }

    fn color(&self, context: &str) -> &'static str {
        self.colors.get(context).copied().unwrap_or(PALETTE[0])
    }

    fn page(&self, title: &str, root: &str, active: &str, body_class: &str, main: &str) -> String {
        let mut out = String::with_capacity(main.len() + 2048);
        let nav = |href: &str, label: &str, key: &str| {
            let cls = if key == active {
                " class=\"active\""
            } else {
                ""
            };
            format!("<a href=\"{root}{href}\"{cls}>{label}</a>")
        };
        let _ = write!(
            out,
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"skillcore-events docs\">\n<title>{title} · {name} events</title>\n<link rel=\"stylesheet\" href=\"{root}assets/style.css\">\n</head>\n<body class=\"{body_class}\">\n<header class=\"top\"><div class=\"wrap\">\n<a class=\"brand\" href=\"{root}index.html\"><span class=\"logo\" aria-hidden=\"true\"></span><span class=\"brand-name\">{name}</span><span class=\"brand-sub\">event catalog</span></a>\n<nav class=\"nav\">{events}{types}{map}{changelog}</nav>\n</div></header>\n<main class=\"wrap\">\n{main}</main>\n<footer class=\"wrap foot\">Generated by <code>skillcore-events docs</code> from the <code>{name}</code> catalog ({n} events). The YAML catalog is the source of truth; edit it, not these pages.</footer>\n<script src=\"{root}assets/app.js\"></script>\n</body>\n</html>\n",
            title = esc(title),
            name = esc(&self.catalog.name),
            events = nav("index.html", "Events", "events"),
            types = nav("types.html", "Types", "types"),
            map = nav("map.html", "Map", "map"),
            changelog = if self.lock.is_some() {
                nav("changelog.html", "Changelog", "changelog")
            } else {
                String::new()
            },
            n = self.catalog.events.len(),
        );
        out
    }

    fn index(&self) -> String {
        let c = self.catalog;
        let contexts = c.contexts();
        let subscriptions: usize = c.events.iter().map(|e| e.handlers.len()).sum();
        let mut m = String::with_capacity(64 * 1024);
        let _ = write!(
            m,
            "<section class=\"hero\">\n<h1>Domain events</h1>\n<p class=\"lead\"><strong>{}</strong> events in <strong>{}</strong> contexts, <strong>{}</strong> shared types, <strong>{}</strong> handlers with <strong>{}</strong> subscriptions. Every event travels in the same <a href=\"schemas/envelope.schema.json\">envelope</a>.{changelog}</p>\n<div class=\"search\"><svg class=\"search-icon\" viewBox=\"0 0 20 20\" aria-hidden=\"true\"><circle cx=\"8.5\" cy=\"8.5\" r=\"5.5\"/><path d=\"M13 13l4.5 4.5\"/></svg><input id=\"filter\" type=\"search\" placeholder=\"Filter by name, description, aggregate, field or handler\" autocomplete=\"off\" spellcheck=\"false\" aria-label=\"Filter events\"><span id=\"count\" class=\"count\" aria-live=\"polite\">{} events</span></div>\n<nav class=\"ctx-chips\" aria-label=\"Contexts\">",
            c.events.len(),
            contexts.len(),
            c.types.len(),
            self.handler_count,
            subscriptions,
            c.events.len(),
            changelog = if self.lock.is_some() {
                " What changed between versions: the <a href=\"changelog.html\">changelog</a>."
            } else {
                ""
            },
        );
        for (ctx, events) in &contexts {
            let _ = write!(
                m,
                "<a class=\"ctx-chip\" href=\"#ctx-{id}\" data-context=\"{id}\" style=\"--c:{color}\"><span class=\"dot\"></span>{id}<span class=\"n\">{n}</span></a>",
                id = esc(ctx),
                color = self.color(ctx),
                n = events.len()
            );
        }
        m.push_str("</nav>\n</section>\n<p id=\"empty\" class=\"empty\" hidden>No event matches the filter.</p>\n");
        for (ctx, events) in &contexts {
            let _ = write!(
                m,
                "<section class=\"context\" id=\"ctx-{id}\" data-context=\"{id}\" style=\"--c:{color}\">\n<h2><span class=\"dot\"></span>{id}<small>{n} event{s}</small></h2>\n<div class=\"cards\">\n",
                id = esc(ctx),
                color = self.color(ctx),
                n = events.len(),
                s = if events.len() == 1 { "" } else { "s" }
            );
            for e in events {
                self.card(&mut m, e);
            }
            m.push_str("</div>\n</section>\n");
        }
        self.page("Events", "", "events", "page-index", &m)
    }

    fn card(&self, m: &mut String, e: &EventDef) {
        let mut search = format!(
            "{} {} {} {}",
            e.name, e.description, e.aggregate, e.aggregate_id
        );
        for f in &e.fields {
            search.push(' ');
            search.push_str(&f.name);
        }
        for h in &e.handlers {
            search.push(' ');
            search.push_str(h);
        }
        search.push_str(evolution::search_words(e));
        let rest = e.name.strip_prefix(&e.context).unwrap_or(&e.name);
        let pii = e.fields.iter().any(|f| f.pii);
        let _ = write!(
            m,
            "<article class=\"event\" data-name=\"{name}\" data-search=\"{search}\"><a href=\"{href}\">\n<h3><span class=\"ctx\">{ctx}</span>{rest}</h3>\n<p>{desc}</p>\n{note}<div class=\"meta\"><span class=\"chip ver\">v{ver}</span><span class=\"chip agg\" title=\"aggregate\">{agg}</span>{pii}{dep}<span class=\"stats\">{nf} field{fs} · {nh} handler{hs}</span></div>\n</a></article>\n",
            name = esc(&e.name),
            search = esc(&search.to_lowercase()),
            href = esc(&event_href(e)),
            ctx = esc(&e.context),
            rest = esc(rest),
            desc = esc(&summary(&e.description)),
            note = evolution::event_notice(e, "div"),
            dep = evolution::event_badge(e),
            ver = e.version,
            agg = esc(&e.aggregate),
            nf = e.fields.len(),
            fs = if e.fields.len() == 1 { "" } else { "s" },
            nh = e.handlers.len(),
            hs = if e.handlers.len() == 1 { "" } else { "s" },
            pii = if pii {
                "<span class=\"chip pii\" title=\"carries personally identifiable information\">PII</span>"
            } else {
                ""
            },
        );
    }

    fn event_page(&self, e: &EventDef) -> String {
        let root = "../";
        let mut m = String::with_capacity(16 * 1024);
        let color = self.color(&e.context);
        let schema_file = schema::file_name(e);
        let _ = write!(
            m,
            "<nav class=\"crumbs\"><a href=\"../index.html\">Events</a><span>/</span><a href=\"../index.html#ctx-{ctx}\">{ctx}</a><span>/</span>{name}</nav>\n<section class=\"event-head\" style=\"--c:{color}\">\n<h1 class=\"event-name\"><span class=\"ctx\">{ctx}</span>{rest}</h1>\n<div class=\"meta\"><span class=\"chip ver\">version {ver}</span><span class=\"chip ctxchip\"><span class=\"dot\"></span>{ctx}</span><span class=\"chip agg\">aggregate {agg}</span>{dep}</div>\n{note}<div class=\"prose\">{desc}</div>\n</section>\n<div class=\"columns\">\n<div class=\"main-col\">\n",
            ctx = esc(&e.context),
            name = esc(&e.name),
            rest = esc(e.name.strip_prefix(&e.context).unwrap_or(&e.name)),
            ver = e.version,
            agg = esc(&e.aggregate),
            dep = evolution::event_badge(e),
            note = evolution::event_notice(e, "p"),
            desc = prose(&e.description),
        );
        // Payload table.
        let _ = write!(
            m,
            "<section class=\"card-box\">\n<h2>Payload <small>{} field{}</small></h2>\n",
            e.fields.len(),
            if e.fields.len() == 1 { "" } else { "s" }
        );
        self.field_table(&mut m, &e.fields, Some(&e.aggregate_id), "payload");
        m.push_str("</section>\n");
        if !e.handlers.is_empty() {
            m.push_str("<section class=\"card-box\">\n<h2>Flow <small>context, event and declared handlers</small></h2>\n<div class=\"mini-map\">");
            m.push_str(&svg::diagram(self.catalog, &[e], &self.colors, root, true));
            m.push_str("</div>\n</section>\n");
        }
        // Named types used.
        let used = schema::used_types(self.catalog, &e.fields);
        if !used.is_empty() {
            m.push_str("<section class=\"card-box\">\n<h2>Types used</h2>\n");
            for t in used {
                self.type_block(&mut m, t, "", false);
            }
            m.push_str("</section>\n");
        }
        // Example.
        let ex = example::example(self.catalog, e);
        let _ = write!(
            m,
            "<section class=\"card-box\">\n<h2>Example payload <small>{}</small></h2>\n<pre class=\"code json\"><code>{}</code></pre>\n</section>\n",
            if example::is_from_catalog(e) {
                "from the catalog"
            } else {
                "generated, valid against the schema"
            },
            highlight_json(&ex)
        );
        let versions = super::released::versions(self.catalog, self.lock, e);
        m.push_str(&history::section(self.catalog, e, &versions));
        m.push_str("</div>\n<aside class=\"side-col\">\n");
        // Facts.
        let loc = self.sources.location(e.span);
        let file = self.shown_path(e.span.file).unwrap_or(loc.file);
        let rust = format!("{}::{}", e.idents.module, e.idents.type_name);
        let _ = write!(
            m,
            "<section class=\"card-box facts\">\n<h2>At a glance</h2>\n<dl>\n<dt>Name</dt><dd><code>{name}</code></dd>\n<dt>Version</dt><dd>{ver}</dd>\n<dt>Context</dt><dd>{ctx}</dd>\n<dt>Aggregate</dt><dd>{agg}</dd>\n<dt>Aggregate id</dt><dd><code>{aid}</code></dd>\n<dt>Rust type</dt><dd><code>{rust}</code></dd>\n<dt>Name constant</dt><dd><code>names::{konst}</code></dd>\n<dt>Defined in</dt><dd><code>{file}:{line}</code></dd>\n</dl>\n<div class=\"links\"><a class=\"button\" href=\"../schemas/{schema}\">JSON Schema</a><span class=\"file\">{schema}</span></div>\n</section>\n",
            name = esc(&e.name),
            ver = e.version,
            ctx = esc(&e.context),
            agg = esc(&e.aggregate),
            aid = esc(&e.aggregate_id),
            rust = esc(&rust),
            konst = esc(&e.idents.constant),
            file = esc(&file),
            line = loc.line,
            schema = esc(&schema_file),
        );
        // Handlers.
        let _ = write!(
            m,
            "<section class=\"card-box\">\n<h2>Handlers <small>{}</small></h2>\n",
            e.handlers.len()
        );
        if e.handlers.is_empty() {
            m.push_str("<p class=\"muted\">No handler is declared for this event.</p>\n");
        } else {
            m.push_str("<ul class=\"handlers\">\n");
            for h in &e.handlers {
                let (hctx, hname) = h.split_once('.').unwrap_or(("", h));
                let _ = writeln!(
                    m,
                    "<li><code><span class=\"hctx\">{}.</span>{}</code></li>",
                    esc(hctx),
                    esc(hname)
                );
            }
            m.push_str("</ul>\n");
        }
        m.push_str("</section>\n</aside>\n</div>\n");
        self.page(&e.name, root, "events", "page-event", &m)
    }

    fn field_table(
        &self,
        m: &mut String,
        fields: &[Field],
        aggregate_id: Option<&str>,
        root: &str,
    ) {
        let _ = root;
        m.push_str("<div class=\"table-wrap\"><table class=\"fields\">\n<thead><tr><th>Field</th><th>Type</th><th>Optional</th><th>PII</th><th>Description</th></tr></thead>\n<tbody>\n");
        for f in fields {
            let is_id = aggregate_id == Some(f.name.as_str());
            let _ = writeln!(
                m,
                "<tr{cls}><td class=\"fname\"><code>{name}</code>{idb}{dep}</td><td class=\"ftype\">{ty}</td><td>{opt}</td><td>{pii}</td><td class=\"fdesc\">{desc}{note}</td></tr>",
                cls = evolution::row_class(f),
                name = esc(&f.name),
                idb = if is_id {
                    " <span class=\"chip tiny\" title=\"aggregate id\">id</span>"
                } else {
                    ""
                },
                dep = evolution::field_badge(f),
                ty = self.type_html(&f.ty),
                opt = evolution::default_cell(f).unwrap_or_else(|| if f.ty.optional {
                    "<span class=\"opt yes\">optional</span>".to_string()
                } else {
                    "<span class=\"opt no\">required</span>".to_string()
                }),
                pii = if f.pii {
                    "<span class=\"chip pii\">PII</span>"
                } else {
                    "<span class=\"muted\">–</span>"
                },
                desc = f
                    .description
                    .as_deref()
                    .map(inline)
                    .unwrap_or_else(|| self.default_desc(&f.ty)),
                note = evolution::field_note(f),
            );
        }
        m.push_str("</tbody>\n</table></div>\n");
    }

    /// What to show for a field without a description: the named type's own.
    fn default_desc(&self, t: &TypeRef) -> String {
        match &t.base {
            BaseType::Named(n) => self
                .catalog
                .named_type(n)
                .map(|nt| format!("<span class=\"muted\">{}</span>", inline(&nt.description)))
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    fn type_html(&self, t: &TypeRef) -> String {
        let base = match &t.base {
            BaseType::Named(n) => format!("<a class=\"tref\" href=\"#type-{0}\">{0}</a>", esc(n)),
            b => format!("<span class=\"tbuiltin\">{}</span>", esc(b.catalog_name())),
        };
        let mut s = format!("<code>{base}");
        for _ in 0..t.list_depth {
            s.push_str("[]");
        }
        if t.optional {
            s.push('?');
        }
        s.push_str("</code>");
        let format = match t.base {
            BaseType::DateTime => Some("RFC 3339"),
            BaseType::Date => Some("YYYY-MM-DD"),
            BaseType::Int => Some("64-bit"),
            _ => None,
        };
        if let Some(f) = format {
            let _ = write!(s, " <span class=\"fmt\">{f}</span>");
        }
        s
    }

    fn type_block(&self, m: &mut String, t: &NamedType, root: &str, with_users: bool) {
        let kind = match t.kind {
            TypeKind::Enum(_) => "enum",
            TypeKind::Struct(_) => "object",
        };
        let _ = write!(
            m,
            "<div class=\"type-block\" id=\"type-{name}\">\n<h3><code>{name}</code><span class=\"chip\">{kind}</span></h3>\n<p>{desc}</p>\n",
            name = esc(&t.name),
            desc = inline(&t.description)
        );
        match &t.kind {
            TypeKind::Enum(values) => {
                m.push_str("<div class=\"enum-values\">");
                for v in values {
                    let _ = write!(m, "<code>{}</code>", esc(&v.value));
                }
                m.push_str("</div>\n");
            }
            TypeKind::Struct(fields) => self.field_table(m, fields, None, root),
        }
        if with_users {
            if let Some(users) = self.users.get(t.name.as_str()) {
                m.push_str("<p class=\"used-by\">Used by ");
                for (i, e) in users.iter().enumerate() {
                    if i > 0 {
                        m.push_str(", ");
                    }
                    let _ = write!(
                        m,
                        "<a href=\"{root}{}\"><code>{}</code></a>",
                        esc(&event_href(e)),
                        esc(&e.name)
                    );
                }
                m.push_str("</p>\n");
            } else {
                m.push_str("<p class=\"used-by muted\">Not used by any event.</p>\n");
            }
        }
        m.push_str("</div>\n");
    }

    fn types_page(&self) -> String {
        let mut m = String::with_capacity(32 * 1024);
        let _ = write!(
            m,
            "<section class=\"hero\">\n<h1>Shared types</h1>\n<p class=\"lead\"><strong>{}</strong> named types declared under <code>types:</code>, shared by the events' payloads.</p>\n</section>\n<section class=\"card-box\">\n",
            self.catalog.types.len()
        );
        if self.catalog.types.is_empty() {
            m.push_str("<p class=\"muted\">The catalog declares no named type.</p>\n");
        }
        for t in &self.catalog.types {
            self.type_block(&mut m, t, "", true);
        }
        m.push_str("</section>\n");
        self.page("Types", "", "types", "page-types", &m)
    }

    fn map_page(&self) -> String {
        let events: Vec<&EventDef> = self.catalog.events.iter().collect();
        let mut m = String::with_capacity(128 * 1024);
        let _ = write!(
            m,
            "<section class=\"hero\">\n<h1>Map</h1>\n<p class=\"lead\">Contexts, their events and the handlers declared for them. Every event links to its page.</p>\n</section>\n<section class=\"card-box map-box\">\n<div class=\"map\">{}</div>\n</section>\n",
            svg::diagram(self.catalog, &events, &self.colors, "", false)
        );
        self.page("Map", "", "map", "page-map", &m)
    }
}
