//! Watch streams: newline-delimited JSON events, from the history and then live.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::resource::ResKey;
use super::select::Filter;
use super::store::{EventType, HistEvent, Store};
use super::{lock, Inner};

/// Where a watch starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start {
    /// From the current state: an `ADDED` event per existing object, then changes
    /// (`resourceVersion` unset or `0`, or `sendInitialEvents=true`).
    Current,
    /// From the changes after this version.
    After(u64),
}

/// A parsed watch request.
#[derive(Debug, Clone)]
pub(crate) struct WatchRequest {
    pub(crate) res: ResKey,
    pub(crate) filter: Filter,
    pub(crate) start: Start,
    pub(crate) bookmarks: bool,
    /// Send the `k8s.io/initial-events-end` bookmark after the initial events.
    pub(crate) send_initial_events: bool,
    pub(crate) timeout: Duration,
    pub(crate) metadata_only: bool,
}

/// The state of one open watch.
#[derive(Debug)]
struct WatchState {
    inner: Arc<Inner>,
    request: WatchRequest,
    kind: String,
    /// Events up to this version have been considered.
    cursor: u64,
    close_epoch: u64,
    pending: VecDeque<String>,
    deadline: Instant,
    next_bookmark: Option<Instant>,
    bookmark_interval: Duration,
    changed: tokio::sync::watch::Receiver<u64>,
    done: bool,
}

/// Opens a watch: a stream of JSON lines, ending at the timeout, after a 410 error, or when
/// watches are closed.
pub(crate) fn open(
    inner: Arc<Inner>,
    request: WatchRequest,
) -> impl Stream<Item = Result<String, Infallible>> + Send + 'static {
    let bookmark_interval = *lock(&inner.bookmark_interval);
    let mut changed = inner.changed.subscribe();
    changed.borrow_and_update();
    let now = Instant::now();
    let state = {
        let store = lock(&inner.store);
        let kind = store.kind(&request.res);
        let mut state = WatchState {
            inner: inner.clone(),
            kind,
            cursor: 0,
            close_epoch: store.close_epoch,
            pending: VecDeque::new(),
            deadline: now + request.timeout,
            next_bookmark: request.bookmarks.then(|| now + bookmark_interval),
            bookmark_interval,
            changed,
            done: false,
            request,
        };
        match state.request.start {
            Start::Current => {
                for stored in store.list(&state.request.res, None) {
                    if state.request.filter.matches(&stored.object) {
                        let line = state.line(EventType::Added.as_str(), &stored.object);
                        state.pending.push_back(line);
                    }
                }
                state.cursor = store.rv;
                if state.request.send_initial_events {
                    let line = state.bookmark(store.rv, true);
                    state.pending.push_back(line);
                }
            }
            Start::After(rv) => state.cursor = rv,
        }
        state
    };
    futures::stream::unfold(state, |mut state| async move {
        state.next_line().await.map(|line| (Ok(line), state))
    })
}

impl WatchState {
    async fn next_line(&mut self) -> Option<String> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                return Some(line);
            }
            if self.done {
                return None;
            }
            self.changed.borrow_and_update();
            {
                let inner = self.inner.clone();
                let store = lock(&inner.store);
                self.collect(&store);
            }
            if !self.pending.is_empty() || self.done {
                continue;
            }
            let wake_for_bookmark = self.next_bookmark.unwrap_or(self.deadline);
            tokio::select! {
                _ = self.changed.changed() => {}
                _ = tokio::time::sleep_until(self.deadline) => self.done = true,
                _ = tokio::time::sleep_until(wake_for_bookmark), if self.next_bookmark.is_some() => {
                    let line = self.bookmark(self.cursor, false);
                    self.pending.push_back(line);
                    self.next_bookmark = Some(Instant::now() + self.bookmark_interval);
                }
            }
        }
    }

    /// Queues the events after the cursor (or the 410 error) and moves the cursor to the present.
    fn collect(&mut self, store: &Store) {
        if store.close_epoch != self.close_epoch {
            self.done = true;
            return;
        }
        if self.cursor < store.compacted {
            let status = json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": format!(
                    "too old resource version: {} ({})",
                    self.cursor, store.compacted
                ),
                "reason": "Expired",
                "code": 410,
            });
            let line = encode("ERROR", &status);
            self.pending.push_back(line);
            self.done = true;
            return;
        }
        let start = store.history.partition_point(|e| e.rv <= self.cursor);
        let events: Vec<(EventType, &HistEvent)> = store
            .history
            .range(start..)
            .filter(|e| e.res == self.request.res)
            .filter_map(|e| self.visible_as(e).map(|ty| (ty, e)))
            .collect();
        for (ty, event) in events {
            let line = self.line(ty.as_str(), &event.object);
            self.pending.push_back(line);
        }
        self.cursor = store.rv.max(self.cursor);
    }

    /// How a change looks through the watch's filter: a modification moving an object into the
    /// selection is an addition, out of it a deletion.
    fn visible_as(&self, event: &HistEvent) -> Option<EventType> {
        let filter = &self.request.filter;
        let now = filter.matches(&event.object);
        match event.ty {
            EventType::Added | EventType::Deleted => now.then_some(event.ty),
            EventType::Modified => {
                let before = event.prev.as_ref().is_some_and(|p| filter.matches(p));
                match (before, now) {
                    (true, true) => Some(EventType::Modified),
                    (false, true) => Some(EventType::Added),
                    (true, false) => Some(EventType::Deleted),
                    (false, false) => None,
                }
            }
        }
    }

    fn line(&self, ty: &str, object: &Value) -> String {
        if self.request.metadata_only {
            encode(ty, &metadata_only(object))
        } else {
            encode(ty, object)
        }
    }

    fn bookmark(&self, rv: u64, initial_events_end: bool) -> String {
        let (api_version, kind) = if self.request.metadata_only {
            (
                "meta.k8s.io/v1".to_owned(),
                "PartialObjectMetadata".to_owned(),
            )
        } else {
            (self.request.res.api_version.clone(), self.kind.clone())
        };
        let mut metadata = json!({ "resourceVersion": rv.to_string() });
        if initial_events_end {
            metadata["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
        }
        encode(
            "BOOKMARK",
            &json!({ "apiVersion": api_version, "kind": kind, "metadata": metadata }),
        )
    }
}

fn encode(ty: &str, object: &Value) -> String {
    let mut line = json!({ "type": ty, "object": object }).to_string();
    line.push('\n');
    line
}

/// The `PartialObjectMetadata` form of an object.
pub(crate) fn metadata_only(object: &Value) -> Value {
    json!({
        "apiVersion": "meta.k8s.io/v1",
        "kind": "PartialObjectMetadata",
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}
