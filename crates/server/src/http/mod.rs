//! The HTTP layer: Confluent's Admin REST v3 paths for clusters (and their brokers), topics, links, link configs
//! and mirrors, served under both `/kafka/v3` (Confluent Server) and `/v3` (REST Proxy), plus
//! `/healthz`, `/readyz`, `/metrics` and `/openapi.yaml`.
//!
//! Handlers turn requests into [`LinkManager`] calls and its answers into the JSON shapes of
//! `clusterlink_rest_v3` (the contract the reconciler's client reads too):
//! - `context`: what every handler shares (state, URLs, query flags, bodies);
//! - `error`: error responses and how link and Kafka errors map onto them;
//! - `clusters`, `topics`, `links` (and their configs), `mirrors`: the resources;
//! - `health`: liveness, readiness, metrics (with each request's time to answer) and the
//!   OpenAPI document (`/openapi.yaml`);
//! - [`auth`]: who is asking (basic, bearer, mTLS) and whether their role allows it;
//! - `limits`: how many requests at once, how long each, how large a body.

pub mod auth;
mod clusters;
mod context;
mod error;
mod health;
mod limits;
mod links;
mod mirrors;
mod topics;

use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use clusterlink_rest_v3::MirrorAction;

pub use error::ApiError;

use crate::links::LinkManager;
use crate::metrics::ServerMetrics;
use context::Api;
use error::ErrorCategory;

/// The whole HTTP service, open to anyone, with the default limits.
pub fn router(manager: LinkManager) -> Router {
    secured_router(manager, None, &crate::listener::Limits::default())
}

/// The whole HTTP service: with `auth`, every request but the public paths
/// ([`auth::PUBLIC_PATHS`]) needs a principal whose role allows it.
pub fn secured_router(
    manager: LinkManager,
    auth: Option<std::sync::Arc<auth::Authenticator>>,
    limits: &crate::listener::Limits,
) -> Router {
    let counting = manager.clone();
    let max_body_bytes = limits.max_body_bytes;
    let metrics = ServerMetrics::new(manager.clone());
    let scraped = metrics.clone();
    let routes = Router::new()
        .nest("/kafka/v3", api_routes(manager.clone(), "/kafka/v3"))
        .nest("/v3", api_routes(manager.clone(), "/v3"))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(move || health::metrics(scraped.clone())))
        .route("/openapi.yaml", get(health::openapi))
        .with_state(manager);
    let routes = match auth {
        Some(a) => routes.layer(axum::middleware::from_fn_with_state(a, auth::authenticate)),
        None => routes,
    };
    routes
        .layer(axum::extract::DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            health::time_request,
        ))
        .layer(axum::middleware::map_response(move |r: Response| {
            let counting = counting.clone();
            let max_body = max_body_bytes;
            async move {
                // axum refuses an oversized body in plain text: Confluent's body instead.
                let r = if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE
                    && r.extensions().get::<ErrorCategory>().is_none()
                {
                    ApiError::too_large(max_body).into_response()
                } else {
                    r
                };
                if let Some(ErrorCategory(c)) = r.extensions().get::<ErrorCategory>() {
                    counting.count_error(c);
                }
                r
            }
        }))
        .layer(axum::middleware::from_fn_with_state(
            limits::Bounds::new(limits.max_concurrent_requests, limits.request_timeout),
            limits::bound,
        ))
        .fallback(|| async { ApiError::not_found(404, "HTTP 404 Not Found") })
}

/// The routes of one prefix.
fn api_routes(manager: LinkManager, prefix: &'static str) -> Router<LinkManager> {
    let cluster = "/clusters/{cluster_id}";
    let link = "/clusters/{cluster_id}/links/{link}";
    let mut r: Router<Api> = Router::new()
        .route("/clusters", get(clusters::list_clusters))
        .route(cluster, get(clusters::get_cluster))
        .route(&format!("{cluster}/brokers"), get(clusters::list_brokers))
        .route(
            &format!("{cluster}/topics"),
            get(topics::list_topics).post(topics::create_topic),
        )
        .route(
            &format!("{cluster}/topics/{{topic}}"),
            get(topics::get_topic).delete(topics::delete_topic),
        )
        .route(
            &format!("{cluster}/topics/{{topic}}/configs"),
            get(topics::topic_configs),
        )
        .route(
            &format!("{cluster}/topics/{{topic}}/configs:alter"),
            post(topics::alter_topic_configs),
        )
        .route(
            &format!("{cluster}/links"),
            get(links::list_links).post(links::create_link),
        )
        .route(
            &format!("{cluster}/links/-/mirrors"),
            get(mirrors::list_all_mirrors),
        )
        .route(link, get(links::get_link).delete(links::delete_link))
        .route(&format!("{link}/configs"), get(links::link_configs))
        .route(
            &format!("{link}/configs:alter"),
            put(links::alter_link_configs).post(links::alter_link_configs),
        )
        .route(
            &format!("{link}/configs/{{name}}"),
            get(links::link_config)
                .put(links::put_link_config)
                .merge(delete(links::delete_link_config)),
        )
        .route(
            &format!("{link}/mirrors"),
            get(mirrors::list_mirrors).post(mirrors::create_mirror),
        )
        .route(
            &format!("{link}/mirrors/{{mirror}}"),
            get(mirrors::get_mirror),
        );
    for action in MirrorAction::ALL {
        for path in std::iter::once(action.as_str()).chain(action.alias()) {
            r = r.route(
                &format!("{link}/mirrors:{path}"),
                post(move |s, h, p, q, b| mirrors::alter_mirrors(s, h, p, q, b, action)),
            );
        }
    }
    r.with_state(Api { manager, prefix })
}
