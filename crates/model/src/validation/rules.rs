//! The field checks the three kinds share (Kubernetes names and references, topic names, secret
//! references), on a collector that keeps every problem found.

use crate::common::SecretOrDirectory;
use crate::names::{
    is_dns1123_label, is_dns1123_subdomain, topic_name_problem, MAX_TOPIC_NAME_LEN,
};

use super::errors::{Rule, ValidationError, ValidationErrors};

/// Collects the problems of one resource.
#[derive(Default)]
pub(super) struct Errors(Vec<ValidationError>);

impl Errors {
    pub(super) fn push(&mut self, path: impl Into<String>, rule: Rule) {
        self.0.push(ValidationError {
            path: path.into(),
            rule,
        });
    }

    pub(super) fn required(&mut self, path: impl Into<String>, why: &'static str) {
        self.push(path, Rule::Required { why });
    }

    pub(super) fn not_allowed(&mut self, path: impl Into<String>, why: &'static str) {
        self.push(path, Rule::NotAllowed { why });
    }

    pub(super) fn conflict(
        &mut self,
        path: impl Into<String>,
        other: impl Into<String>,
        why: &'static str,
    ) {
        self.push(
            path,
            Rule::Conflict {
                other: other.into(),
                why,
            },
        );
    }

    pub(super) fn format(&mut self, path: impl Into<String>, value: &str, why: &'static str) {
        self.push(
            path,
            Rule::Format {
                value: value.into(),
                why,
            },
        );
    }

    /// Every problem found, or — when there is none — the validated value `valid` builds.
    pub(super) fn finish<T>(self, valid: impl FnOnce() -> T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() {
            Ok(valid())
        } else {
            Err(ValidationErrors(self.0))
        }
    }

    pub(super) fn secret_ref(&mut self, path: String, name: &str, max: usize) {
        if name.len() > max {
            self.push(
                path.clone(),
                Rule::TooLong {
                    len: name.len(),
                    max,
                },
            );
        }
        if !is_dns1123_label(name) {
            self.format(path, name, "a secret name: lowercase letters, digits and '-', starting and ending alphanumeric");
        }
    }

    pub(super) fn non_empty(&mut self, path: String, value: &str) {
        if value.is_empty() {
            self.required(path, "must not be empty");
        }
    }

    pub(super) fn topic_name(&mut self, path: String, name: &str) {
        if let Some(why) = topic_name_problem(name) {
            self.format(path.clone(), name, why);
        }
        if name.len() > MAX_TOPIC_NAME_LEN {
            self.push(
                path,
                Rule::TooLong {
                    len: name.len(),
                    max: MAX_TOPIC_NAME_LEN,
                },
            );
        }
    }

    pub(super) fn metadata(&mut self, name: Option<&str>, namespace: Option<&str>) {
        match name {
            None => self.required("metadata.name", "every resource has a name"),
            Some(n) if !is_dns1123_subdomain(n) => self.format(
                "metadata.name",
                n,
                "a Kubernetes name: lowercase letters, digits, '-' and '.', at most 253 characters",
            ),
            Some(_) => {}
        }
        if let Some(ns) = namespace {
            if !is_dns1123_label(ns) {
                self.format("metadata.namespace", ns, "a namespace: a DNS-1123 label");
            }
        }
    }

    pub(super) fn object_ref(&mut self, path: &str, name: &str, namespace: Option<&str>) {
        if !is_dns1123_subdomain(name) {
            self.format(format!("{path}.name"), name, "a Kubernetes name");
        }
        if let Some(ns) = namespace {
            if !is_dns1123_label(ns) {
                self.format(
                    format!("{path}.namespace"),
                    ns,
                    "a namespace: a DNS-1123 label",
                );
            }
        }
    }

    pub(super) fn secret_or_directory(
        &mut self,
        path: &str,
        s: &SecretOrDirectory,
        what: &'static str,
    ) {
        match (&s.secret_ref, &s.directory_path_in_container) {
            (None, None) => self.required(format!("{path}.secretRef"), what),
            (Some(_), Some(_)) => self.conflict(
                format!("{path}.secretRef"),
                format!("{path}.directoryPathInContainer"),
                "give the credentials either as a secret or as a directory",
            ),
            _ => {}
        }
        if let Some(name) = &s.secret_ref {
            self.secret_ref(format!("{path}.secretRef"), name, 30);
        }
    }
}
