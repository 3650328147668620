//! Patches (merge, JSON, server-side apply) and the bookkeeping of applied fields.

use serde_json::{Map, Value};

use super::resource::{ApiError, Applied, ResKey, Sub};

/// Drops `null` map values everywhere (kube-apiserver prunes them from non-nullable fields) and
/// empty metadata collections (Go's `omitempty`), so that objects look as a real server returns
/// them: a removed last finalizer leaves no `finalizers: []` behind.
pub(crate) fn normalize(object: &mut Value) {
    prune_nulls(object);
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
            let empty = match meta.get(field) {
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Object(m)) => m.is_empty(),
                _ => false,
            };
            if empty {
                meta.remove(field);
            }
        }
        meta.remove("managedFields");
    }
}

fn prune_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(prune_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

/// Applies a JSON merge patch (RFC 7386).
pub(crate) fn merge(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// Applies a JSON patch (RFC 6902). Like kube-apiserver (whose JSON patch library treats a
/// missing value as `null`), a `test` for `null` passes when the path does not exist, which
/// kube's `finalizer()` relies on to add the first finalizer.
pub(crate) fn json(target: &mut Value, ops: &Value) -> Result<(), ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(ops.clone())
        .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
    let mut result = target.clone();
    for op in &ops.0 {
        if let json_patch::PatchOperation::Test(test) = op {
            if test.value.is_null() && result.pointer(test.path.as_str()).is_none() {
                continue;
            }
        }
        json_patch::patch(&mut result, std::slice::from_ref(op))
            .map_err(|e| ApiError::invalid(format!("the JSON patch could not be applied: {e}")))?;
    }
    *target = result;
    Ok(())
}

/// The part of an apply body that a manager owns: for the main resource everything but the
/// identity fields (and `status`, when it is a subresource); for `/status`, only `status`.
pub(crate) fn apply_config(body: &Value, res: &ResKey, sub: Sub) -> Value {
    let mut config = Map::new();
    let Some(body) = body.as_object() else {
        return Value::Object(config);
    };
    match sub {
        Sub::Status => {
            if let Some(status) = body.get("status") {
                config.insert("status".into(), status.clone());
            }
        }
        Sub::Main => {
            for (k, v) in body {
                match k.as_str() {
                    "apiVersion" | "kind" => {}
                    "status" if res.has_status_subresource() => {}
                    "metadata" => {
                        let mut meta = Map::new();
                        for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
                            if let Some(v) = v.get(field).filter(|v| !v.is_null()) {
                                meta.insert(field.into(), v.clone());
                            }
                        }
                        if !meta.is_empty() {
                            config.insert("metadata".into(), Value::Object(meta));
                        }
                    }
                    _ => {
                        config.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    let mut config = Value::Object(config);
    prune_nulls(&mut config);
    config
}

/// Paths (`.spec.a.b`) at which `config` applies a value that another manager applies
/// differently.
pub(crate) fn conflicts(config: &Value, other: &Value) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    collect_conflicts(config, other, &mut Vec::new(), &mut out);
    out
}

fn collect_conflicts(
    config: &Value,
    other: &Value,
    path: &mut Vec<String>,
    out: &mut Vec<Vec<String>>,
) {
    let (Some(config), Some(other)) = (config.as_object(), other.as_object()) else {
        return;
    };
    for (k, mine) in config {
        let Some(theirs) = other.get(k) else { continue };
        path.push(k.clone());
        if mine.is_object() && theirs.is_object() {
            collect_conflicts(mine, theirs, path, out);
        } else if mine != theirs {
            out.push(path.clone());
        }
        path.pop();
    }
}

/// Removes one path from a manager's configuration (it lost the field to a forced apply).
pub(crate) fn remove_path(config: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = config;
    for key in parents {
        match node.get_mut(key) {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Some(map) = node.as_object_mut() {
        map.remove(last);
    }
}

/// Formats a path as kube-apiserver does in conflict messages (`.spec.replicas`).
pub(crate) fn format_path(path: &[String]) -> String {
    path.iter().map(|k| format!(".{k}")).collect()
}

/// Applies `config` over `object`: maps merge recursively, anything else (lists included)
/// replaces.
pub(crate) fn apply_merge(object: &mut Value, config: &Value) {
    match (object.as_object_mut(), config.as_object()) {
        (Some(target), Some(config)) => {
            for (k, v) in config {
                match target.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        apply_merge(existing, v)
                    }
                    _ => {
                        target.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        _ => *object = config.clone(),
    }
}

/// Removes from `object` the fields a manager applied before (`previous`) and no longer applies
/// (`new`), unless another applier (`others`) still applies them. Fields nobody applied (set by
/// updates) stay.
pub(crate) fn remove_dropped(object: &mut Value, previous: &Value, new: &Value, others: &[&Value]) {
    let (Some(target), Some(previous)) = (object.as_object_mut(), previous.as_object()) else {
        return;
    };
    for (k, prev) in previous {
        let now = new.get(k);
        let mut shared_whole = false;
        let mut other_maps = Vec::new();
        for other in others {
            match other.get(k) {
                Some(v) if v.is_object() => other_maps.push(v),
                Some(_) => shared_whole = true,
                None => {}
            }
        }
        if shared_whole {
            continue;
        }
        match (prev.is_object(), now) {
            (true, Some(now)) if now.is_object() => {
                if let Some(child) = target.get_mut(k) {
                    remove_dropped(child, prev, now, &other_maps);
                }
            }
            (_, Some(_)) => {}
            (true, None) => {
                if let Some(child) = target.get_mut(k) {
                    if child.is_object() {
                        remove_dropped(child, prev, &Value::Null, &other_maps);
                        if child.as_object().is_some_and(Map::is_empty) {
                            target.remove(k);
                        }
                    }
                }
            }
            (false, None) => {
                target.remove(k);
            }
        }
    }
}

/// After an update changed `old` into `new`, takes the changed fields away from an applier's
/// configuration (ownership moves to the updater).
pub(crate) fn strip_changed(config: &mut Value, old: &Value, new: &Value) {
    let Some(config) = config.as_object_mut() else {
        return;
    };
    config.retain(|k, mine| {
        let (before, after) = (old.get(k), new.get(k));
        if before == after {
            return true;
        }
        match (before, after) {
            (Some(b), Some(a)) if mine.is_object() && b.is_object() && a.is_object() => {
                strip_changed(mine, b, a);
                mine.as_object().is_some_and(|m| !m.is_empty())
            }
            _ => false,
        }
    });
}

/// Works out a server-side apply by `manager` on `sub` of an object (`current`, or a skeleton
/// when it does not exist): returns the object to write and the new ownership map.
pub(crate) fn server_side_apply(
    res: &ResKey,
    sub: Sub,
    current: &Value,
    applied: &Applied,
    manager: &str,
    force: bool,
    body: &Value,
) -> Result<(Value, Applied), ApiError> {
    let config = apply_config(body, res, sub);
    let mut applied = applied.clone();
    let mut all_conflicts = Vec::new();
    for ((other_manager, other_sub), other) in applied.iter_mut() {
        if other_manager == manager {
            continue;
        }
        let found = conflicts(&config, other);
        if force {
            for path in &found {
                remove_path(other, path);
            }
        } else {
            all_conflicts.extend(
                found
                    .into_iter()
                    .map(|p| (other_manager.clone(), *other_sub, p)),
            );
        }
    }
    if !all_conflicts.is_empty() {
        let list: Vec<String> = all_conflicts
            .iter()
            .map(|(m, _, p)| format!("conflict with \"{m}\": {}", format_path(p)))
            .collect();
        return Err(ApiError::new(
            409,
            format!(
                "Apply failed with {} conflict{}: {}",
                list.len(),
                if list.len() == 1 { "" } else { "s" },
                list.join(", ")
            ),
        ));
    }
    let key = (manager.to_owned(), sub);
    let previous = applied.get(&key).cloned().unwrap_or(Value::Null);
    let others: Vec<&Value> = applied
        .iter()
        .filter(|(k, _)| **k != key)
        .map(|(_, v)| v)
        .collect();
    let mut object = current.clone();
    remove_dropped(&mut object, &previous, &config, &others);
    apply_merge(&mut object, &config);
    applied.insert(key, config);
    Ok((object, applied))
}
