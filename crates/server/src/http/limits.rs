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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt as _;

    use super::*;

    fn slow_app(slots: usize, timeout: Duration, work: Duration) -> Router {
        Router::new()
            .route(
                "/",
                get(move || async move {
                    tokio::time::sleep(work).await;
                    "done"
                }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Bounds::new(slots, timeout),
                bound,
            ))
    }

    fn request() -> Request {
        Request::builder().uri("/").body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn a_request_past_its_deadline_is_a_408_in_confluents_body() {
        let app = slow_app(4, Duration::from_millis(100), Duration::from_secs(5));
        let started = Instant::now();
        let r = app.oneshot(request()).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
        let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error_code"], 408, "{v}");
    }

    #[tokio::test]
    async fn requests_beyond_the_slots_wait_for_one() {
        let app = slow_app(1, Duration::from_secs(10), Duration::from_millis(300));
        let started = Instant::now();
        let (a, b) = tokio::join!(app.clone().oneshot(request()), app.oneshot(request()));
        assert_eq!(a.unwrap().status(), StatusCode::OK);
        assert_eq!(b.unwrap().status(), StatusCode::OK);
        // One after the other: one slot.
        assert!(
            started.elapsed() >= Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
    }
}
