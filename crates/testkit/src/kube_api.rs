//! An in-process fake Kubernetes API server, for testing the operator with the real `kube` client
//! and controller runtime.
//!
//! # Why it exists
//!
//! No package registry ships a `kube-apiserver` binary, and envtest, kind or k3d all download
//! binaries or need Docker (see `shared/spec/test-brokers.md`, "Kubernetes"). The operator is
//! therefore tested against this fake: [`FakeApiServer::client`] returns a [`kube::Client`] whose
//! transport is an axum [`Router`](axum::Router) served in the same process, so everything above
//! the HTTP layer — `Api`, `watcher`, `reflector`, `Controller`, `finalizer()`, the event
//! `Recorder` — is kube's own code, unchanged.
//!
//! # What it emulates
//!
//! The parts of kube-apiserver's REST semantics that kube-rs and a controller rely on, for any
//! resource (`/api/v1/...` and `/apis/{group}/{version}/...`, namespaced or cluster-wide):
//!
//! - objects stored as JSON; `metadata.uid`, `creationTimestamp`, `resourceVersion` (one global
//!   counter), `generation` (bumped when anything outside `metadata` and `status` changes, and when
//!   deletion starts), `generateName`; no-op writes change nothing and emit no event;
//! - GET, LIST (with `labelSelector`: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (..)`,
//!   `k notin (..)`; `fieldSelector` on any dotted path such as `metadata.name`), and WATCH as
//!   newline-delimited JSON events: from a `resourceVersion` out of an in-memory history, from
//!   the current state for `resourceVersion` unset or `0`, with `sendInitialEvents` (initial
//!   `ADDED` events then a `BOOKMARK` annotated `k8s.io/initial-events-end`), periodic bookmarks
//!   when `allowWatchBookmarks` is set, `timeoutSeconds`, label/field selectors (an object moving
//!   out of a selector is seen as `DELETED`, into it as `ADDED`), and an `ERROR` event with a
//!   410 `Expired` status for a version older than the history (which keeps the last 10 000
//!   changes, or fewer after [`FakeApiServer::compact`]);
//! - POST, PUT (optimistic concurrency on `metadata.resourceVersion`), DELETE (finalizer-aware:
//!   `deletionTimestamp` first, removal once the last finalizer goes; no new finalizers on a
//!   deleting object), delete-collection, and PATCH as merge patch, JSON patch (with the `test`
//!   operation, and kube-apiserver's quirk that testing for `null` passes on a missing path),
//!   strategic merge patch (treated as a merge patch) and server-side apply;
//! - server-side apply: creates missing objects, requires `fieldManager`, removes fields a
//!   manager applied before and no longer applies (unless another applier still applies them),
//!   leaves fields written by others alone, reports conflicts between appliers (409) unless
//!   `force=true`; lists are atomic (replaced whole);
//! - the status subresource for every resource except core `secrets`, `configmaps`, `events`,
//!   `serviceaccounts`, `events.k8s.io` events and leases: `/status` writes change only `status`,
//!   other writes cannot change `status`, and `status` is dropped on create;
//! - `dryRun=All`, metadata-only responses (`Accept: ...;as=PartialObjectMetadata`), `/version`,
//!   and errors as `Status` objects (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`,
//!   `BadRequest`, `Expired`, ...) so that kube returns `kube::Error::Api`.
//!
//! For tests, [`FakeApiServer`] also records every request ([`FakeApiServer::requests`]), injects
//! faults ([`FakeApiServer::fail_next`]), writes and reads objects behind the API's back
//! ([`FakeApiServer::put_raw`], [`FakeApiServer::get_raw`]), forgets watch history
//! ([`FakeApiServer::compact`]) and drops open watches ([`FakeApiServer::close_watches`]).
//!
//! # What it does not emulate
//!
//! No schema validation, pruning of unknown fields, defaulting, CEL rules or admission; no
//! authentication or RBAC; no discovery (`/api`, `/apis`) and no CRD registration (every plural
//! exists); no garbage collection of `ownerReferences` and no namespace lifecycle; no
//! pagination (`limit` and `continue` are accepted and ignored: one page holds everything); no
//! `managedFields` in responses; apply conflicts only between appliers (fields written by
//! updates are not owned for conflict purposes, but an update does take a field away from an
//! applier); YAML bodies; protobuf. Different versions of one group are stored separately.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

mod http;
mod patch;
mod resource;
mod select;
mod store;
mod watch;

use resource::ResKey;
use store::Store;

/// How long a watch waits between bookmarks by default (when the client allows bookmarks).
pub const DEFAULT_BOOKMARK_INTERVAL: Duration = Duration::from_secs(10);

/// An in-process fake Kubernetes API server. Cloning is cheap and shares the state.
///
/// [`FakeApiServer::client`] must be called inside a Tokio runtime (kube's client spawns a task).
#[derive(Debug, Clone)]
pub struct FakeApiServer {
    inner: Arc<Inner>,
}

/// The shared state behind a [`FakeApiServer`].
#[derive(Debug)]
struct Inner {
    /// Objects, watch history and the resource version counter. Never held across an await.
    store: Mutex<Store>,
    /// Ticks whenever the store changes (or watches must close), to wake watch streams.
    changed: tokio::sync::watch::Sender<u64>,
    /// Every request received, in the order they were answered.
    requests: Mutex<Vec<RecordedRequest>>,
    /// Pending injected failures.
    faults: Mutex<VecDeque<Fault>>,
    /// How often a watch with `allowWatchBookmarks=true` sends a bookmark, in milliseconds.
    bookmark_interval: Mutex<Duration>,
}

/// One request the fake received, as recorded by [`FakeApiServer::requests`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The HTTP method, upper case (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`).
    pub method: String,
    /// The path, such as `/apis/platform.confluent.io/v1beta1/namespaces/default/clusterlinks/a`.
    pub path: String,
    /// The raw query string without `?` (empty when there was none).
    pub query: String,
    /// The `Content-Type` header, when present.
    pub content_type: Option<String>,
    /// The body parsed as JSON, or `Value::Null` when it was empty or not JSON.
    pub body: Value,
    /// The HTTP status code of the response (200 for a watch, whose errors come as events).
    pub status: u16,
}

impl RecordedRequest {
    /// Whether the request is a write (POST, PUT, PATCH or DELETE).
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
    }

    /// Whether the request is a watch (`watch=true` or `watch=1` in the query).
    pub fn is_watch(&self) -> bool {
        self.query
            .split('&')
            .any(|p| p == "watch=true" || p == "watch=1")
    }

    /// Value of a query parameter (percent-decoded), if present.
    pub fn query_param(&self, name: &str) -> Option<String> {
        http::parse_query(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// An injected failure (see [`FakeApiServer::fail_next`]).
#[derive(Debug, Clone)]
struct Fault {
    method: String,
    path_contains: String,
    status: u16,
    remaining: usize,
}

impl Default for FakeApiServer {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeApiServer {
    /// An empty API server (no objects, resource version 0).
    pub fn new() -> Self {
        let (changed, _) = tokio::sync::watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                store: Mutex::new(Store::default()),
                changed,
                requests: Mutex::new(Vec::new()),
                faults: Mutex::new(VecDeque::new()),
                bookmark_interval: Mutex::new(DEFAULT_BOOKMARK_INTERVAL),
            }),
        }
    }

    /// A `kube::Client` talking to this server in-process, with default namespace `default`.
    ///
    /// Must be called inside a Tokio runtime.
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.router(), "default")
    }

    /// The axum router serving the API (what [`FakeApiServer::client`] uses as transport); it
    /// can also be served on a TCP listener.
    pub fn router(&self) -> axum::Router {
        http::router(self.inner.clone())
    }

    /// Sets how often watches that allow bookmarks receive one (default
    /// [`DEFAULT_BOOKMARK_INTERVAL`]); applies to watches started afterwards.
    pub fn set_bookmark_interval(&self, interval: Duration) {
        *lock(&self.inner.bookmark_interval) = interval;
    }

    /// Creates or replaces an object directly, as another writer would, bypassing validation,
    /// preconditions, status-subresource rules and finalizer checks. Fills in `apiVersion`,
    /// `kind` (when missing), `metadata.namespace`, `uid`, `creationTimestamp`, `generation`
    /// (when missing: kept, or bumped if the spec changed) and a new `resourceVersion`, and
    /// emits `ADDED` or `MODIFIED` to watches. Returns the stored object.
    ///
    /// `api_version` is `v1` for the core group or `group/version`; `plural` the resource
    /// name as in URLs (`secrets`, `clusterlinks`).
    ///
    /// # Panics
    ///
    /// If `object` is not a JSON object with a string `metadata.name`.
    pub fn put_raw(
        &self,
        api_version: &str,
        plural: &str,
        namespace: Option<&str>,
        object: Value,
    ) -> Value {
        let res = ResKey::new(api_version, plural);
        let stored = self.store().put_raw(&res, namespace.unwrap_or(""), object);
        self.notify();
        stored
    }

    /// The stored object, if any (`namespace` `None` for cluster-scoped resources).
    pub fn get_raw(
        &self,
        api_version: &str,
        plural: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let res = ResKey::new(api_version, plural);
        self.store()
            .get(&res, namespace.unwrap_or(""), name)
            .map(|s| s.object.clone())
    }

    /// All stored objects of a resource, across namespaces, ordered by namespace then name.
    pub fn list_raw(&self, api_version: &str, plural: &str) -> Vec<Value> {
        let res = ResKey::new(api_version, plural);
        self.store()
            .list(&res, None)
            .into_iter()
            .map(|s| s.object.clone())
            .collect()
    }

    /// Deletes an object directly (ignoring finalizers) and emits `DELETED`; returns it.
    pub fn delete_raw(
        &self,
        api_version: &str,
        plural: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let res = ResKey::new(api_version, plural);
        let deleted = self.store().delete_raw(&res, namespace.unwrap_or(""), name);
        self.notify();
        deleted
    }

    /// Every request received so far, in the order they were answered.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.requests).clone()
    }

    /// Forgets the recorded requests (to assert on what happens next).
    pub fn clear_requests(&self) {
        lock(&self.inner.requests).clear();
    }

    /// The current (latest) resource version.
    pub fn resource_version(&self) -> u64 {
        self.store().rv
    }

    /// Makes the next `times` requests whose method is `method` (case-insensitive; `*` for any)
    /// and whose path-and-query (`/apis/...?watch=true&...`) contains `path_contains` fail with
    /// `status` (a `Status` body with the matching reason: 409 `Conflict`, 500 `InternalError`,
    /// ...), without touching the store. Faults are consumed in the order they were added.
    pub fn fail_next(&self, method: &str, path_contains: &str, status: u16, times: usize) {
        if times == 0 {
            return;
        }
        lock(&self.inner.faults).push_back(Fault {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_owned(),
            status,
            remaining: times,
        });
    }

    /// Forgets the watch history: a watch from any resource version older than the current one
    /// then gets an `ERROR` event with a 410 `Expired` status (as after an etcd compaction), so
    /// the client must list again. Open watches are not affected (see
    /// [`FakeApiServer::close_watches`]).
    pub fn compact(&self) {
        let mut store = self.store();
        store.history.clear();
        store.compacted = store.rv;
    }

    /// Ends every open watch stream, as a dropped connection or an API server restart would:
    /// clients watch again from the last resource version they saw.
    pub fn close_watches(&self) {
        self.store().close_epoch += 1;
        self.notify();
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.inner.store)
    }

    fn notify(&self) {
        self.inner.notify();
    }
}

impl Inner {
    /// Wakes every watch stream.
    fn notify(&self) {
        self.changed
            .send_modify(|tick| *tick = tick.wrapping_add(1));
    }

    /// Takes the first pending fault matching a request, if any.
    fn take_fault(&self, method: &str, path_and_query: &str) -> Option<u16> {
        let mut faults = lock(&self.faults);
        let index = faults.iter().position(|f| {
            (f.method == "*" || f.method == method) && path_and_query.contains(&f.path_contains)
        })?;
        let fault = &mut faults[index];
        let status = fault.status;
        fault.remaining -= 1;
        if fault.remaining == 0 {
            faults.remove(index);
        }
        Some(status)
    }

    fn record(&self, request: RecordedRequest) {
        lock(&self.requests).push(request);
    }
}

/// Locks a mutex, ignoring poisoning (a panicking test thread must not hide the state).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
