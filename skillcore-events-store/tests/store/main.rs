//! The store and queue, on SQLite and PostgreSQL alike.

#[path = "../common/mod.rs"]
mod common;
mod fields;
mod open;
mod query;
mod queue;
mod window;
mod worker;

use common::{both, event, Handlers};
use serde_json::json;
use skillcore_events::{HandlerError, HandlerOptions};
use skillcore_events_store::*;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

const LEASE: Duration = Duration::from_secs(30);

/// Runs the worker in a task until `stop` is sent; `run` ends when it has.
fn run_in_background(
    w: Worker,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(async move {
        w.run(async {
            let _ = stopped.await;
        })
        .await
    });
    (stop, run)
}

/// The handlers, none of them ordered.
fn unordered(handlers: &[&'static str]) -> Vec<Subscriber<'static>> {
    handlers
        .iter()
        .map(|h| Subscriber {
            handler_id: h,
            ordered: false,
        })
        .collect()
}

fn subs(_: &str) -> Vec<Subscriber<'static>> {
    unordered(&["analytics.update_gpa", "notifications.send"])
}
