//! `queue index` and `queue indexes`: the indexes of payload fields that let
//! searches by field (the dashboard's, `Store::events_by_field`) read the
//! matching events only ([`Store::create_field_index`](skillcore_events::store::Store::create_field_index)).
//! They belong to the whole store, so both take `--all-districts` and refuse
//! `--district`.

use crate::args::DbArgs;
use crate::outcome::{print_stdout, Failure, Outcome, OK};
use crate::queue::{open, store_err};
use crate::retention::whole_store;
use crate::term::escape_line;
use skillcore_events::store::Access;
use std::path::Path;
use std::time::Instant;

/// The catalog to check a new index against: `path`, else `catalog` when it
/// exists; `None` when there is none.
fn catalog(path: Option<&Path>) -> Result<Option<&'static [skillcore_events::EventInfo]>, Failure> {
    let path = match path {
        Some(p) => p,
        None if Path::new("catalog").exists() => Path::new("catalog"),
        None => return Ok(None),
    };
    crate::dashboard::load_catalog(path).map(Some)
}

/// `queue index --type T --field F`: makes the index (or, with `drop`,
/// drops it). A new one is checked against the catalog when there is one.
pub fn index(
    db: &DbArgs,
    event_type: &str,
    field: &str,
    drop: bool,
    catalog_path: Option<&Path>,
) -> Outcome {
    whole_store(db, "index")?;
    let (rt, store) = open(db, Access::ReadWrite)?;
    let (t, f) = (escape_line(event_type), escape_line(field));
    if drop {
        let gone = rt
            .block_on(store.drop_field_index(event_type, field))
            .map_err(store_err)?;
        let text = if gone {
            format!("dropped the index of `{f}` of `{t}`; searches of it read every event of the type again\n")
        } else {
            format!("there was no index of `{f}` of `{t}`: nothing dropped\n")
        };
        print_stdout(&text)?;
        return Ok(OK);
    }
    let start = Instant::now();
    let made = match catalog(catalog_path)? {
        Some(events) => rt.block_on(store.create_catalog_field_index(events, event_type, field)),
        None => rt.block_on(store.create_field_index(event_type, field)),
    }
    .map_err(store_err)?;
    print_stdout(&format!(
        "indexed `{f}` of `{t}` as {} in {:.1}s: searches of it now read the matching events only\n",
        made.index,
        start.elapsed().as_secs_f64()
    ))?;
    Ok(OK)
}

/// `queue indexes`: the indexes of payload fields, a line each or JSON.
pub fn list(db: &DbArgs, json: bool) -> Outcome {
    whole_store(db, "indexes")?;
    let (rt, store) = open(db, Access::ReadOnly)?;
    let indexes = rt.block_on(store.field_indexes()).map_err(store_err)?;
    let text = if json {
        let mut text = serde_json::to_string_pretty(&indexes)
            .map_err(|e| Failure::usage(format!("cannot write JSON: {e}")))?;
        text.push('\n');
        text
    } else if indexes.is_empty() {
        "no payload field is indexed (add one: queue index --type T --field F --all-districts)\n"
            .to_string()
    } else {
        indexes
            .iter()
            .map(|i| {
                format!(
                    "{}  {}  {}\n",
                    escape_line(&i.event_type),
                    escape_line(&i.field),
                    i.index
                )
            })
            .collect()
    };
    print_stdout(&text)?;
    Ok(OK)
}
