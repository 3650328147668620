//! `/healthz` (the process answers and every link's engine loops: a task that ended or wedged is
//! what a restart fixes), `/readyz` (the local Kafka cluster answers), `/metrics`
//! (Prometheus text, see [`crate::metrics`]) with the request timing that feeds it, and
//! `/openapi.yaml` (the document of what this server serves, so clients and people can read the
//! contract from the server they talk to).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::links::LinkManager;
use crate::metrics::ServerMetrics;

/// The OpenAPI document of the REST API this server serves.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

pub(super) async fn healthz(State(manager): State<LinkManager>) -> Response {
    let problems = manager.liveness_problems();
    if problems.is_empty() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        let body = problems.join("\n") + "\n";
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

pub(super) async fn readyz(State(manager): State<LinkManager>) -> Response {
    if manager.ready().await {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the local Kafka cluster does not answer\n",
        )
            .into_response()
    }
}

pub(super) async fn metrics(metrics: ServerMetrics) -> Response {
    (
        [(header::CONTENT_TYPE, clusterlink_metrics::CONTENT_TYPE)],
        metrics.render(),
    )
        .into_response()
}

pub(super) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML).into_response()
}

/// Times each request into `clusterlink_http_request_duration_seconds`, by its route template
/// (not its path: one series per route, whatever the ids in it).
pub(super) async fn time_request(
    State(metrics): State<ServerMetrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    metrics.observe_request(&method, &route, started.elapsed());
    response
}
