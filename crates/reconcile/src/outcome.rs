//! What a pass hands back to its driver besides the status: notes (the operator's Events, the
//! CLI's lines) and when to look again.

use std::time::Duration;

use tracing::{info, warn};

/// The reason of a note that lists an action a look-only pass ([`crate::LinkReconciler::observe`])
/// would take.
pub const PENDING: &str = "Pending";

/// Something that happened during a pass: an Event for the operator, a line for the CLI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// A warning (something failed or needs the user) rather than a normal step.
    pub warning: bool,
    /// CamelCase reason, e.g. `MirrorTopicCreated`.
    pub reason: String,
    /// What happened, for people. Never contains a credential.
    pub message: String,
}

impl Note {
    /// A note, logged as it is taken (a warning as a warning) for the resource `subject`.
    pub(crate) fn logged(subject: &str, warning: bool, reason: &str, message: String) -> Self {
        if warning {
            warn!(link = %subject, reason, "{message}");
        } else {
            info!(link = %subject, reason, "{message}");
        }
        Note {
            warning,
            reason: reason.to_string(),
            message,
        }
    }

    /// A warning, not logged (the caller logs the failure it reports).
    pub(crate) fn warning(reason: &str, message: &str) -> Self {
        Note {
            warning: true,
            reason: reason.to_string(),
            message: message.to_string(),
        }
    }
}

/// When the driver should reconcile the resource again.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Next {
    /// After this long (to refresh the status, or to follow a transition).
    After(Duration),
    /// With backoff: a transient failure of this category.
    Retry(&'static str),
    /// Only when the resource (or an object it refers to) changes.
    WaitForChange,
}
