//! Tests of the fake Kubernetes API server, through kube's own client and controller runtime.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clusterlink_testkit::kube_api::FakeApiServer;
use futures::{Stream, StreamExt};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event as RecorderEvent, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{finalizer, Event as FinalizerEvent};
use kube::runtime::watcher::{self, watcher, Event};
use kube::{CustomResource, Resource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A small namespaced custom resource with a status subresource.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "test.clusterlink.dev",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    derive = "PartialEq"
)]
pub struct WidgetSpec {
    size: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    color: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WidgetStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    notes: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    conditions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    observed_generation: Option<i64>,
}

const API_VERSION: &str = "test.clusterlink.dev/v1";
const WAIT: Duration = Duration::from_secs(5);

fn widget(name: &str, size: u32) -> Widget {
    Widget::new(name, WidgetSpec { size, color: None })
}

fn api_code(result: Result<impl std::fmt::Debug, kube::Error>) -> (u16, String) {
    match result {
        Err(kube::Error::Api(status)) => (status.code, status.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Polls `check` until it holds, failing after [`WAIT`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The next item of a stream, failing after [`WAIT`].
async fn next<S: Stream + Unpin>(stream: &mut S) -> S::Item {
    tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("timed out waiting for the stream")
        .expect("the stream ended")
}

/// Skips watcher events until one satisfies `pred`, returning it.
async fn next_matching<S, T, E>(
    stream: &mut S,
    mut pred: impl FnMut(&Result<T, E>) -> bool,
) -> Result<T, E>
where
    S: Stream<Item = Result<T, E>> + Unpin,
{
    loop {
        let item = next(stream).await;
        if pred(&item) {
            return item;
        }
    }
}

#[tokio::test]
async fn create_get_list_replace_delete_with_generation_and_status_rules() {
    let server = FakeApiServer::new();
    let api: Api<Widget> = Api::default_namespaced(server.client());
    let pp = PostParams::default();

    let mut with_status = widget("a", 1);
    with_status.status = Some(WidgetStatus {
        phase: Some("Smuggled".into()),
        ..Default::default()
    });
    let created = api.create(&pp, &with_status).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.namespace().as_deref(), Some("default"));
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    assert!(created.resource_version().is_some());
    assert_eq!(created.status, None, "status is dropped on create");

    assert_eq!(api.get("a").await.unwrap(), created);
    let (code, reason) = api_code(api.create(&pp, &widget("a", 9)).await);
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"));
    api.create(&pp, &widget("b", 2)).await.unwrap();
    let list = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        list.items.iter().map(|w| w.name_any()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(
        list.metadata.resource_version,
        Some(server.resource_version().to_string())
    );

    // A spec change bumps the generation; a label change does not.
    let mut changed = created.clone();
    changed.spec.size = 2;
    let replaced = api.replace("a", &pp, &changed).await.unwrap();
    assert_eq!(replaced.metadata.generation, Some(2));
    assert_ne!(replaced.resource_version(), created.resource_version());
    let mut labelled = replaced.clone();
    labelled.labels_mut().insert("team".into(), "x".into());
    let labelled = api.replace("a", &pp, &labelled).await.unwrap();
    assert_eq!(labelled.metadata.generation, Some(2));
    assert_eq!(labelled.labels()["team"], "x");

    // Status writes leave the generation and the spec alone.
    let mut status_write = labelled.clone();
    status_write.spec.size = 100;
    status_write.status = Some(WidgetStatus {
        phase: Some("Ready".into()),
        ..Default::default()
    });
    let after_status = api.replace_status("a", &pp, &status_write).await.unwrap();
    assert_eq!(after_status.metadata.generation, Some(2));
    assert_eq!(after_status.spec.size, 2);
    assert_eq!(
        after_status.status.as_ref().unwrap().phase.as_deref(),
        Some("Ready")
    );
    let patched = api
        .patch_status(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observedGeneration": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.metadata.generation, Some(2));
    assert_eq!(
        patched.status.as_ref().unwrap().observed_generation,
        Some(2)
    );

    // Writes to the main resource cannot change the status.
    let mut main_write = patched.clone();
    main_write.status = Some(WidgetStatus::default());
    main_write.spec.color = Some("red".into());
    let after_main = api.replace("a", &pp, &main_write).await.unwrap();
    assert_eq!(after_main.status, patched.status);
    assert_eq!(after_main.spec.color.as_deref(), Some("red"));
    assert_eq!(after_main.metadata.generation, Some(3));
    let merged = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Hacked"}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.status, patched.status);
    assert_eq!(
        merged.resource_version(),
        after_main.resource_version(),
        "a write that changes nothing does not bump the resource version"
    );

    // Delete without finalizers: gone at once, the response carries the object.
    let deleted = api.delete("a", &DeleteParams::default()).await.unwrap();
    assert_eq!(deleted.left().unwrap().name_any(), "a");
    assert_eq!(api_code(api.get("a").await), (404, "NotFound".into()));
    assert_eq!(api.get_opt("a").await.unwrap(), None);
    assert_eq!(
        api_code(api.delete("a", &DeleteParams::default()).await).0,
        404
    );
    assert_eq!(
        server.list_raw(API_VERSION, "widgets").len(),
        1,
        "only b is left"
    );
}

#[tokio::test]
async fn stale_resource_versions_conflict() {
    let server = FakeApiServer::new();
    let api: Api<Widget> = Api::default_namespaced(server.client());
    let pp = PostParams::default();
    let original = api.create(&pp, &widget("a", 1)).await.unwrap();
    let mut first = original.clone();
    first.spec.size = 2;
    api.replace("a", &pp, &first).await.unwrap();

    let mut stale = original.clone();
    stale.spec.size = 3;
    let (code, reason) = api_code(api.replace("a", &pp, &stale).await);
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    let stale_patch = json!({
        "metadata": {"resourceVersion": original.resource_version()},
        "spec": {"size": 4},
    });
    let (code, _) = api_code(
        api.patch("a", &PatchParams::default(), &Patch::Merge(&stale_patch))
            .await,
    );
    assert_eq!(code, 409);
    assert_eq!(api.get("a").await.unwrap().spec.size, 2);

    // Without a resourceVersion the replace is unconditional.
    let mut unconditional = original.clone();
    unconditional.metadata.resource_version = None;
    unconditional.spec.size = 5;
    assert_eq!(
        api.replace("a", &pp, &unconditional)
            .await
            .unwrap()
            .spec
            .size,
        5
    );
}

#[tokio::test]
async fn merge_json_and_strategic_patches() {
    let server = FakeApiServer::new();
    let api: Api<Widget> = Api::default_namespaced(server.client());
    let created = api
        .create(&PostParams::default(), &widget("a", 1))
        .await
        .unwrap();
    let pp = PatchParams::default();

    let merged = api
        .patch(
            "a",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"x": "1"}}, "spec": {"color": "red"}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.labels()["x"], "1");
    assert_eq!(merged.spec.color.as_deref(), Some("red"));
    let merged = api
        .patch("a", &pp, &Patch::Merge(json!({"spec": {"color": null}})))
        .await
        .unwrap();
    assert_eq!(merged.spec.color, None);
    assert_eq!(
        merged.metadata.generation,
        Some(created.metadata.generation.unwrap() + 2),
        "each spec change bumps the generation"
    );

    let failing: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/size", "value": 5},
        {"op": "replace", "path": "/spec/size", "value": 6},
    ]))
    .unwrap();
    let (code, reason) = api_code(api.patch("a", &pp, &Patch::Json::<()>(failing)).await);
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert_eq!(
        api.get("a").await.unwrap().resource_version(),
        merged.resource_version()
    );

    let passing: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/size", "value": 1},
        {"op": "replace", "path": "/spec/size", "value": 6},
        {"op": "test", "path": "/metadata/finalizers", "value": null},
    ]))
    .unwrap();
    let patched = api
        .patch("a", &pp, &Patch::Json::<()>(passing))
        .await
        .unwrap();
    assert_eq!(patched.spec.size, 6);
    assert_eq!(
        patched.metadata.generation,
        Some(merged.metadata.generation.unwrap() + 1)
    );

    let strategic = api
        .patch(
            "a",
            &pp,
            &Patch::Strategic(json!({"spec": {"color": "blue"}})),
        )
        .await
        .unwrap();
    assert_eq!(strategic.spec.color.as_deref(), Some("blue"));
    assert_eq!(strategic.spec.size, 6);

    let content_types: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .filter_map(|r| r.content_type)
        .collect();
    assert!(content_types.contains(&"application/json-patch+json".to_owned()));
    assert!(content_types.contains(&"application/strategic-merge-patch+json".to_owned()));
}

#[tokio::test]
async fn server_side_apply_owns_and_removes_fields() {
    let server = FakeApiServer::new();
    let api: Api<Widget> = Api::default_namespaced(server.client());
    let ctl = PatchParams::apply("ctl");

    // Apply creates a missing object (and ignores the status on the main resource).
    let created = api
        .patch(
            "a",
            &ctl,
            &Patch::Apply(json!({
                "apiVersion": API_VERSION,
                "kind": "Widget",
                "metadata": {"labels": {"owner": "ctl"}},
                "spec": {"size": 1, "color": "blue"},
                "status": {"phase": "Ignored"},
            })),
        )
        .await
        .unwrap();
    assert_eq!(created.spec.color.as_deref(), Some("blue"));
    assert_eq!(created.status, None);
    assert_eq!(created.metadata.generation, Some(1));

    // Someone else sets a label; the next apply drops the color and the owner label.
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"other": "yes"}}})),
    )
    .await
    .unwrap();
    let reapplied = api
        .patch(
            "a",
            &ctl,
            &Patch::Apply(
                json!({"apiVersion": API_VERSION, "kind": "Widget", "spec": {"size": 1}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(reapplied.spec.color, None);
    assert_eq!(
        reapplied.labels().clone(),
        BTreeMap::from([("other".to_owned(), "yes".to_owned())])
    );
    assert_eq!(reapplied.metadata.generation, Some(2));

    // Status through server-side apply: dropped map keys and list items go, another writer's
    // field stays, and the generation does not move.
    let status = |body: serde_json::Value| {
        Patch::Apply(json!({"apiVersion": API_VERSION, "kind": "Widget", "status": body}))
    };
    api.patch_status(
        "a",
        &ctl,
        &status(json!({"phase": "Ready", "notes": {"a": "1", "b": "2"}, "conditions": ["x", "y"]})),
    )
    .await
    .unwrap();
    api.patch_status(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"observedGeneration": 2}})),
    )
    .await
    .unwrap();
    let after = api
        .patch_status(
            "a",
            &ctl,
            &status(json!({"notes": {"a": "1"}, "conditions": ["z"]})),
        )
        .await
        .unwrap();
    assert_eq!(
        after.status.unwrap(),
        WidgetStatus {
            phase: None,
            notes: BTreeMap::from([("a".to_owned(), "1".to_owned())]),
            conditions: vec!["z".into()],
            observed_generation: Some(2),
        }
    );
    assert_eq!(after.metadata.generation, Some(2));

    // Another applier setting a field the first one applies differently conflicts unless forced.
    let (code, reason) = api_code(
        api.patch_status(
            "a",
            &PatchParams::apply("rival"),
            &status(json!({"conditions": ["w"]})),
        )
        .await,
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    let forced = api
        .patch_status(
            "a",
            &PatchParams::apply("rival").force(),
            &status(json!({"conditions": ["w"]})),
        )
        .await
        .unwrap();
    assert_eq!(forced.status.unwrap().conditions, ["w"]);
    // ctl lost the conditions: when it stops applying notes, the conditions stay.
    let after = api
        .patch_status("a", &ctl, &status(json!({"phase": "Done"})))
        .await
        .unwrap()
        .status
        .unwrap();
    assert_eq!(after.conditions, ["w"]);
    assert!(after.notes.is_empty());
    assert_eq!(after.phase.as_deref(), Some("Done"));

    // Apply to the status of a missing object is a 404; apply requires apiVersion and kind.
    assert_eq!(
        api_code(
            api.patch_status("missing", &ctl, &status(json!({"phase": "x"})))
                .await
        )
        .0,
        404
    );
    assert_eq!(
        api_code(
            api.patch("a", &ctl, &Patch::Apply(json!({"spec": {"size": 1}})))
                .await
        )
        .0,
        400
    );
    let apply_request = server
        .requests()
        .into_iter()
        .find(|r| r.content_type.as_deref() == Some("application/apply-patch+yaml"))
        .unwrap();
    assert_eq!(
        apply_request.query_param("fieldManager").as_deref(),
        Some("ctl")
    );
}

#[tokio::test]
async fn watcher_sees_create_modify_delete() {
    let server = FakeApiServer::new();
    let api: Api<Widget> = Api::default_namespaced(server.client());
    api.create(&PostParams::default(), &widget("before", 1))
        .await
        .unwrap();
    let mut events = watcher(api.clone(), watcher::Config::default()).boxed();

    assert!(matches!(next(&mut events).await, Ok(Event::Init)));
    assert!(matches!(next(&mut events).await, Ok(Event::InitApply(w)) if w.name_any() == "before"));
    assert!(matches!(next(&mut events).await, Ok(Event::InitDone)));

    api.create(&PostParams::default(), &widget("a", 1))
        .await
        .unwrap();
    assert!(matches!(next(&mut events).await, Ok(Event::Apply(w)) if w.name_any() == "a"));
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 2}})),
    )
    .await
    .unwrap();
    assert!(matches!(next(&mut events).await, Ok(Event::Apply(w)) if w.spec.size == 2));
    api.delete("a", &DeleteParams::default()).await.unwrap();
    assert!(matches!(next(&mut events).await, Ok(Event::Delete(w)) if w.name_any() == "a"));

    // What kube 5's default watcher sends: a list (limit=500), then a watch from its version
    // with bookmarks and a 290 s timeout.
    let requests = server.requests();
    let list = requests
        .iter()
        .find(|r| r.method == "GET" && !r.is_watch())
        .unwrap();
    assert_eq!(
        list.path,
        "/apis/test.clusterlink.dev/v1/namespaces/default/widgets"
    );
    assert_eq!(list.query_param("limit").as_deref(), Some("500"));
    let watch = requests.iter().find(|r| r.is_watch()).unwrap();
    assert_eq!(
        watch.query_param("allowWatchBookmarks").as_deref(),
        Some("true")
    );
    assert_eq!(watch.query_param("timeoutSeconds").as_deref(), Some("290"));
    assert!(watch.query_param("resourceVersion").is_some());
    assert_eq!(watch.query_param("sendInitialEvents"), None);
}

#[tokio::test]
async fn watcher_relists_after_410_gone() {
    let server = FakeApiServer::new();
    let api: Api<Widget> = Api::default_namespaced(server.client());
    api.create(&PostParams::default(), &widget("a", 1))
        .await
        .unwrap();
    let mut events = watcher(api.clone(), watcher::Config::default()).boxed();
    next_matching(&mut events, |e| matches!(e, Ok(Event::InitDone)))
        .await
        .unwrap();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 2}})),
    )
    .await
    .unwrap();
    assert!(matches!(next(&mut events).await, Ok(Event::Apply(_))));

    // Other writes move the global version on; then the history is compacted and the
    // connection drops, so the watcher's next watch starts from a version that is too old.
    let secrets: Api<Secret> = Api::default_namespaced(server.client());
    secrets
        .create(
            &PostParams::default(),
            &Secret {
                metadata: ObjectMeta {
                    name: Some("s".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let watcher_version = api.get("a").await.unwrap().resource_version().unwrap();
    server.compact();
    server.close_watches();

    match next(&mut events).await {
        Err(watcher::Error::WatchError(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
        }
        other => panic!("expected a 410 watch error, got {other:?}"),
    }
    // The watcher lists again and carries on.
    assert!(matches!(next(&mut events).await, Ok(Event::Init)));
    assert!(matches!(next(&mut events).await, Ok(Event::InitApply(w)) if w.spec.size == 2));
    assert!(matches!(next(&mut events).await, Ok(Event::InitDone)));
    api.create(&PostParams::default(), &widget("b", 1))
        .await
        .unwrap();
    assert!(matches!(next(&mut events).await, Ok(Event::Apply(w)) if w.name_any() == "b"));

    let stale_watch = server
        .requests()
        .into_iter()
        .filter(|r| r.is_watch())
        .find(|r| r.query_param("resourceVersion").as_deref() == Some(watcher_version.as_str()));
    assert!(
        stale_watch.is_some(),
        "the watcher resumed from its last version"
    );
}

#[tokio::test]
async fn raw_watch_bookmarks_streaming_lists_and_selectors() {
    let server = FakeApiServer::new();
    server.set_bookmark_interval(Duration::from_millis(20));
    let api: Api<Widget> = Api::default_namespaced(server.client());
    let mut labelled = widget("a", 1);
    labelled.labels_mut().insert("app".into(), "web".into());
    api.create(&PostParams::default(), &labelled).await.unwrap();
    api.create(&PostParams::default(), &widget("b", 1))
        .await
        .unwrap();

    // sendInitialEvents: the current objects, then the initial-events-end bookmark.
    let wp = WatchParams::streaming_lists();
    let mut stream = api.watch(&wp, "0").await.unwrap().boxed();
    let mut names = Vec::new();
    loop {
        match next(&mut stream).await.unwrap() {
            WatchEvent::Added(w) => names.push(w.name_any()),
            WatchEvent::Bookmark(b) => {
                assert_eq!(b.metadata.annotations["k8s.io/initial-events-end"], "true");
                assert_eq!(
                    b.metadata.resource_version,
                    server.resource_version().to_string()
                );
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(names, ["a", "b"]);
    // Periodic bookmarks follow.
    assert!(matches!(
        next(&mut stream).await.unwrap(),
        WatchEvent::Bookmark(_)
    ));

    // A kube watcher in streaming-list mode works too.
    let mut streaming = watcher(api.clone(), watcher::Config::default().streaming_lists()).boxed();
    assert!(matches!(next(&mut streaming).await, Ok(Event::Init)));
    assert!(matches!(
        next(&mut streaming).await,
        Ok(Event::InitApply(_))
    ));
    assert!(matches!(
        next(&mut streaming).await,
        Ok(Event::InitApply(_))
    ));
    assert!(matches!(next(&mut streaming).await, Ok(Event::InitDone)));

    // A label-selected watch sees an object leave the selection as DELETED and enter as ADDED.
    let version = server.resource_version().to_string();
    let selected = WatchParams::default().labels("app=web").disable_bookmarks();
    let mut stream = api.watch(&selected, &version).await.unwrap().boxed();
    api.patch(
        "b",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "web"}}})),
    )
    .await
    .unwrap();
    assert!(
        matches!(next(&mut stream).await.unwrap(), WatchEvent::Added(w) if w.name_any() == "b")
    );
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": null}})),
    )
    .await
    .unwrap();
    assert!(
        matches!(next(&mut stream).await.unwrap(), WatchEvent::Deleted(w) if w.name_any() == "a")
    );

    // Lists take label and field selectors, across namespaces too.
    let other_ns: Api<Widget> = Api::namespaced(server.client(), "other");
    let mut generated = widget("", 3);
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("gen-".into());
    let generated = other_ns
        .create(&PostParams::default(), &generated)
        .await
        .unwrap();
    assert!(generated.name_any().starts_with("gen-") && generated.name_any().len() == 9);
    let all: Api<Widget> = Api::all(server.client());
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        3
    );
    let names = |list: kube::api::ObjectList<Widget>| -> Vec<String> {
        list.items.iter().map(|w| w.name_any()).collect()
    };
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("app=web"))
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("app!=web"))
                .await
                .unwrap()
        ),
        ["a"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("app"))
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        names(
            all.list(&ListParams::default().fields("metadata.namespace=other"))
                .await
                .unwrap()
        ),
        [generated.name_any()]
    );
    assert_eq!(
        names(
            all.list(&ListParams::default().fields("metadata.name=a"))
                .await
                .unwrap()
        ),
        ["a"]
    );

    // Metadata-only reads.
    let meta = api.get_metadata("a").await.unwrap();
    assert_eq!(meta.metadata.name.as_deref(), Some("a"));
    assert_eq!(
        api.list_metadata(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );
}

#[tokio::test]
async fn finalizers_delay_deletion() {
    let server = FakeApiServer::new();
    let api: Api<Widget> = Api::default_namespaced(server.client());
    let mut w = widget("a", 1);
    w.metadata.finalizers = Some(vec!["test/one".into()]);
    let created = api.create(&PostParams::default(), &w).await.unwrap();
    let version = created.resource_version().unwrap();
    let mut stream = api
        .watch(&WatchParams::default(), &version)
        .await
        .unwrap()
        .boxed();

    let deleting = api
        .delete("a", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .unwrap();
    assert!(deleting.metadata.deletion_timestamp.is_some());
    assert_eq!(deleting.metadata.deletion_grace_period_seconds, Some(0));
    assert_eq!(
        deleting.metadata.generation,
        Some(2),
        "deletion bumps the generation"
    );
    assert!(
        matches!(next(&mut stream).await.unwrap(), WatchEvent::Modified(w) if w.metadata.deletion_timestamp.is_some())
    );
    assert!(api
        .get("a")
        .await
        .unwrap()
        .metadata
        .deletion_timestamp
        .is_some());

    // No new finalizers on a deleting object; other changes are fine.
    let (code, reason) = api_code(
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["test/one", "test/two"]}})),
        )
        .await,
    );
    assert_eq!((code, reason.as_str()), (422, "Invalid"));

    // Removing the last finalizer deletes the object.
    let last = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
    assert_eq!(last.finalizers().len(), 0);
    assert!(
        matches!(next(&mut stream).await.unwrap(), WatchEvent::Deleted(w) if w.name_any() == "a")
    );
    assert_eq!(api.get_opt("a").await.unwrap(), None);
    assert!(server
        .get_raw(API_VERSION, "widgets", Some("default"), "a")
        .is_none());
}

#[derive(Debug)]
struct Context {
    api: Api<Widget>,
    cleaned: Mutex<Vec<String>>,
}

async fn reconcile(
    widget: Arc<Widget>,
    ctx: Arc<Context>,
) -> Result<Action, kube::runtime::finalizer::Error<kube::Error>> {
    finalizer(
        &ctx.api,
        "test.clusterlink.dev/cleanup",
        widget,
        |event| async {
            match event {
                FinalizerEvent::Apply(w) => {
                    let status = json!({
                        "apiVersion": API_VERSION,
                        "kind": "Widget",
                        "status": {"phase": "Ready", "observedGeneration": w.metadata.generation},
                    });
                    ctx.api
                        .patch_status(
                            &w.name_any(),
                            &PatchParams::apply("widget-controller").force(),
                            &Patch::Apply(status),
                        )
                        .await?;
                    Ok(Action::await_change())
                }
                FinalizerEvent::Cleanup(w) => {
                    ctx.cleaned.lock().unwrap().push(w.name_any());
                    Ok(Action::await_change())
                }
            }
        },
    )
    .await
}

fn error_policy(
    _widget: Arc<Widget>,
    _error: &kube::runtime::finalizer::Error<kube::Error>,
    _ctx: Arc<Context>,
) -> Action {
    Action::requeue(Duration::from_millis(20))
}

#[tokio::test]
async fn controller_with_finalizer_runs_cleanup_on_delete() {
    let server = FakeApiServer::new();
    let api: Api<Widget> = Api::default_namespaced(server.client());
    let ctx = Arc::new(Context {
        api: api.clone(),
        cleaned: Mutex::new(Vec::new()),
    });
    let controller = tokio::spawn(
        Controller::new(api.clone(), watcher::Config::default())
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|_| async {}),
    );

    api.create(&PostParams::default(), &widget("a", 1))
        .await
        .unwrap();
    eventually("the finalizer and the status", || async {
        let w = api.get("a").await.unwrap();
        w.finalizers() == ["test.clusterlink.dev/cleanup"]
            && w.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Ready")
    })
    .await;
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 2}})),
    )
    .await
    .unwrap();
    eventually("the status of generation 2", || async {
        api.get("a")
            .await
            .unwrap()
            .status
            .and_then(|s| s.observed_generation)
            == Some(2)
    })
    .await;

    api.delete("a", &DeleteParams::default()).await.unwrap();
    eventually("the object to go", || async {
        api.get_opt("a").await.unwrap().is_none()
    })
    .await;
    assert_eq!(*ctx.cleaned.lock().unwrap(), ["a"]);
    controller.abort();
}

#[tokio::test]
async fn recorder_publishes_events_and_leases_work() {
    let server = FakeApiServer::new();
    let client = server.client();
    let api: Api<Widget> = Api::default_namespaced(client.clone());
    let w = api
        .create(&PostParams::default(), &widget("a", 1))
        .await
        .unwrap();

    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "widget-controller".into(),
            instance: Some("pod-1".into()),
        },
    );
    let event = RecorderEvent {
        type_: EventType::Normal,
        reason: "Reconciled".into(),
        note: Some("all good".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    let reference = w.object_ref(&());
    recorder.publish(&event, &reference).await.unwrap();
    recorder.publish(&event, &reference).await.unwrap();
    let events: Api<K8sEvent> = Api::default_namespaced(client.clone());
    let list = events.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1, "the second publish patches the series");
    let published = &list.items[0];
    assert_eq!(published.reason.as_deref(), Some("Reconciled"));
    assert_eq!(
        published.regarding.as_ref().unwrap().name.as_deref(),
        Some("a")
    );
    assert_eq!(published.series.as_ref().unwrap().count, 2);

    let leases: Api<Lease> = Api::default_namespaced(client);
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some("leader".into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("pod-1".into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(k8s_openapi::jiff::Timestamp::now())),
            ..Default::default()
        }),
    };
    let created = leases.create(&PostParams::default(), &lease).await.unwrap();
    let mut renewed = leases.get("leader").await.unwrap();
    assert_eq!(renewed, created);
    renewed.spec.as_mut().unwrap().holder_identity = Some("pod-2".into());
    let replaced = leases
        .replace("leader", &PostParams::default(), &renewed)
        .await
        .unwrap();
    assert_eq!(
        replaced.spec.unwrap().holder_identity.as_deref(),
        Some("pod-2")
    );
    // A contender holding the old version loses.
    assert_eq!(
        api_code(
            leases
                .replace("leader", &PostParams::default(), &created)
                .await
        )
        .0,
        409
    );
}

#[tokio::test]
async fn malformed_objects_and_typed_watchers() {
    let server = FakeApiServer::new();
    let api: Api<Widget> = Api::default_namespaced(server.client());
    let bad = |name: &str| {
        json!({
            "apiVersion": API_VERSION,
            "kind": "Widget",
            "metadata": {"name": name},
            "spec": {"size": "not a number"},
        })
    };

    // Inserted while the watcher watches: that event is an error, other objects still arrive.
    let mut events = watcher(api.clone(), watcher::Config::default()).boxed();
    next_matching(&mut events, |e| matches!(e, Ok(Event::InitDone)))
        .await
        .unwrap();
    server.put_raw(API_VERSION, "widgets", Some("default"), bad("bad"));
    // kube fails to deserialise the event as a Widget, then retries the line as a `Status`,
    // which (every field being optional) succeeds: the error is an empty API status, code 0.
    match next(&mut events).await {
        Err(watcher::Error::WatchFailed(kube::Error::Api(status))) => assert_eq!(status.code, 0),
        other => panic!("expected a deserialisation error, got {other:?}"),
    }
    api.create(&PostParams::default(), &widget("good", 1))
        .await
        .unwrap();
    assert!(matches!(next(&mut events).await, Ok(Event::Apply(w)) if w.name_any() == "good"));

    // Present when a typed watcher lists: the whole list fails to deserialise, so the watcher
    // keeps failing its initial list and never delivers any object, good ones included.
    let mut fresh = watcher(api.clone(), watcher::Config::default()).boxed();
    for _ in 0..3 {
        assert!(matches!(next(&mut fresh).await, Ok(Event::Init)));
        match next(&mut fresh).await {
            Err(watcher::Error::InitialListFailed(kube::Error::SerdeError(_))) => {}
            other => panic!("expected a failed list, got {other:?}"),
        }
    }
    // Once the object is fixed, the watcher recovers.
    server.put_raw(
        API_VERSION,
        "widgets",
        Some("default"),
        json!({"metadata": {"name": "bad"}, "spec": {"size": 7}}),
    );
    let item = next_matching(&mut fresh, |e| matches!(e, Ok(Event::InitApply(_)))).await;
    assert!(matches!(item, Ok(Event::InitApply(w)) if w.name_any() == "bad" && w.spec.size == 7));
    assert_eq!(
        server
            .get_raw(API_VERSION, "widgets", Some("default"), "bad")
            .unwrap()["metadata"]["generation"],
        2
    );
}

#[tokio::test]
async fn injected_faults() {
    let server = FakeApiServer::new();
    let api: Api<Widget> = Api::default_namespaced(server.client());
    api.create(&PostParams::default(), &widget("a", 1))
        .await
        .unwrap();

    server.fail_next("patch", "/widgets/a/status", 409, 2);
    server.fail_next("*", "/widgets", 500, 1);
    let status_patch = Patch::Merge(json!({"status": {"phase": "x"}}));
    let pp = PatchParams::default();
    assert_eq!(
        api_code(api.patch_status("a", &pp, &status_patch).await),
        (409, "Conflict".into())
    );
    assert_eq!(
        api_code(api.patch_status("a", &pp, &status_patch).await).0,
        409
    );
    assert_eq!(api_code(api.get("a").await), (500, "InternalError".into()));
    let patched = api.patch_status("a", &pp, &status_patch).await.unwrap();
    assert_eq!(patched.status.as_ref().unwrap().phase.as_deref(), Some("x"));

    // Injected failures leave the store alone, and are recorded like any request.
    server.clear_requests();
    server.fail_next("PUT", "/widgets/a", 503, 1);
    assert_eq!(
        api_code(
            api.replace("a", &PostParams::default(), &api.get("a").await.unwrap())
                .await
        )
        .0,
        503
    );
    let requests = server.requests();
    assert_eq!(requests.iter().filter(|r| r.is_write()).count(), 1);
    assert_eq!(requests.last().unwrap().status, 503);
    assert_eq!(
        api.get("a").await.unwrap().resource_version(),
        patched.resource_version()
    );

    // A failed watch start makes the watcher retry.
    server.fail_next("GET", "watch=true", 500, 1);
    let mut events = watcher(api.clone(), watcher::Config::default()).boxed();
    let failed = next_matching(&mut events, |e| e.is_err()).await;
    assert!(matches!(failed, Err(watcher::Error::WatchStartFailed(_))));
    api.create(&PostParams::default(), &widget("b", 1))
        .await
        .unwrap();
    let seen = next_matching(&mut events, |e| matches!(e, Ok(Event::Apply(_)))).await;
    assert!(matches!(seen, Ok(Event::Apply(w)) if w.name_any() == "b"));
}

#[tokio::test]
async fn raw_helpers_and_core_resources() {
    let server = FakeApiServer::new();
    let secrets: Api<Secret> = Api::default_namespaced(server.client());
    let stored = server.put_raw(
        "v1",
        "secrets",
        Some("default"),
        json!({"metadata": {"name": "s"}, "stringData": {"k": "v"}, "data": {"k": "dg=="}}),
    );
    assert_eq!(stored["kind"], "Secret");
    assert_eq!(stored["apiVersion"], "v1");
    let secret = secrets.get("s").await.unwrap();
    assert_eq!(secret.data.unwrap()["k"].0, b"v");
    assert_eq!(server.list_raw("v1", "secrets").len(), 1);

    // Secrets have no status subresource.
    let status_path = server.requests().len();
    assert_eq!(
        api_code(
            secrets
                .patch_status("s", &PatchParams::default(), &Patch::Merge(json!({})))
                .await
        )
        .0,
        404
    );
    assert_eq!(server.requests()[status_path].status, 404);
    assert!(server
        .delete_raw("v1", "secrets", Some("default"), "s")
        .is_some());
    assert_eq!(secrets.get_opt("s").await.unwrap(), None);
    let info = server.client().apiserver_version().await.unwrap();
    assert_eq!(info.major, "1");
}

#[tokio::test]
async fn raw_watch_expiry_and_timeout() {
    let server = FakeApiServer::new();
    let api: Api<Widget> = Api::default_namespaced(server.client());
    let first = api
        .create(&PostParams::default(), &widget("a", 1))
        .await
        .unwrap();
    api.create(&PostParams::default(), &widget("b", 1))
        .await
        .unwrap();

    // From a version still in the history: the changes after it.
    let old = first.resource_version().unwrap();
    let mut stream = api
        .watch(&WatchParams::default(), &old)
        .await
        .unwrap()
        .boxed();
    assert!(
        matches!(next(&mut stream).await.unwrap(), WatchEvent::Added(w) if w.name_any() == "b")
    );

    // After compaction: an ERROR event with 410 Expired, then the end of the stream.
    server.compact();
    let mut stream = api
        .watch(&WatchParams::default(), &old)
        .await
        .unwrap()
        .boxed();
    match next(&mut stream).await.unwrap() {
        WatchEvent::Error(status) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"))
        }
        other => panic!("expected a 410 error event, got {other:?}"),
    }
    assert!(tokio::time::timeout(WAIT, stream.next())
        .await
        .unwrap()
        .is_none());

    // timeoutSeconds ends the stream.
    let started = tokio::time::Instant::now();
    let current = server.resource_version().to_string();
    let mut stream = api
        .watch(&WatchParams::default().timeout(1), &current)
        .await
        .unwrap()
        .boxed();
    assert!(tokio::time::timeout(WAIT, stream.next())
        .await
        .unwrap()
        .is_none());
    assert!(started.elapsed() >= Duration::from_secs(1));
}
