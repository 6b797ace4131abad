//! Follow-up events published from inside a handler, through its
//! [`HandlerContext`]: the new event carries the handled event's correlation
//! id (or starts a chain at its id) and the handled event's id as its
//! causation id, without the handler passing either.
//!
//! The bus runs each attempt with the event being handled and a handle on its
//! backend in a task-local slot, so `HandlerContext` stays a small `Copy`
//! value; `publish` works on the handler's own task (not from a task the
//! handler spawns: publish before spawning, or pass the built envelope).

use super::HandlerContext;
use crate::bus::{Backend, PublishError};
use crate::envelope::{DynEnvelope, Envelope, IntoEnvelope, Metadata};
use crate::Event;
use std::future::Future;
use std::sync::Weak;
use uuid::Uuid;

/// The event an attempt is handling, and where follow-ups go.
#[derive(Clone)]
pub(crate) struct Cause {
    pub(crate) envelope: DynEnvelope,
    pub(crate) publisher: Weak<dyn Backend>,
}

tokio::task_local! {
    static CAUSE: Cause;
}

/// Runs `attempt` with `cause` in reach of [`HandlerContext::publish`].
pub(crate) async fn scoped<F: Future>(cause: Option<Cause>, attempt: F) -> F::Output {
    match cause {
        Some(c) => CAUSE.scope(c, attempt).await,
        None => attempt.await,
    }
}

/// Sets `m`'s chain from the event `cause_id` with metadata `cause`.
fn link(m: &mut Metadata, cause_id: Uuid, cause: &Metadata) {
    m.causation_id = Some(cause_id);
    m.correlation_id = Some(
        cause
            .correlation_id
            .clone()
            .unwrap_or_else(|| cause_id.to_string()),
    );
}

impl HandlerContext {
    /// Publishes an event caused by the one being handled (the intervention
    /// opened because of a failing grade): an envelope, or a bare payload
    /// whose tenant metadata comes from its fields (see
    /// [`crate::TenantFromPayload`]). Its correlation id is the handled
    /// event's (or the handled event's id, starting a chain) and its
    /// causation id the handled event's id; a correlation or causation the
    /// envelope already has is replaced.
    ///
    /// Call it on the handler's own task; from elsewhere it returns
    /// [`PublishError::Unsupported`].
    pub async fn publish(&self, event: impl IntoEnvelope) -> Result<Uuid, PublishError> {
        let mut envelope = event.into_envelope()?;
        let (cause_id, cause_meta, publisher) = CAUSE
            .try_with(|c| {
                (
                    c.envelope.id(),
                    c.envelope.header().metadata.clone(),
                    c.publisher.clone(),
                )
            })
            .map_err(|_| {
                PublishError::Unsupported(
                    "HandlerContext::publish was called outside the handler's own task (from a \
                     spawned task?): publish before spawning, or build the envelope with \
                     HandlerContext::envelope and publish it on the bus"
                        .into(),
                )
            })?;
        link(&mut envelope.metadata, cause_id, &cause_meta);
        let id = envelope.id;
        let backend = publisher.upgrade().ok_or(PublishError::ShuttingDown)?;
        backend.publish(DynEnvelope::new(envelope)).await?;
        Ok(id)
    }

    /// The envelope of a follow-up event with the handled event's tenant
    /// metadata (district, school, user) and its chain (correlation id,
    /// causation id): for a payload whose catalog entry maps no metadata, or
    /// to publish elsewhere. Outside the handler's task it has the handled
    /// event's id as causation and correlation only.
    pub fn envelope<F: Event>(&self, payload: F) -> Envelope<F> {
        let cause = CAUSE
            .try_with(|c| c.envelope.header().metadata.clone())
            .unwrap_or_default();
        let mut metadata = match payload.tenant() {
            Some(t) => t.metadata(),
            None => Metadata {
                correlation_id: None,
                causation_id: None,
                ..cause.clone()
            },
        };
        link(&mut metadata, self.event_id, &cause);
        Envelope::new(payload, metadata)
    }
}
