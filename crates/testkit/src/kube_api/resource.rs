//! What every part of the fake API server speaks of: a resource type ([`ResKey`]), a
//! subresource ([`Sub`]), the API errors it answers with ([`ApiError`]) and who applied what
//! ([`Applied`]). Kept apart so that the store and the patch logic both use them without
//! importing each other.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// A resource type: `apiVersion` (`v1` or `group/version`) and plural name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ResKey {
    pub(crate) api_version: String,
    pub(crate) plural: String,
}

impl ResKey {
    pub(crate) fn new(api_version: &str, plural: &str) -> Self {
        Self {
            api_version: api_version.to_owned(),
            plural: plural.to_owned(),
        }
    }

    /// The API group (empty for the core group).
    pub(crate) fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map(|(g, _)| g)
            .unwrap_or("")
    }

    /// `plural.group` (or `plural` for the core group), as kube-apiserver names resources in
    /// messages.
    pub(crate) fn qualified(&self) -> String {
        match self.group() {
            "" => self.plural.clone(),
            g => format!("{}.{g}", self.plural),
        }
    }

    /// Whether writes to `/status` are separate from writes to the object.
    pub(crate) fn has_status_subresource(&self) -> bool {
        let no_status = match self.api_version.as_str() {
            "v1" => matches!(
                self.plural.as_str(),
                "secrets" | "configmaps" | "events" | "serviceaccounts" | "endpoints"
            ),
            "events.k8s.io/v1" | "events.k8s.io/v1beta1" => self.plural == "events",
            "coordination.k8s.io/v1" => self.plural == "leases",
            _ => false,
        };
        !no_status
    }
}

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Sub {
    Main,
    Status,
}

/// An API error, answered as a `Status` object.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) code: u16,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(code: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason_for(code),
            message: message.into(),
        }
    }

    /// An error with a reason other than the usual one for its code.
    pub(crate) fn with_reason(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(res: &ResKey, name: &str) -> Self {
        Self::new(404, format!("{} \"{name}\" not found", res.qualified()))
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(422, message)
    }

    pub(crate) fn modified(res: &ResKey, name: &str) -> Self {
        Self::new(
            409,
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                res.qualified()
            ),
        )
    }

    /// The `Status` body.
    pub(crate) fn to_status(&self) -> Value {
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        })
    }
}

/// The `Status.reason` kube-apiserver uses with an HTTP status code.
pub(crate) fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}

/// Which manager applied what, per manager and subresource.
pub(crate) type Applied = BTreeMap<(String, Sub), Value>;
