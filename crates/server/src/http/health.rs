//! `/healthz` (the process answers), `/readyz` (the local Kafka cluster answers) and
//! `/metrics` (Prometheus text, see [`crate::metrics`]).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::links::LinkManager;
use crate::metrics::metrics_text;

pub(super) async fn healthz() -> &'static str {
    "ok\n"
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

pub(super) async fn metrics(State(manager): State<LinkManager>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics_text(&manager),
    )
        .into_response()
}
