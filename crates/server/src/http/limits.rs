//! How much of the server one request can take: a bounded number of requests handled at once
//! (the others wait for a slot) and a deadline for each, waiting included, after which the
//! client gets Confluent's body with a 408 rather than a connection held open forever. The body
//! size cap is axum's `DefaultBodyLimit` (every handler reads its body through an extractor that
//! honours it); the header deadline is the listener's.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::error::ApiError;

/// The slots and the deadline.
#[derive(Debug, Clone)]
pub(crate) struct Bounds {
    slots: Arc<Semaphore>,
    timeout: Duration,
}

impl Bounds {
    pub(crate) fn new(concurrent: usize, timeout: Duration) -> Self {
        Bounds {
            slots: Arc::new(Semaphore::new(concurrent.max(1))),
            timeout,
        }
    }
}

/// The middleware.
pub(crate) async fn bound(State(b): State<Bounds>, request: Request, next: Next) -> Response {
    let work = async {
        let _slot = b.slots.acquire().await;
        next.run(request).await
    };
    match tokio::time::timeout(b.timeout, work).await {
        Ok(r) => r,
        Err(_) => ApiError {
            status: StatusCode::REQUEST_TIMEOUT,
            code: 408,
            message: format!("The request took more than {:?}", b.timeout),
            category: "timeout",
        }
        .into_response(),
    }
}
