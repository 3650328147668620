//! The object store: objects as JSON, the resource version counter, the watch history, and the
//! write rules (system metadata, generation, status subresource, finalizers, ownership of
//! server-side-applied fields).

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::patch;
use super::resource::{ApiError, Applied, ResKey, Sub};

/// How many changes the watch history keeps; older ones are compacted away, as etcd and the
/// watch cache of kube-apiserver do.
const HISTORY_LIMIT: usize = 10_000;

/// What happened to an object, for watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change in the watch history.
#[derive(Debug)]
pub(crate) struct HistEvent {
    pub(crate) rv: u64,
    pub(crate) res: ResKey,
    pub(crate) ty: EventType,
    pub(crate) object: Arc<Value>,
    /// The object before a modification (to tell selector transitions apart).
    pub(crate) prev: Option<Arc<Value>>,
}

/// A stored object and the configurations its appliers last applied.
#[derive(Debug, Default)]
pub(crate) struct Stored {
    pub(crate) object: Value,
    pub(crate) applied: Applied,
}

/// Everything the API server holds.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// The latest resource version.
    pub(crate) rv: u64,
    /// Watches from a version older than this get 410.
    pub(crate) compacted: u64,
    /// Bumped to end every open watch.
    pub(crate) close_epoch: u64,
    /// Changes after `compacted`, oldest first.
    pub(crate) history: VecDeque<HistEvent>,
    objects: HashMap<ResKey, BTreeMap<(String, String), Stored>>,
    kinds: HashMap<ResKey, String>,
}

/// How a write changes field ownership.
#[derive(Debug)]
pub(crate) enum Ownership {
    /// An update or a patch: fields it changes are taken away from appliers.
    Update,
    /// A server-side apply: the new ownership map.
    Apply(Applied),
}

impl Store {
    pub(crate) fn get(&self, res: &ResKey, ns: &str, name: &str) -> Option<&Stored> {
        self.objects
            .get(res)?
            .get(&(ns.to_owned(), name.to_owned()))
    }

    /// Objects of a resource in one namespace (or all), ordered by namespace and name.
    pub(crate) fn list(&self, res: &ResKey, ns: Option<&str>) -> Vec<&Stored> {
        self.objects
            .get(res)
            .map(|objects| {
                objects
                    .iter()
                    .filter(|((o_ns, _), _)| ns.is_none_or(|ns| ns == o_ns))
                    .map(|(_, s)| s)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Remembers the kind a client used for a resource.
    pub(crate) fn learn_kind(&mut self, res: &ResKey, body: &Value) {
        if let Some(kind) = body.get("kind").and_then(Value::as_str) {
            if !kind.is_empty() && !self.kinds.contains_key(res) {
                self.kinds.insert(res.clone(), kind.to_owned());
            }
        }
    }

    /// The kind of a resource: learnt from bodies, else from a table, else guessed.
    pub(crate) fn kind(&self, res: &ResKey) -> String {
        if let Some(kind) = self.kinds.get(res) {
            return kind.clone();
        }
        let known = match res.plural.as_str() {
            "secrets" => "Secret",
            "configmaps" => "ConfigMap",
            "events" => "Event",
            "leases" => "Lease",
            "namespaces" => "Namespace",
            "pods" => "Pod",
            "services" => "Service",
            "serviceaccounts" => "ServiceAccount",
            "endpoints" => "Endpoints",
            "deployments" => "Deployment",
            "statefulsets" => "StatefulSet",
            "customresourcedefinitions" => "CustomResourceDefinition",
            "clusterlinks" => "ClusterLink",
            "kafkarestclasses" => "KafkaRestClass",
            "kafkatopics" => "KafkaTopic",
            "kafkas" => "Kafka",
            "kafkarestproxies" => "KafkaRestProxy",
            _ => "",
        };
        if !known.is_empty() {
            return known.to_owned();
        }
        let singular = res
            .plural
            .strip_suffix("ies")
            .map(|s| format!("{s}y"))
            .or_else(|| res.plural.strip_suffix('s').map(str::to_owned))
            .unwrap_or_else(|| res.plural.clone());
        let mut chars = singular.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn push(&mut self, res: &ResKey, ty: EventType, object: &Value, prev: Option<&Value>) {
        while self.history.len() >= HISTORY_LIMIT {
            if let Some(oldest) = self.history.pop_front() {
                self.compacted = oldest.rv;
            }
        }
        self.history.push_back(HistEvent {
            rv: self.rv,
            res: res.clone(),
            ty,
            object: Arc::new(object.clone()),
            prev: prev.map(|p| Arc::new(p.clone())),
        });
    }

    fn slot(&mut self, res: &ResKey) -> &mut BTreeMap<(String, String), Stored> {
        self.objects.entry(res.clone()).or_default()
    }

    /// Creates an object (POST, or an apply to a missing object).
    pub(crate) fn create(
        &mut self,
        res: &ResKey,
        ns: &str,
        mut object: Value,
        applied: Applied,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let kind = self.kind(res);
        let meta = metadata_mut(&mut object)?;
        let name = match meta.get("name").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => match meta.get("generateName").and_then(Value::as_str) {
                Some(prefix) if !prefix.is_empty() => loop {
                    let candidate = format!("{prefix}{}", random_suffix());
                    if self.get(res, ns, &candidate).is_none() {
                        break candidate;
                    }
                },
                _ => {
                    return Err(ApiError::invalid(format!(
                        "{kind} \"\" is invalid: metadata.name: Required value: name or \
                         generateName is required"
                    )))
                }
            },
        };
        validate_name(&kind, &name)?;
        if self.get(res, ns, &name).is_some() {
            return Err(ApiError::with_reason(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", res.qualified()),
            ));
        }
        for field in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "selfLink",
            "managedFields",
        ] {
            meta.remove(field);
        }
        meta.insert("name".into(), name.clone().into());
        if ns.is_empty() {
            meta.remove("namespace");
        } else {
            meta.insert("namespace".into(), ns.into());
        }
        meta.insert("uid".into(), new_uid().into());
        meta.insert("creationTimestamp".into(), now_rfc3339().into());
        meta.insert("generation".into(), 1.into());
        if res.has_status_subresource() {
            if let Some(map) = object.as_object_mut() {
                map.remove("status");
            }
        }
        set_type(&mut object, res, &kind);
        patch::normalize(&mut object);
        if dry_run {
            set_rv(&mut object, self.rv);
            return Ok(object);
        }
        let rv = self.next_rv();
        set_rv(&mut object, rv);
        self.push(res, EventType::Added, &object, None);
        self.slot(res).insert(
            (ns.to_owned(), name),
            Stored {
                object: object.clone(),
                applied,
            },
        );
        Ok(object)
    }

    /// Replaces an object (or its status) with `candidate`, after checking the precondition.
    /// Returns the object after the write (which may have been deleted, when the last
    /// finalizer of a deleting object went).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn update(
        &mut self,
        res: &ResKey,
        ns: &str,
        name: &str,
        sub: Sub,
        candidate: Value,
        precondition_rv: Option<&str>,
        ownership: Ownership,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let kind = self.kind(res);
        let old = match self.get(res, ns, name) {
            Some(stored) => stored.object.clone(),
            None => return Err(ApiError::not_found(res, name)),
        };
        let old_rv = rv_of(&old).to_owned();
        if let Some(expected) = precondition_rv {
            if !expected.is_empty() && expected != old_rv {
                return Err(ApiError::modified(res, name));
            }
        }
        let status_sub = res.has_status_subresource();
        let mut new = match sub {
            Sub::Main => {
                let mut new = candidate;
                if !new.is_object() {
                    return Err(ApiError::bad_request("the body must be a JSON object"));
                }
                if status_sub {
                    copy_field(&old, &mut new, "status");
                }
                let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
                let meta = metadata_mut(&mut new)?;
                for field in [
                    "uid",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "generation",
                    "name",
                    "namespace",
                ] {
                    match old_meta.get(field) {
                        Some(v) => meta.insert(field.into(), v.clone()),
                        None => meta.remove(field),
                    };
                }
                meta.remove("selfLink");
                meta.remove("managedFields");
                new
            }
            Sub::Status => {
                let mut new = old.clone();
                copy_field(&candidate, &mut new, "status");
                new
            }
        };
        set_type(&mut new, res, &kind);
        patch::normalize(&mut new);
        set_rv(&mut new, old_rv.parse().unwrap_or(0));

        let deleting = old["metadata"].get("deletionTimestamp").is_some();
        let old_finalizers = finalizers(&old);
        let new_finalizers = finalizers(&new);
        if deleting {
            let added: Vec<&str> = new_finalizers
                .iter()
                .filter(|f| !old_finalizers.contains(f))
                .copied()
                .collect();
            if !added.is_empty() {
                return Err(ApiError::invalid(format!(
                    "{kind} \"{name}\" is invalid: metadata.finalizers: Forbidden: no new \
                     finalizers can be added if the object is being deleted, found new \
                     finalizers {added:?}"
                )));
            }
        }
        let remove_now = deleting && new_finalizers.is_empty();

        if new == old {
            // A no-op write: kube-apiserver neither bumps the version nor emits an event.
            if !dry_run {
                if let (Ownership::Apply(applied), Some(stored)) =
                    (ownership, self.get_mut(res, ns, name))
                {
                    stored.applied = applied;
                }
            }
            return Ok(old);
        }
        if spec_part(&old) != spec_part(&new) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            new["metadata"]["generation"] = generation.into();
        }
        if dry_run {
            return Ok(new);
        }
        let rv = self.next_rv();
        set_rv(&mut new, rv);
        let key = (ns.to_owned(), name.to_owned());
        if remove_now {
            self.push(res, EventType::Deleted, &new, Some(&old));
            self.slot(res).remove(&key);
            return Ok(new);
        }
        self.push(res, EventType::Modified, &new, Some(&old));
        let stored = self.slot(res).get_mut(&key).expect("object exists");
        match ownership {
            Ownership::Apply(applied) => stored.applied = applied,
            Ownership::Update => {
                for config in stored.applied.values_mut() {
                    patch::strip_changed(config, &old, &new);
                }
            }
        }
        stored.object = new.clone();
        Ok(new)
    }

    /// Deletes an object: marks it deleting when it has finalizers, removes it otherwise.
    pub(crate) fn delete(
        &mut self,
        res: &ResKey,
        ns: &str,
        name: &str,
        precondition_rv: Option<&str>,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let old = match self.get(res, ns, name) {
            Some(stored) => stored.object.clone(),
            None => return Err(ApiError::not_found(res, name)),
        };
        if let Some(expected) = precondition_rv {
            if !expected.is_empty() && expected != rv_of(&old) {
                return Err(ApiError::new(
                    409,
                    format!(
                        "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: \
                         ResourceVersion in precondition: {expected}, ResourceVersion in object \
                         meta: {}",
                        res.qualified(),
                        rv_of(&old)
                    ),
                ));
            }
        }
        let key = (ns.to_owned(), name.to_owned());
        if !finalizers(&old).is_empty() {
            if old["metadata"].get("deletionTimestamp").is_some() {
                return Ok(old);
            }
            let mut new = old.clone();
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            let meta = metadata_mut(&mut new)?;
            meta.insert("deletionTimestamp".into(), now_rfc3339().into());
            meta.insert("deletionGracePeriodSeconds".into(), 0.into());
            meta.insert("generation".into(), generation.into());
            if dry_run {
                return Ok(new);
            }
            let rv = self.next_rv();
            set_rv(&mut new, rv);
            self.push(res, EventType::Modified, &new, Some(&old));
            self.slot(res).get_mut(&key).expect("object exists").object = new.clone();
            return Ok(new);
        }
        if dry_run {
            return Ok(old);
        }
        let rv = self.next_rv();
        let mut gone = old.clone();
        set_rv(&mut gone, rv);
        self.push(res, EventType::Deleted, &gone, Some(&old));
        self.slot(res).remove(&key);
        Ok(gone)
    }

    /// See [`super::FakeApiServer::put_raw`].
    pub(crate) fn put_raw(&mut self, res: &ResKey, ns: &str, mut object: Value) -> Value {
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| self.kind(res));
        let name = object["metadata"]["name"]
            .as_str()
            .expect("put_raw: the object needs a string metadata.name")
            .to_owned();
        let key = (ns.to_owned(), name);
        let old = self.get(res, ns, &key.1).map(|s| s.object.clone());
        let meta = object["metadata"]
            .as_object_mut()
            .expect("put_raw: metadata is an object");
        if ns.is_empty() {
            meta.remove("namespace");
        } else {
            meta.insert("namespace".into(), ns.into());
        }
        let old_meta = old.as_ref().map(|o| &o["metadata"]);
        for field in ["uid", "creationTimestamp"] {
            if !meta.contains_key(field) {
                let value = old_meta
                    .and_then(|m| m.get(field).cloned())
                    .unwrap_or_else(|| match field {
                        "uid" => new_uid().into(),
                        _ => now_rfc3339().into(),
                    });
                meta.insert(field.into(), value);
            }
        }
        let generation_given = meta.contains_key("generation");
        if object.get("apiVersion").is_none() {
            object["apiVersion"] = res.api_version.clone().into();
        }
        if object.get("kind").is_none() {
            object["kind"] = kind.into();
        }
        if !generation_given {
            let generation = match &old {
                None => 1,
                Some(old) => {
                    let g = old["metadata"]["generation"].as_i64().unwrap_or(1);
                    if spec_part(old) != spec_part(&object) {
                        g + 1
                    } else {
                        g
                    }
                }
            };
            object["metadata"]["generation"] = generation.into();
        }
        let rv = self.next_rv();
        set_rv(&mut object, rv);
        let ty = if old.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.push(res, ty, &object, old.as_ref());
        let stored = self.slot(res).entry(key).or_default();
        if let Some(old) = &old {
            for config in stored.applied.values_mut() {
                patch::strip_changed(config, old, &object);
            }
        }
        stored.object = object.clone();
        object
    }

    /// See [`super::FakeApiServer::delete_raw`].
    pub(crate) fn delete_raw(&mut self, res: &ResKey, ns: &str, name: &str) -> Option<Value> {
        let key = (ns.to_owned(), name.to_owned());
        let old = self.objects.get_mut(res)?.remove(&key)?.object;
        let rv = self.next_rv();
        let mut gone = old.clone();
        set_rv(&mut gone, rv);
        self.push(res, EventType::Deleted, &gone, Some(&old));
        Some(gone)
    }

    fn get_mut(&mut self, res: &ResKey, ns: &str, name: &str) -> Option<&mut Stored> {
        self.objects
            .get_mut(res)?
            .get_mut(&(ns.to_owned(), name.to_owned()))
    }
}

/// `metadata` of an object, created if missing.
fn metadata_mut(object: &mut Value) -> Result<&mut Map<String, Value>, ApiError> {
    let map = object
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("the body must be a JSON object"))?;
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    if meta.is_null() {
        *meta = json!({});
    }
    meta.as_object_mut()
        .ok_or_else(|| ApiError::bad_request("metadata must be an object"))
}

/// Checks a name the way kube-apiserver does for most resources (a DNS subdomain, loosely).
fn validate_name(kind: &str, name: &str) -> Result<(), ApiError> {
    let ok = name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "{kind} \"{name}\" is invalid: metadata.name: Invalid value: \"{name}\": a lowercase \
             RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', \
             and must start and end with an alphanumeric character"
        )))
    }
}

fn set_type(object: &mut Value, res: &ResKey, kind: &str) {
    object["apiVersion"] = res.api_version.clone().into();
    let has_kind = object
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| !k.is_empty());
    if !has_kind {
        object["kind"] = kind.into();
    }
}

/// Copies `field` from `from` to `to`, or removes it from `to` when `from` has none.
fn copy_field(from: &Value, to: &mut Value, field: &str) {
    if let Some(map) = to.as_object_mut() {
        match from.get(field) {
            Some(v) => map.insert(field.to_owned(), v.clone()),
            None => map.remove(field),
        };
    }
}

pub(crate) fn rv_of(object: &Value) -> &str {
    object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
}

fn set_rv(object: &mut Value, rv: u64) {
    object["metadata"]["resourceVersion"] = rv.to_string().into();
}

fn finalizers(object: &Value) -> Vec<&str> {
    object["metadata"]["finalizers"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Everything but `metadata` and `status`: what `generation` tracks.
fn spec_part(object: &Value) -> Map<String, Value> {
    let mut map = object.as_object().cloned().unwrap_or_default();
    map.remove("metadata");
    map.remove("status");
    map.remove("apiVersion");
    map.remove("kind");
    map
}

/// The current time as RFC 3339 with second precision, as in `metadata.creationTimestamp`.
pub(crate) fn now_rfc3339() -> String {
    let now = k8s_openapi::jiff::Timestamp::now();
    k8s_openapi::jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

/// A random 64-bit number (from the standard library's randomly keyed hasher).
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

fn new_uid() -> String {
    let (a, b) = (random_u64(), random_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// Five characters as kube-apiserver appends to a `generateName`.
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = random_u64();
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}
