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
}

impl MirrorAction {
    /// Every action.
    pub const ALL: [MirrorAction; 4] = [
        MirrorAction::Pause,
        MirrorAction::Resume,
        MirrorAction::Promote,
        MirrorAction::Failover,
    ];

    /// The action's name in the path (`mirrors:promote`).
    pub fn as_str(self) -> &'static str {
        match self {
            MirrorAction::Pause => "pause",
            MirrorAction::Resume => "resume",
            MirrorAction::Promote => "promote",
            MirrorAction::Failover => "failover",
        }
    }

    /// The action a path names (`promote`), if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
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
        }
        assert_eq!(MirrorAction::parse("truncate"), None);
    }
}
