//! The HTTP layer: routing of Kubernetes API paths, request parsing and responses.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use super::patch;
use super::resource::{ApiError, Applied, ResKey, Sub};
use super::select::Filter;
use super::store::{rv_of, Ownership, Store};
use super::watch::{self, Start, WatchRequest};
use super::{lock, Inner, RecordedRequest};

/// How long a watch without `timeoutSeconds` stays open.
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new().fallback(handle).with_state(inner)
}

/// Parses a query string into decoded pairs (a leading `&`, as kube sends, is fine).
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    format!("/?{query}")
        .parse::<Uri>()
        .ok()
        .and_then(|uri| axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri).ok())
        .map(|q| q.0)
        .unwrap_or_default()
}

async fn handle(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    let path_and_query = if query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{query}")
    };
    let response = match inner.take_fault(method.as_str(), &path_and_query) {
        Some(code) => error_response(&ApiError::new(
            code,
            format!("injected failure ({code}) for {} {path}", method.as_str()),
        )),
        None => {
            let response = dispatch(&inner, &method, &path, &query, &headers, &body);
            if method != Method::GET {
                inner.notify();
            }
            response
        }
    };
    inner.record(RecordedRequest {
        method: method.as_str().to_owned(),
        path,
        query,
        content_type: header_str(&headers, header::CONTENT_TYPE),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        status: response.status().as_u16(),
    });
    response
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A parsed resource path.
#[derive(Debug)]
struct Route {
    res: ResKey,
    namespace: Option<String>,
    name: Option<String>,
    sub: Sub,
}

impl Route {
    fn parse(path: &str) -> Result<Route, ApiError> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let not_found = || {
            ApiError::new(
                404,
                format!("the server could not find the requested resource ({path})"),
            )
        };
        let (api_version, rest) = match segments.as_slice() {
            ["api", version, rest @ ..] => ((*version).to_owned(), rest),
            ["apis", group, version, rest @ ..] => (format!("{group}/{version}"), rest),
            _ => return Err(not_found()),
        };
        let (namespace, rest) = match rest {
            ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some((*ns).to_owned()), rest),
            _ => (None, rest),
        };
        let (plural, name, sub) = match rest {
            [plural] => (plural, None, Sub::Main),
            [plural, name] => (plural, Some(*name), Sub::Main),
            [plural, name, "status"] => (plural, Some(*name), Sub::Status),
            _ => return Err(not_found()),
        };
        let res = ResKey::new(&api_version, plural);
        if sub == Sub::Status && !res.has_status_subresource() {
            return Err(not_found());
        }
        Ok(Route {
            res,
            namespace,
            name: name.map(str::to_owned),
            sub,
        })
    }

    fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }
}

/// Query parameters, decoded.
#[derive(Debug)]
struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }

    fn dry_run(&self) -> bool {
        self.0.iter().any(|(k, v)| k == "dryRun" && v == "All")
    }
}

fn dispatch(
    inner: &Arc<Inner>,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    if path == "/version" && method == Method::GET {
        return json_response(StatusCode::OK, &version_info());
    }
    let route = match Route::parse(path) {
        Ok(route) => route,
        Err(e) => return error_response(&e),
    };
    let query = Query(parse_query(query));
    let metadata_only =
        header_str(headers, header::ACCEPT).is_some_and(|a| a.contains("as=PartialObjectMetadata"));
    if method == Method::GET && query.flag("watch") {
        return match watch_request(&route, &query, metadata_only) {
            Ok(request) => {
                let stream = watch::open(inner.clone(), request);
                Response::builder()
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from_stream(stream))
                    .expect("valid response")
            }
            Err(e) => error_response(&e),
        };
    }
    let body_json = || -> Result<Value, ApiError> {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
    };
    let content_type = header_str(headers, header::CONTENT_TYPE).unwrap_or_default();
    let mut store = lock(&inner.store);
    let result = match (method.as_str(), route.name.as_deref()) {
        ("GET", None) => list(&store, &route, &query, metadata_only),
        ("GET", Some(name)) => match store.get(&route.res, route.ns(), name) {
            Some(stored) if metadata_only => {
                Ok((StatusCode::OK, watch::metadata_only(&stored.object)))
            }
            Some(stored) => Ok((StatusCode::OK, stored.object.clone())),
            None => Err(ApiError::not_found(&route.res, name)),
        },
        ("POST", None) => body_json().and_then(|b| create(&mut store, &route, &query, b)),
        ("PUT", Some(name)) => {
            body_json().and_then(|b| replace(&mut store, &route, name, &query, b))
        }
        ("PATCH", Some(name)) => body_json()
            .and_then(|b| patch_object(&mut store, &route, name, &query, &content_type, b)),
        ("DELETE", Some(name)) => delete(&mut store, &route, name, &query, body),
        ("DELETE", None) => delete_collection(&mut store, &route, &query),
        _ => Err(ApiError::new(
            405,
            format!(
                "the server does not allow this method on the requested resource ({method} {path})"
            ),
        )),
    };
    drop(store);
    match result {
        Ok((status, object)) => json_response(status, &object),
        Err(e) => error_response(&e),
    }
}

type Outcome = Result<(StatusCode, Value), ApiError>;

/// A list answer: the items with the list's kind and the store's resource version.
fn list_body(store: &Store, res: &ResKey, metadata_only: bool, items: Vec<Value>) -> Value {
    let (api_version, kind) = list_kind(store, res, metadata_only);
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": { "resourceVersion": store.rv.to_string() },
        "items": items,
    })
}

fn list_kind(store: &Store, res: &ResKey, metadata_only: bool) -> (String, String) {
    if metadata_only {
        ("meta.k8s.io/v1".into(), "PartialObjectMetadataList".into())
    } else {
        (res.api_version.clone(), format!("{}List", store.kind(res)))
    }
}

fn list(store: &Store, route: &Route, query: &Query, metadata_only: bool) -> Outcome {
    let filter = Filter::new(
        route.namespace.clone(),
        query.get("labelSelector"),
        query.get("fieldSelector"),
    )?;
    let items: Vec<Value> = store
        .list(&route.res, route.namespace.as_deref())
        .into_iter()
        .filter(|s| filter.matches(&s.object))
        .map(|s| {
            if metadata_only {
                watch::metadata_only(&s.object)
            } else {
                s.object.clone()
            }
        })
        .collect();
    Ok((
        StatusCode::OK,
        list_body(store, &route.res, metadata_only, items),
    ))
}

fn watch_request(
    route: &Route,
    query: &Query,
    metadata_only: bool,
) -> Result<WatchRequest, ApiError> {
    let mut filter = Filter::new(
        route.namespace.clone(),
        query.get("labelSelector"),
        query.get("fieldSelector"),
    )?;
    if let Some(name) = &route.name {
        filter = filter.with_name(name);
    }
    let send_initial_events = query.flag("sendInitialEvents");
    let start = match query.get("resourceVersion") {
        _ if send_initial_events => Start::Current,
        None | Some("" | "0") => Start::Current,
        Some(rv) => Start::After(
            rv.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))?,
        ),
    };
    let timeout = match query.get("timeoutSeconds") {
        None | Some("0") => DEFAULT_WATCH_TIMEOUT,
        Some(t) => Duration::from_secs(
            t.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {t:?}")))?,
        ),
    };
    Ok(WatchRequest {
        res: route.res.clone(),
        filter,
        start,
        bookmarks: query.flag("allowWatchBookmarks"),
        send_initial_events,
        timeout,
        metadata_only,
    })
}

/// Checks the type and namespace a body claims against the request's.
fn check_body(route: &Route, body: &Value, name: Option<&str>) -> Result<(), ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    if let Some(api_version) = body.get("apiVersion").and_then(Value::as_str) {
        if api_version != route.res.api_version {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({api_version}) does not match the expected API \
                 version ({})",
                route.res.api_version
            )));
        }
    }
    let meta = &body["metadata"];
    if let Some(ns) = meta["namespace"].as_str() {
        if !ns.is_empty() && ns != route.ns() {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the \
                 request",
            ));
        }
    }
    if let (Some(expected), Some(actual)) = (name, meta["name"].as_str()) {
        if expected != actual {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({actual}) does not match the name on the URL ({expected})"
            )));
        }
    }
    Ok(())
}

fn create(store: &mut Store, route: &Route, query: &Query, body: Value) -> Outcome {
    if route.sub == Sub::Status {
        return Err(ApiError::new(405, "cannot create a status subresource"));
    }
    check_body(route, &body, None)?;
    store.learn_kind(&route.res, &body);
    let object = store.create(
        &route.res,
        route.ns(),
        body,
        Applied::new(),
        query.dry_run(),
    )?;
    Ok((StatusCode::CREATED, object))
}

fn replace(store: &mut Store, route: &Route, name: &str, query: &Query, body: Value) -> Outcome {
    check_body(route, &body, Some(name))?;
    store.learn_kind(&route.res, &body);
    let precondition = rv_of(&body).to_owned();
    let object = store.update(
        &route.res,
        route.ns(),
        name,
        route.sub,
        body,
        Some(&precondition),
        Ownership::Update,
        query.dry_run(),
    )?;
    Ok((StatusCode::OK, object))
}

fn patch_object(
    store: &mut Store,
    route: &Route,
    name: &str,
    query: &Query,
    content_type: &str,
    body: Value,
) -> Outcome {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let current = store.get(&route.res, route.ns(), name);
    match media_type.as_str() {
        "application/apply-patch+yaml" | "application/apply-patch+json" => {
            apply(store, route, name, query, body)
        }
        "application/merge-patch+json"
        | "application/strategic-merge-patch+json"
        | "application/json-patch+json" => {
            let Some(current) = current else {
                return Err(ApiError::not_found(&route.res, name));
            };
            let mut candidate = current.object.clone();
            if media_type == "application/json-patch+json" {
                patch::json(&mut candidate, &body)?;
            } else {
                if !body.is_object() {
                    return Err(ApiError::bad_request("a merge patch must be a JSON object"));
                }
                patch::merge(&mut candidate, &body);
            }
            // A resourceVersion the patch sets is a precondition.
            let precondition = rv_of(&candidate).to_owned();
            let object = store.update(
                &route.res,
                route.ns(),
                name,
                route.sub,
                candidate,
                Some(&precondition),
                Ownership::Update,
                query.dry_run(),
            )?;
            Ok((StatusCode::OK, object))
        }
        other => Err(ApiError::new(
            415,
            format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {other:?})"),
        )),
    }
}

fn apply(store: &mut Store, route: &Route, name: &str, query: &Query, body: Value) -> Outcome {
    let manager = query.get("fieldManager").unwrap_or_default().to_owned();
    if manager.is_empty() {
        return Err(ApiError::bad_request(
            "PATCH, actionType apply: fieldManager is required for apply requests",
        ));
    }
    check_body(route, &body, Some(name))?;
    let has = |field: &str| {
        body.get(field)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if !has("apiVersion") || !has("kind") {
        return Err(ApiError::bad_request(
            "invalid object type: an applied object needs apiVersion and kind",
        ));
    }
    store.learn_kind(&route.res, &body);
    let force = query.flag("force");
    let dry_run = query.dry_run();
    let precondition = rv_of(&body).to_owned();
    match store.get(&route.res, route.ns(), name) {
        Some(current) => {
            let (candidate, applied) = patch::server_side_apply(
                &route.res,
                route.sub,
                &current.object,
                &current.applied,
                &manager,
                force,
                &body,
            )?;
            let object = store.update(
                &route.res,
                route.ns(),
                name,
                route.sub,
                candidate,
                Some(&precondition),
                Ownership::Apply(applied),
                dry_run,
            )?;
            Ok((StatusCode::OK, object))
        }
        None if route.sub == Sub::Status => Err(ApiError::not_found(&route.res, name)),
        None => {
            if !precondition.is_empty() {
                return Err(ApiError::modified(&route.res, name));
            }
            let mut skeleton = json!({
                "apiVersion": route.res.api_version,
                "kind": body["kind"],
                "metadata": { "name": name },
            });
            if let Some(ns) = &route.namespace {
                skeleton["metadata"]["namespace"] = ns.clone().into();
            }
            let (object, applied) = patch::server_side_apply(
                &route.res,
                route.sub,
                &skeleton,
                &Applied::new(),
                &manager,
                force,
                &body,
            )?;
            let object = store.create(&route.res, route.ns(), object, applied, dry_run)?;
            Ok((StatusCode::CREATED, object))
        }
    }
}

fn delete(store: &mut Store, route: &Route, name: &str, query: &Query, body: &Bytes) -> Outcome {
    if route.sub == Sub::Status {
        return Err(ApiError::new(405, "cannot delete a status subresource"));
    }
    let options: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
    };
    if let (Some(uid), Some(current)) = (
        options["preconditions"]["uid"].as_str(),
        store.get(&route.res, route.ns(), name),
    ) {
        if current.object["metadata"]["uid"].as_str() != Some(uid) {
            return Err(ApiError::new(
                409,
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: UID in \
                     precondition: {uid}, UID in object meta: {}",
                    route.res.qualified(),
                    current.object["metadata"]["uid"]
                        .as_str()
                        .unwrap_or_default()
                ),
            ));
        }
    }
    let dry_run = query.dry_run()
        || options["dryRun"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "All"));
    let object = store.delete(
        &route.res,
        route.ns(),
        name,
        options["preconditions"]["resourceVersion"].as_str(),
        dry_run,
    )?;
    Ok((StatusCode::OK, object))
}

fn delete_collection(store: &mut Store, route: &Route, query: &Query) -> Outcome {
    let filter = Filter::new(
        route.namespace.clone(),
        query.get("labelSelector"),
        query.get("fieldSelector"),
    )?;
    let targets: Vec<(String, String)> = store
        .list(&route.res, route.namespace.as_deref())
        .into_iter()
        .filter(|s| filter.matches(&s.object))
        .map(|s| {
            let meta = &s.object["metadata"];
            (
                meta["namespace"].as_str().unwrap_or_default().to_owned(),
                meta["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut items = Vec::new();
    for (ns, name) in targets {
        items.push(store.delete(&route.res, &ns, &name, None, query.dry_run())?);
    }
    Ok((StatusCode::OK, list_body(store, &route.res, false, items)))
}

fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-clusterlink-fake",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go0",
        "compiler": "rustc",
        "platform": "linux/amd64",
    })
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub(crate) fn error_response(error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &error.to_status())
}
