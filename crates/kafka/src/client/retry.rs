//! Retries: exponential backoff with jitter, bounded by the policy's total time, for errors that
//! say a retry may succeed; metadata is marked stale first when the error says it is.

use std::future::Future;
use std::time::{Duration, Instant};

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
        let mut backoff = policy.initial_backoff;
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
            let sleep = jitter(backoff);
            if start.elapsed() + sleep > policy.timeout {
                return Err(Error::RetriesExhausted {
                    attempts,
                    elapsed: start.elapsed(),
                    last: Box::new(err),
                });
            }
            debug!(what, attempts, error = %err, backoff = ?sleep, "retrying");
            tokio::time::sleep(sleep).await;
            backoff = (backoff * 2).min(policy.max_backoff);
        }
    }
}

/// Backoff between 50% and 100% of `d`, spread by the clock's low bits (no RNG needed).
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    let frac = 0.5 + (nanos % 1000) as f64 / 2000.0;
    d.mul_f64(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_half_and_whole() {
        for _ in 0..100 {
            let j = jitter(Duration::from_millis(1000));
            assert!(
                j >= Duration::from_millis(500) && j <= Duration::from_millis(1000),
                "{j:?}"
            );
        }
    }
}
