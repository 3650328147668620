//! How the engine reads the mirror states.
//!
//! The states are Confluent's ([`MirrorState`], defined once for the whole project in
//! `clusterlink-rest-v3`); this module adds what only the engine decides with them: which
//! states move data, which state a wish ([`Desired`]) means while nothing is wrong, and the form
//! a state takes in the state topic.
//!
//! The stored form: mirror records (`mirror/…`) and the OUTBOUND side's status records
//! (`mstatus/…`) spell a state as the engine's own enum did before it gave way to the shared
//! one: the Rust name (`"PendingStopped"`), not the API's (`"PENDING_STOPPED"`). Writing that
//! form keeps the records exactly as they were, readable by link servers of earlier versions
//! (the two halves of a link pair read each other's records); reading accepts both forms.

use clusterlink_rest_v3::MirrorState;

use super::spec::Desired;

/// The engine's questions about a state.
pub(crate) trait EngineState: Copy {
    /// Whether the engine fetches and writes for a mirror in this state: ACTIVE,
    /// PENDING_STOPPED (catching up to promote) and SOURCE_UNAVAILABLE (retrying).
    fn moves_data(self) -> bool;

    /// Whether the topic is still a read-only mirror that keeps its position: it moves data,
    /// or it is PAUSED.
    fn keeps_position(self) -> bool;
}

impl EngineState for MirrorState {
    fn moves_data(self) -> bool {
        matches!(
            self,
            MirrorState::Active | MirrorState::PendingStopped | MirrorState::SourceUnavailable
        )
    }

    fn keeps_position(self) -> bool {
        self.moves_data() || self == MirrorState::Paused
    }
}

/// The state that `desired` means while nothing is wrong.
pub(crate) fn healthy_state(desired: Desired) -> MirrorState {
    match desired {
        Desired::Active => MirrorState::Active,
        Desired::Paused => MirrorState::Paused,
        Desired::Promote => MirrorState::PendingStopped,
        Desired::Failover => MirrorState::Stopped,
    }
}

/// A state as the state topic spells it: `PENDING_STOPPED` → `PendingStopped`.
fn stored_name(state: MirrorState) -> String {
    state
        .as_str()
        .split('_')
        .map(|word| {
            let (first, rest) = word.split_at(1);
            first.to_string() + &rest.to_ascii_lowercase()
        })
        .collect()
}

/// A state read from the state topic, in the stored form or the API's.
fn parse_stored(s: &str) -> Option<MirrorState> {
    MirrorState::parse(s).or_else(|| {
        MirrorState::ALL
            .into_iter()
            .find(|state| stored_name(*state) == s)
    })
}

/// `#[serde(with = "…::stored")]` for a state field of a record kept in the state topic.
pub(crate) mod stored {
    use clusterlink_rest_v3::MirrorState;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the stored form.
    pub(crate) fn serialize<S: Serializer>(state: &MirrorState, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::stored_name(*state))
    }

    /// Reads the stored form or the API's.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MirrorState, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_stored(&s)
            .ok_or_else(|| D::Error::custom(format!("unknown mirror state '{s}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the engine's own enum (before `clusterlink_rest_v3::MirrorState`) serialised to:
    /// the stored form must not change.
    const OLD_FORM: [(MirrorState, &str); 8] = [
        (MirrorState::Active, "Active"),
        (MirrorState::Paused, "Paused"),
        (MirrorState::PendingStopped, "PendingStopped"),
        (MirrorState::Stopped, "Stopped"),
        (MirrorState::Failed, "Failed"),
        (MirrorState::SourceUnavailable, "SourceUnavailable"),
        (MirrorState::PendingMirror, "PendingMirror"),
        (MirrorState::LinkPaused, "LinkPaused"),
    ];

    #[test]
    fn the_stored_form_is_the_old_enums() {
        for (state, old) in OLD_FORM {
            assert_eq!(stored_name(state), old);
            assert_eq!(parse_stored(old), Some(state));
        }
    }

    #[test]
    fn every_state_round_trips_in_either_form() {
        for state in MirrorState::ALL {
            assert_eq!(parse_stored(&stored_name(state)), Some(state));
            assert_eq!(parse_stored(state.as_str()), Some(state));
        }
        assert_eq!(parse_stored("NotAState"), None);
    }

    #[test]
    fn moving_and_positioned_states() {
        let moving: Vec<_> = MirrorState::ALL
            .into_iter()
            .filter(|s| s.moves_data())
            .collect();
        assert_eq!(
            moving,
            [
                MirrorState::Active,
                MirrorState::PendingStopped,
                MirrorState::SourceUnavailable
            ]
        );
        assert!(MirrorState::Paused.keeps_position());
        assert!(!MirrorState::Stopped.keeps_position());
        assert!(!MirrorState::Failed.keeps_position());
    }
}
