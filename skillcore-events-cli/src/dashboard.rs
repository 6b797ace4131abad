//! `dashboard`: serves the operations dashboard of a store standalone, deny
//! by default: the token from `--token` or `SKILLCORE_DASHBOARD_TOKEN`, else
//! one generated and printed; a non-loopback address needs a given token.

use crate::args::{DbArgs, ScopeArgs};
use crate::outcome::{Failure, Outcome, OK};
use skillcore_events::dashboard::{standalone_token, DashboardConfig, TokenAuthorizer};
use skillcore_events::store::Access;
use skillcore_events::{EventInfo, FieldInfo};
use skillcore_events_codegen::model::{BaseType, Catalog, Field, TypeKind, TypeRef};
use std::net::SocketAddr;
use std::path::PathBuf;

/// What `dashboard` was asked.
pub struct DashboardArgs {
    pub db: String,
    pub schema: Option<String>,
    pub listen: SocketAddr,
    pub prefix: String,
    pub token: Option<String>,
    pub catalog: Option<PathBuf>,
    pub read_only: bool,
    pub pii: bool,
}

pub fn run(a: DashboardArgs) -> Outcome {
    let given = a
        .token
        .clone()
        .or_else(|| std::env::var("SKILLCORE_DASHBOARD_TOKEN").ok());
    let (token, generated) =
        standalone_token(&a.listen, given).map_err(|e| Failure::usage(e.to_string()))?;
    let catalog = match &a.catalog {
        Some(path) => Some(load_catalog(path)?),
        None => {
            let default = PathBuf::from("catalog");
            if default.exists() {
                Some(load_catalog(&default)?)
            } else {
                None
            }
        }
    };
    let db = DbArgs {
        db: a.db.clone(),
        schema: a.schema.clone(),
        scope: ScopeArgs {
            district: None,
            all_districts: true,
        },
    };
    let access = if a.read_only {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    };
    let (rt, store) = crate::queue::open(&db, access)?;
    let mut config = DashboardConfig::new(
        TokenAuthorizer::new(token.clone())
            .read_only(a.read_only)
            .pii(a.pii),
    );
    if let Some(events) = catalog {
        config = config.catalog(events);
    }
    let prefix = a.prefix.clone();
    let served = rt.block_on(skillcore_events::dashboard::serve(
        store,
        config,
        a.listen,
        &prefix,
        |addr| {
            let path = if prefix.trim_end_matches('/').is_empty() {
                "/".to_string()
            } else {
                prefix.trim_end_matches('/').to_string()
            };
            eprintln!("dashboard: http://{addr}{path}");
            if generated {
                eprintln!("dashboard: token {token} (sign in with it; give --token or SKILLCORE_DASHBOARD_TOKEN to choose one)");
            }
        },
    ));
    served.map_err(|e| Failure::usage(e.to_string()))?;
    Ok(OK)
}

/// The catalog at `path` as the runtime's `EventInfo` table (leaked: it
/// lives as long as the process, as a compiled-in `EVENTS` does).
pub(crate) fn load_catalog(path: &std::path::Path) -> Result<&'static [EventInfo], Failure> {
    let settings = crate::catalog::settings_for(path)?;
    let compiled = crate::catalog::load_valid(&settings)?;
    Ok(infos(&compiled.catalog))
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn type_text(t: &TypeRef) -> String {
    let base = match &t.base {
        BaseType::String => "string",
        BaseType::Int => "int",
        BaseType::Number => "number",
        BaseType::Bool => "bool",
        BaseType::Uuid => "uuid",
        BaseType::DateTime => "datetime",
        BaseType::Date => "date",
        BaseType::Json => "json",
        BaseType::Named(n) => n.as_str(),
    };
    format!(
        "{base}{}{}",
        "[]".repeat(t.list_depth as usize),
        if t.optional { "?" } else { "" }
    )
}

fn fields(catalog: &Catalog, fs: &[Field], depth: usize) -> &'static [FieldInfo] {
    let v: Vec<FieldInfo> = fs
        .iter()
        .map(|f| {
            let info = FieldInfo::new(
                leak(&f.name),
                leak(&f.ident),
                leak(&type_text(&f.ty)),
                f.ty.optional,
                f.pii,
                leak(f.description.as_deref().unwrap_or("")),
            );
            match &f.ty.base {
                // The catalog forbids recursive types; the depth bounds it anyway.
                BaseType::Named(n) if depth < 32 => match catalog.named_type(n).map(|t| &t.kind) {
                    Some(TypeKind::Struct(inner)) => {
                        info.with_fields(fields(catalog, inner, depth + 1))
                    }
                    _ => info,
                },
                _ => info,
            }
        })
        .collect();
    Box::leak(v.into_boxed_slice())
}

fn infos(catalog: &Catalog) -> &'static [EventInfo] {
    let mut v: Vec<EventInfo> = catalog
        .events
        .iter()
        .map(|e| EventInfo {
            name: leak(&e.name),
            context: leak(&e.context),
            aggregate: leak(&e.aggregate),
            action: leak(&e.action),
            version: e.version,
            aggregate_id: leak(&e.aggregate_id),
            description: leak(&e.description),
            fields: fields(catalog, &e.fields, 0),
            handlers: Box::leak(
                e.handlers
                    .iter()
                    .map(|h| leak(h))
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
            ),
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(b.name));
    Box::leak(v.into_boxed_slice())
}
