//! The states of a mirror topic, as Confluent's API names them (`mirror_status`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The state a mirror topic is in (Confluent's `MirrorTopicStatus`: the Confluent Platform
/// values and those Confluent Cloud adds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum MirrorState {
    /// Mirroring.
    Active,
    /// Paused by the user.
    Paused,
    /// Promote (or failover) in progress: catching up before stopping.
    PendingStopped,
    /// Mirroring ended; the topic is an ordinary writable topic.
    Stopped,
    /// Mirroring failed; the reason says why.
    Failed,
    /// The source cluster cannot be reached; mirroring resumes when it can.
    SourceUnavailable,
    /// Requested on a source-initiated (INBOUND) link and not yet created by the link's
    /// OUTBOUND side.
    PendingMirror,
    /// Would mirror, but the whole link is paused (`cluster.link.paused`).
    LinkPaused,
    /// The link failed, so its mirrors cannot move.
    LinkFailed,
    /// Confluent's transitional state before mirroring starts (never set by clusterlink).
    PendingSynchronize,
    /// Truncate-and-restore: being prepared.
    PendingSetupForRestore,
    /// Truncate-and-restore: restoring from the remote cluster.
    PendingRestore,
}

impl MirrorState {
    /// Every state, in declaration order.
    pub const ALL: [MirrorState; 12] = [
        MirrorState::Active,
        MirrorState::Paused,
        MirrorState::PendingStopped,
        MirrorState::Stopped,
        MirrorState::Failed,
        MirrorState::SourceUnavailable,
        MirrorState::PendingMirror,
        MirrorState::LinkPaused,
        MirrorState::LinkFailed,
        MirrorState::PendingSynchronize,
        MirrorState::PendingSetupForRestore,
        MirrorState::PendingRestore,
    ];

    /// Confluent's name of the state (`PENDING_STOPPED`).
    pub fn as_str(self) -> &'static str {
        match self {
            MirrorState::Active => "ACTIVE",
            MirrorState::Paused => "PAUSED",
            MirrorState::PendingStopped => "PENDING_STOPPED",
            MirrorState::Stopped => "STOPPED",
            MirrorState::Failed => "FAILED",
            MirrorState::SourceUnavailable => "SOURCE_UNAVAILABLE",
            MirrorState::PendingMirror => "PENDING_MIRROR",
            MirrorState::LinkPaused => "LINK_PAUSED",
            MirrorState::LinkFailed => "LINK_FAILED",
            MirrorState::PendingSynchronize => "PENDING_SYNCHRONIZE",
            MirrorState::PendingSetupForRestore => "PENDING_SETUP_FOR_RESTORE",
            MirrorState::PendingRestore => "PENDING_RESTORE",
        }
    }

    /// Parses a `mirror_status` value, case-insensitively (Confluent's CLI filters are lower
    /// case); `None` for a name this crate does not know.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether mirroring has ended for good (the topic is writable).
    pub fn is_stopped(self) -> bool {
        self == MirrorState::Stopped
    }

    /// Whether the state is a transition (`PENDING_…`): it moves on by itself, soon.
    pub fn is_pending(self) -> bool {
        self.as_str().starts_with("PENDING_")
    }
}

impl fmt::Display for MirrorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a known mirror state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMirrorState(pub String);

impl fmt::Display for UnknownMirrorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown mirror state '{}'", self.0)
    }
}

impl std::error::Error for UnknownMirrorState {}

impl FromStr for MirrorState {
    type Err = UnknownMirrorState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MirrorState::parse(s).ok_or_else(|| UnknownMirrorState(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_json() {
        for state in MirrorState::ALL {
            assert_eq!(MirrorState::parse(state.as_str()), Some(state));
            assert_eq!(
                MirrorState::parse(&state.as_str().to_ascii_lowercase()),
                Some(state)
            );
            let json = serde_json::to_string(&state).expect("serializes");
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            let back: MirrorState = serde_json::from_str(&json).expect("deserializes");
            assert_eq!(back, state);
        }
        assert_eq!(MirrorState::PendingStopped.to_string(), "PENDING_STOPPED");
        assert!("NOT_A_STATE".parse::<MirrorState>().is_err());
        let pending: Vec<_> = MirrorState::ALL
            .into_iter()
            .filter(|s| s.is_pending())
            .collect();
        assert_eq!(pending.len(), 5);
        assert!(!MirrorState::Active.is_pending());
    }
}
