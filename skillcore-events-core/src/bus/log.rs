//! Spans and log lines. Spans always exist (and cost next to nothing without a
//! subscriber); the info lines of the original system are opt-in through
//! `LOG_EVENTS` and `LOG_EVENT_HANDLERS`. Payloads are logged only with every
//! pii value (at any depth) replaced by `"[redacted]"` and the fields the
//! catalog does not know dropped; an event no catalog knows shows no field.
//!
//! A program that set up no `tracing` subscriber still sees the opt-in lines:
//! where none is installed (neither a global nor a scoped default), they go
//! straight to stderr, so `LOG_EVENTS=true cargo run` works as in the
//! original system. Once the application installs a subscriber, every line
//! goes through it instead (and its filters decide).

use super::exec::{self, AttemptOutcome};
use super::Subscriber;
use crate::envelope::DynEnvelope;
use crate::handler::HandlerContext;
use crate::EventInfo;
use std::time::Instant;
use tracing::Instrument;

/// Which opt-in lines are on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LogConfig {
    pub events: bool,
    pub handlers: bool,
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// Whether no tracing subscriber is installed where this code runs.
pub(crate) fn no_subscriber() -> bool {
    tracing::dispatcher::get_default(|d| d.is::<tracing::subscriber::NoSubscriber>())
}

/// One opt-in line on stderr, for a program without a subscriber.
pub(crate) fn stderr(level: &str, line: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{level:>5} {line}");
}

/// An opt-in line: on stderr when `$on` and no subscriber is installed, else
/// a `tracing` event at `$level` (target `skillcore_events::bus`) with
/// `$fields`.
macro_rules! bus_line {
    ($on:expr, $level:ident, $label:literal, { $($fields:tt)* }, $($fmt:tt)+) => {
        if $on && $crate::bus::log::no_subscriber() {
            $crate::bus::log::stderr($label, format_args!($($fmt)+));
        } else {
            tracing::$level!(target: "skillcore_events::bus", $($fields)* $($fmt)+);
        }
    };
}
pub(crate) use bus_line;

impl LogConfig {
    pub fn from_env() -> Self {
        LogConfig {
            events: env_flag("LOG_EVENTS"),
            handlers: env_flag("LOG_EVENT_HANDLERS"),
        }
    }

    pub fn publish(
        &self,
        catalog: Option<&'static [EventInfo]>,
        env: &DynEnvelope,
        handlers: usize,
    ) {
        if !self.events {
            return;
        }
        let h = env.header();
        let info = env
            .info()
            .or_else(|| catalog.and_then(|c| c.iter().find(|i| i.name == h.event_type)));
        bus_line!(
            true,
            info,
            "INFO",
            { handlers, },
            "[EventBus] Publishing event: {} (eventId: {})",
            h.event_type,
            h.id
        );
        if tracing::enabled!(target: "skillcore_events::bus", tracing::Level::DEBUG) {
            let payload = redacted_payload(env, info);
            tracing::debug!(
                target: "skillcore_events::bus",
                "[EventBus] payload of {} (pii redacted): {payload}",
                h.id
            );
        }
    }

    pub async fn run_attempt(
        &self,
        sub: &Subscriber,
        env: &DynEnvelope,
        cx: HandlerContext,
    ) -> AttemptOutcome {
        let log = self.handlers;
        async move {
            let started = log.then(|| {
                bus_line!(
                    true,
                    info,
                    "INFO",
                    {},
                    "[{}] Handling event: {} (attempt {}/{})",
                    sub.id,
                    cx.event_id,
                    cx.attempt,
                    cx.max_attempts
                );
                Instant::now()
            });
            let outcome = exec::run_attempt(sub, env, cx).await;
            if let (Some(started), true) = (started, outcome.is_success()) {
                bus_line!(
                    true,
                    info,
                    "INFO",
                    { elapsed_us = started.elapsed().as_micros() as u64, },
                    "[{}] \u{2713} handled {}",
                    sub.id,
                    cx.event_id
                );
            }
            outcome
        }
        .instrument(tracing::info_span!(
            target: "skillcore_events::bus",
            "handler",
            handler_id = sub.id,
            event_id = %cx.event_id,
            event_name = sub.event,
            attempt = cx.attempt,
        ))
        .await
    }
}

/// The payload JSON with every pii value (at any depth) replaced and every
/// field the catalogs do not know dropped: [`crate::redact`] by the linked
/// catalogs and the bus's own entry for the event.
pub(crate) fn redacted_payload(env: &DynEnvelope, info: Option<&'static EventInfo>) -> String {
    let Ok(value) = env.payload_value() else {
        return "[not logged: payload does not serialize]".into();
    };
    crate::redact::redact_with(env.event_type(), &value, info).to_string()
}
