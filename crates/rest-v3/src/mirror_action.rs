//! The state changes of mirror topics (`POST .../mirrors:<action>`).

use std::fmt;

/// A state change of mirror topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MirrorAction {
    /// `mirrors:pause`: stop mirroring, stay read-only.
    Pause,
    /// `mirrors:resume`: mirror again.
    Resume,
    /// `mirrors:promote`: catch up to zero lag, then stop mirroring for good.
    Promote,
    /// `mirrors:failover`: stop mirroring for good, now.
    Failover,
    /// `mirrors:reverse-and-start-mirror` (Confluent Platform's spec:
    /// `promote-local-and-start-remote-mirror`): promote the local mirror topic (zero lag
    /// first), then the remote cluster's topic it mirrored becomes a mirror of it, mirroring.
    ReverseAndStartMirror,
    /// `mirrors:reverse-and-pause-mirror` (`promote-local-and-pause-remote-mirror`): the same,
    /// the remote mirror paused.
    ReverseAndPauseMirror,
    /// `mirrors:truncate-and-restore`: a local topic that was mirrored to the remote cluster,
    /// which failed it over, is cut back to where the remote's mirror stopped (what lies after
    /// is kept aside, never dropped) and becomes a mirror of the remote topic.
    TruncateAndRestore,
}

impl MirrorAction {
    /// Every action.
    pub const ALL: [MirrorAction; 7] = [
        MirrorAction::Pause,
        MirrorAction::Resume,
        MirrorAction::Promote,
        MirrorAction::Failover,
        MirrorAction::TruncateAndRestore,
        MirrorAction::ReverseAndStartMirror,
        MirrorAction::ReverseAndPauseMirror,
    ];

    /// The action's name in the path (`mirrors:promote`).
    pub fn as_str(self) -> &'static str {
        match self {
            MirrorAction::Pause => "pause",
            MirrorAction::Resume => "resume",
            MirrorAction::Promote => "promote",
            MirrorAction::Failover => "failover",
            MirrorAction::ReverseAndStartMirror => "reverse-and-start-mirror",
            MirrorAction::ReverseAndPauseMirror => "reverse-and-pause-mirror",
            MirrorAction::TruncateAndRestore => "truncate-and-restore",
        }
    }

    /// The other name Confluent Platform's spec gives the action's path, if any.
    pub fn alias(self) -> Option<&'static str> {
        match self {
            MirrorAction::ReverseAndStartMirror => Some("promote-local-and-start-remote-mirror"),
            MirrorAction::ReverseAndPauseMirror => Some("promote-local-and-pause-remote-mirror"),
            _ => None,
        }
    }

    /// The action a path names (`promote`, or an alias), if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s || a.alias() == Some(s))
    }

    /// Whether the action reverses a mirror: the remote topic becomes a mirror of the local one.
    pub fn reverses(self) -> bool {
        matches!(
            self,
            MirrorAction::ReverseAndStartMirror | MirrorAction::ReverseAndPauseMirror
        )
    }
}

impl fmt::Display for MirrorAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_names_round_trip() {
        for a in MirrorAction::ALL {
            assert_eq!(MirrorAction::parse(a.as_str()), Some(a));
            if let Some(alias) = a.alias() {
                assert_eq!(MirrorAction::parse(alias), Some(a));
            }
        }
        assert_eq!(MirrorAction::parse("truncate"), None);
        assert_eq!(
            MirrorAction::parse("promote-local-and-start-remote-mirror"),
            Some(MirrorAction::ReverseAndStartMirror)
        );
    }
}
