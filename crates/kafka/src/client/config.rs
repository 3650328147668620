//! The settings of a [`Client`](super::Client): where to bootstrap, how to connect, how to
//! retry, how long metadata lives, and how many connections carry produce requests.

use std::time::Duration;

use crate::connection::ConnectionConfig;

/// Settings of a [`Client`](super::Client).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port` addresses to bootstrap from.
    pub bootstrap_servers: Vec<String>,
    /// Per-connection settings.
    pub connection: ConnectionConfig,
    /// How retriable errors are retried.
    pub retry: RetryPolicy,
    /// Metadata older than this is refreshed before use.
    pub metadata_max_age: Duration,
    /// Connections per broker that produce requests are spread over (2 by default). A partition
    /// always uses the same one, so its writes stay in order; several let a broker append in
    /// parallel (Kafka handles one request per connection at a time).
    pub produce_connections: usize,
}

impl ClientConfig {
    /// Defaults with the given bootstrap list (comma-separated `host:port`).
    pub fn new(bootstrap: &str) -> Self {
        ClientConfig {
            bootstrap_servers: bootstrap
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            connection: ConnectionConfig::default(),
            retry: RetryPolicy::default(),
            metadata_max_age: Duration::from_secs(300),
            produce_connections: 2,
        }
    }
}

/// Exponential backoff with jitter, bounded by a total time.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// First backoff.
    pub initial_backoff: Duration,
    /// Largest backoff.
    pub max_backoff: Duration,
    /// No attempt starts after this much time has passed since the first.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_list_is_split_and_trimmed() {
        let c = ClientConfig::new(" a:1, b:2 ,,");
        assert_eq!(c.bootstrap_servers, vec!["a:1", "b:2"]);
    }
}
