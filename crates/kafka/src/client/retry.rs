//! Retries: exponential backoff with jitter, bounded by the policy's total time, for errors that
//! say a retry may succeed; metadata is marked stale first when the error says it is.
//!
//! The delays come from `backon`'s exponential backoff; the loop is ours, because the bound is
//! on the time since the first attempt (requests included, not only the sleeps, which is all
//! `backon` counts) and because running out is its own error with the attempts and the time.

use std::future::Future;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};

use tracing::debug;

use super::handle::Client;
use crate::error::{Error, Result};

impl Client {
    /// Runs `op` until it succeeds, fails with a non-retriable error, or the policy's time is up.
    pub async fn retry<T, F, Fut>(&self, what: &str, op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.retry_when(what, op, |_| true).await
    }

    /// Like [`Client::retry`], but a retriable error is retried only when `may_retry` agrees
    /// (a produce without idempotence must not be repeated after an ambiguous failure).
    pub(super) async fn retry_when<T, F, Fut>(
        &self,
        what: &str,
        mut op: F,
        may_retry: impl Fn(&Error) -> bool,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let policy = &self.inner.config.retry;
        let start = Instant::now();
        let mut delays = delays(policy.initial_backoff, policy.max_backoff);
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let err = match op().await {
                Ok(v) => return Ok(v),
                Err(e) if !e.is_retriable() || !may_retry(&e) => return Err(e),
                Err(e) => e,
            };
            if err.needs_metadata_refresh() {
                self.invalidate_metadata();
            }
            let sleep = delays.next().unwrap_or(policy.max_backoff);
            if start.elapsed() + sleep > policy.timeout {
                return Err(Error::RetriesExhausted {
                    attempts,
                    elapsed: start.elapsed(),
                    last: Box::new(err),
                });
            }
            debug!(what, attempts, error = %err, backoff = ?sleep, "retrying");
            tokio::time::sleep(sleep).await;
        }
    }
}

/// The delays between attempts: doubling from `initial` up to `max`, each cut to a random
/// point between its half and itself (backon's jitter adds up to 100% to half the delay), so
/// that clients that failed together do not retry together. Endless: the caller bounds them.
fn delays(initial: Duration, max: Duration) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::new()
        .with_min_delay(initial / 2)
        .with_max_delay(max / 2)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_largest_each_between_its_half_and_itself() {
        let (initial, max) = (Duration::from_millis(100), Duration::from_secs(5));
        // backon computes in f32 seconds: a microsecond either way is rounding.
        let slack = Duration::from_micros(1);
        for _ in 0..50 {
            let got: Vec<Duration> = delays(initial, max).take(12).collect();
            for (i, d) in got.iter().enumerate() {
                let full = (initial * 2u32.pow(i as u32)).min(max);
                assert!(
                    *d + slack >= full / 2 && *d <= full + slack,
                    "attempt {i}: {d:?} for {full:?}"
                );
            }
        }
    }
}
