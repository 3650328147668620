//! The files of the Secrets (and `directoryPathInContainer` directories) a resource names, and
//! the link configs built with exactly the secret files they need.

use std::collections::BTreeMap;
use std::path::Path;

use clusterlink_model::configs::ConfigError;
use clusterlink_model::{
    LinkConfigs, ResolvedSecrets, SecretSource, SecretValue, ValidatedClusterLink,
};

use crate::objects::Objects;

use super::error::DerefError;

/// A Secret's (or a directory's) files by name.
pub(super) type Files = BTreeMap<String, SecretValue>;

/// Files of a `directoryPathInContainer`, read from the filesystem.
fn read_directory(dir: &str) -> Option<Files> {
    let entries = std::fs::read_dir(Path::new(dir)).ok()?;
    let mut out = BTreeMap::new();
    for e in entries.flatten() {
        let path = e.path();
        if !path.is_file() {
            continue;
        }
        if let (Some(name), Ok(text)) = (
            path.file_name().and_then(|n| n.to_str()),
            std::fs::read_to_string(&path),
        ) {
            out.insert(name.to_string(), SecretValue::new(text));
        }
    }
    Some(out)
}

/// The files of `source`: a Secret in `namespace`, or a directory. A missing one is an error
/// that names `path`, the field that refers to it.
fn files(
    objects: &Objects,
    namespace: &str,
    path: &str,
    source: &SecretSource,
) -> Result<Files, DerefError> {
    let missing = |what: String| DerefError::Secret {
        path: path.to_string(),
        what,
    };
    match source {
        SecretSource::Secret(name) => objects
            .secret(namespace, name)
            .cloned()
            .ok_or_else(|| missing(format!("Secret {namespace}/{name} not found"))),
        SecretSource::Directory(dir) => {
            read_directory(dir).ok_or_else(|| missing(format!("directory {dir} cannot be read")))
        }
        other => Err(missing(format!("{other:?} cannot be read"))),
    }
}

/// The files of a `secretRef` (first) or a `directoryPathInContainer`, one of which is set.
pub(super) fn files_at(
    objects: &Objects,
    namespace: &str,
    path: &str,
    secret_ref: Option<&str>,
    directory: Option<&str>,
) -> Result<Files, DerefError> {
    let source = match (secret_ref, directory) {
        (Some(name), _) => SecretSource::Secret(name.to_string()),
        (None, Some(dir)) => SecretSource::Directory(dir.to_string()),
        (None, None) => {
            return Err(DerefError::Secret {
                path: path.to_string(),
                what: "neither secretRef nor directoryPathInContainer is set".into(),
            })
        }
    };
    files(objects, namespace, path, &source)
}

/// The link configs, reading exactly the secrets and directories they need: the translation
/// says which file it misses, that file's Secret is read, and the translation runs again.
pub(super) fn link_configs(
    link: &ValidatedClusterLink,
    objects: &Objects,
) -> Result<LinkConfigs, DerefError> {
    let namespace = &link.resource.namespace;
    let mut secrets = ResolvedSecrets::new();
    loop {
        match link.link_configs(&secrets) {
            Ok(c) => return Ok(c),
            Err(ConfigError::MissingSecret { path, from, key }) => {
                if secrets.contains_key(&from) {
                    return Err(DerefError::Secret {
                        path,
                        what: match &from {
                            SecretSource::Secret(n) => {
                                format!("Secret {namespace}/{n} has no {key}")
                            }
                            SecretSource::Directory(d) => format!("directory {d} has no {key}"),
                            _ => format!("{from:?} has no {key}"),
                        },
                    });
                }
                let read = files(objects, namespace, &path, &from)?;
                secrets.insert(from, read);
            }
            Err(e) => return Err(e.into()),
        }
    }
}
