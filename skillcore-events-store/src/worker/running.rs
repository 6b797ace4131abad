//! The handler tasks in flight, each with the delivery it runs.

use super::exec::Executed;
use super::{Failure, Policy};
use crate::Claimed;
use skillcore_events::backend::panic_message;
use std::collections::HashMap;
use tokio::task::JoinSet;

/// Handler tasks in flight, with the delivery each one runs.
#[derive(Default)]
pub(super) struct Running {
    pub(super) set: JoinSet<Result<(), Failure>>,
    pub(super) claims: HashMap<tokio::task::Id, (Claimed, Policy)>,
}

impl Running {
    pub(super) fn len(&self) -> usize {
        self.set.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    fn settle(
        &mut self,
        joined: Result<(tokio::task::Id, Result<(), Failure>), tokio::task::JoinError>,
    ) -> Option<Executed> {
        let (id, result) = match joined {
            Ok((id, r)) => (id, r),
            Err(e) => {
                let id = e.id();
                let msg = if e.is_panic() {
                    format!("handler panicked: {}", panic_message(&*e.into_panic()))
                } else {
                    format!("handler task failed: {e}")
                };
                (id, Err(Failure::Retry(msg)))
            }
        };
        let (claimed, policy) = self.claims.remove(&id)?;
        Some(Executed {
            claimed,
            result,
            policy,
            skipped: false,
            unrun: false,
        })
    }

    /// The next handler to finish; `None` when none runs.
    pub(super) async fn next(&mut self) -> Option<Executed> {
        loop {
            let joined = self.set.join_next_with_id().await?;
            if let Some(done) = self.settle(joined) {
                return Some(done);
            }
        }
    }

    /// Moves every handler that has finished already into `into`, without
    /// waiting.
    pub(super) fn collect_ready(&mut self, into: &mut Vec<Executed>) {
        while let Some(joined) = self.set.try_join_next_with_id() {
            if let Some(done) = self.settle(joined) {
                into.push(done);
            }
        }
    }
}
