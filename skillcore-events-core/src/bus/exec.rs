//! Running one attempt of one handler: timeout, panic isolation, logging. The
//! part of dispatch every backend shares.

use crate::envelope::DynEnvelope;
use crate::handler::{HandlerContext, HandlerError};
use crate::ids::splitmix64;
use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::Subscriber;

/// How one attempt ended.
#[derive(Debug)]
pub enum AttemptOutcome {
    /// The handler returned `Ok(())`.
    Succeeded,
    /// The handler returned an error.
    Failed(HandlerError),
    /// The handler panicked; the message is kept.
    Panicked(String),
    /// The attempt ran longer than the handler's timeout (the limit) and was
    /// cut off.
    TimedOut(Duration),
    /// The attempt finished (whatever its result) only after its timeout:
    /// the handler blocked its thread, so the timer could not cut it off.
    /// A failed attempt like [`AttemptOutcome::TimedOut`].
    Overran {
        /// The handler's timeout.
        limit: Duration,
        /// How long the attempt ran.
        elapsed: Duration,
    },
}

impl AttemptOutcome {
    /// `true` for [`AttemptOutcome::Succeeded`].
    pub fn is_success(&self) -> bool {
        matches!(self, AttemptOutcome::Succeeded)
    }

    /// `true` when retrying cannot help (a permanent [`HandlerError`]).
    pub fn is_permanent(&self) -> bool {
        matches!(self, AttemptOutcome::Failed(e) if e.is_permanent())
    }

    /// The failure as text (empty on success).
    pub fn error_text(&self) -> String {
        match self {
            AttemptOutcome::Succeeded => String::new(),
            AttemptOutcome::Failed(e) => crate::quote::bounded(&e.to_string(), 4096),
            AttemptOutcome::Panicked(m) => format!("panicked: {}", crate::quote::bounded(m, 4096)),
            AttemptOutcome::TimedOut(d) => format!("timed out after {}", super::fmt_duration(*d)),
            AttemptOutcome::Overran { limit, elapsed } => format!(
                "timed out after {}: the attempt returned after {} (a handler must not block its \
                 thread; run blocking work with tokio::task::spawn_blocking)",
                super::fmt_duration(*limit),
                super::fmt_duration(*elapsed)
            ),
        }
    }
}

/// Polls a future, turning a panic inside `poll` into an error.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = Pin::new(&mut self.0);
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// A timeout whose timer is only created when the future does not finish on
/// its first poll: a handler that completes at once never touches the timer
/// wheel. The limit counts from `start` (before the handler was called), so a
/// first poll that blocked its thread past the limit ends the attempt at once.
/// `None`: no limit.
struct LazyTimeout<F> {
    fut: F,
    limit: Option<(Duration, std::time::Instant)>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<F: Future + Unpin> Future for LazyTimeout<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(v) = Pin::new(&mut self.fut).poll(cx) {
            return Poll::Ready(Some(v));
        }
        let Some((limit, start)) = self.limit else {
            return Poll::Pending;
        };
        let sleep = self.sleep.get_or_insert_with(|| {
            // What the wall clock says is left; Tokio's clock (which tests
            // may pause) runs the timer.
            Box::pin(tokio::time::sleep(limit.saturating_sub(start.elapsed())))
        });
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The text of a panic payload (a `&str` or a `String`; anything else is
/// named as such): what every backend writes for a handler that panicked.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Runs one attempt of `sub` on `envelope`: calls the handler (a panic while
/// building or polling its future is caught), bounded by its timeout.
///
/// An attempt that ran longer than its timeout is timed out however it
/// finished: a handler that blocks its thread cannot be interrupted (only a
/// pending future can), so it may return `Ok` after the limit, and that late
/// result is not taken as a success.
pub async fn run_attempt(
    sub: &Subscriber,
    envelope: &DynEnvelope,
    cx: HandlerContext,
) -> AttemptOutcome {
    let limit = sub.policy.timeout;
    // One clock read here and one at the end: what an attempt costs for this.
    let start = limit.map(|l| (l, std::time::Instant::now()));
    let started = catch_unwind(AssertUnwindSafe(|| sub.handler.call(envelope, cx)));
    let fut = match started {
        Ok(f) => f,
        Err(p) => return AttemptOutcome::Panicked(panic_message(&*p)),
    };
    let guarded = LazyTimeout {
        fut: CatchUnwind(fut),
        limit: start,
        sleep: None,
    };
    let Some(result) = guarded.await else {
        return AttemptOutcome::TimedOut(limit.unwrap_or_default());
    };
    if let Some((limit, start)) = start {
        let elapsed = start.elapsed();
        if elapsed > limit {
            return AttemptOutcome::Overran { limit, elapsed };
        }
    }
    match result {
        Ok(Ok(())) => AttemptOutcome::Succeeded,
        Ok(Err(e)) => AttemptOutcome::Failed(e),
        Err(p) => AttemptOutcome::Panicked(panic_message(&*p)),
    }
}

/// A fast hasher for the idempotency record's keys (event id + handler index):
/// UUID v7 ids end in random bits, so mixing the words is enough.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        splitmix64(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(23) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    fn write_u128(&mut self, n: u128) {
        self.write_u64(n as u64);
        self.write_u64((n >> 64) as u64);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}
