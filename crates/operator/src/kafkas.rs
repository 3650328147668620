//! The `Kafka` resources of CFK (`platform.confluent.io/v1beta1`) and Strimzi
//! (`kafka.strimzi.io/v1beta2`), watched when their CRDs exist: their status listeners give the
//! endpoint of a cluster a ClusterLink names without a `bootstrapEndpoint` (see
//! `clusterlink_reconcile::endpoint`), and a change of them re-runs the ClusterLinks, as a
//! change of a KafkaRestClass does.
//!
//! Whether a CRD exists is asked by listing one object: an API server answers 404 for a
//! resource it does not serve. A missing CRD is asked again every minute, so one installed
//! after the operator started is picked up. Only `DynamicObject`s are kept: nothing here needs
//! more than their listeners.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clusterlink_reconcile::objects::KafkaKind;
use clusterlink_reconcile::Objects;
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::runtime::reflector::{self, reflector, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use tokio::sync::broadcast;
use tracing::{debug, info};

/// How often a `Kafka` CRD that is not installed is looked for again.
const LOOK_AGAIN: Duration = Duration::from_secs(60);

/// The cache of one `Kafka` kind.
type KindStore = (KafkaKind, Store<DynamicObject>);

/// The caches of the `Kafka` kinds that exist (cheap to clone).
#[derive(Clone, Default)]
pub(crate) struct KafkaCaches {
    stores: Arc<Mutex<Vec<KindStore>>>,
}

fn api_resource(kind: KafkaKind) -> ApiResource {
    let (group, version) = kind.api_version().split_once('/').expect("group/version");
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, "Kafka"), "kafkas")
}

impl KafkaCaches {
    /// Starts looking for both kinds in `namespace` (all when `None`); every change of a cached
    /// `Kafka` sends on `changed`. Returns at once; the tasks stop with the runtime, or when
    /// `changed` has no receiver left.
    pub(crate) fn spawn(
        client: &Client,
        namespace: Option<&str>,
        changed: broadcast::Sender<()>,
    ) -> (Self, Vec<tokio::task::JoinHandle<()>>) {
        let caches = KafkaCaches::default();
        let tasks = KafkaKind::ALL
            .into_iter()
            .map(|kind| {
                let ar = api_resource(kind);
                let api = match namespace {
                    Some(ns) => Api::<DynamicObject>::namespaced_with(client.clone(), ns, &ar),
                    None => Api::all_with(client.clone(), &ar),
                };
                let caches = caches.clone();
                let changed = changed.clone();
                tokio::spawn(async move { caches.watch(kind, ar, api, changed).await })
            })
            .collect();
        (caches, tasks)
    }

    async fn watch(
        &self,
        kind: KafkaKind,
        ar: ApiResource,
        api: Api<DynamicObject>,
        changed: broadcast::Sender<()>,
    ) {
        loop {
            match api.list_metadata(&ListParams::default().limit(1)).await {
                Ok(_) => break,
                Err(kube::Error::Api(e)) if e.code == 404 => {
                    debug!(
                        api_version = kind.api_version(),
                        "no Kafka CRD; looking again later"
                    );
                }
                Err(e) => {
                    debug!(api_version = kind.api_version(), error = %e, "cannot list Kafka resources")
                }
            }
            tokio::time::sleep(LOOK_AGAIN).await;
        }
        info!(
            api_version = kind.api_version(),
            "watching Kafka resources for cluster endpoints"
        );
        let writer = reflector::store::Writer::new(ar);
        self.stores
            .lock()
            .expect("kafka caches")
            .push((kind, writer.as_reader()));
        reflector(writer, watcher(api, watcher::Config::default()))
            .default_backoff()
            .touched_objects()
            .for_each(|_| {
                let _ = changed.send(());
                async {}
            })
            .await;
    }

    /// Adds every cached `Kafka` to `objects`.
    pub(crate) fn add_to(&self, objects: &mut Objects) {
        let stores = self.stores.lock().expect("kafka caches").clone();
        for (kind, store) in stores {
            for k in store.state() {
                let Ok(mut doc) = serde_json::to_value(k.as_ref()) else {
                    continue;
                };
                // List items need not carry their type.
                doc["apiVersion"] = kind.api_version().into();
                doc["kind"] = "Kafka".into();
                objects.add_kafka(doc, "default");
            }
        }
    }
}
