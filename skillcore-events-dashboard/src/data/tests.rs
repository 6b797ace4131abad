use super::within;
use std::time::Duration;

/// Ready after one yield: what a first count of a tiny store looks like to
/// the request that asked for it.
async fn after_one_yield() -> u32 {
    tokio::task::yield_now().await;
    7
}

#[tokio::test(flavor = "current_thread")]
async fn a_zero_wait_never_yields() {
    assert_eq!(within(Duration::ZERO, async { 7 }).await, Some(7));
    // `tokio::time::timeout(Duration::ZERO, ..)` answers Some(7) here.
    assert_eq!(within(Duration::ZERO, after_one_yield()).await, None);
}

#[tokio::test(flavor = "current_thread")]
async fn a_wait_waits() {
    assert_eq!(
        within(Duration::from_secs(5), after_one_yield()).await,
        Some(7)
    );
    let never = std::future::pending::<u32>();
    assert_eq!(within(Duration::from_millis(5), never).await, None);
}
