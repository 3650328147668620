//! A word of an extensible set, as it travels in a response.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A value of one of Confluent's `x-extensible-enum` sets: a word this crate knows, or one it
/// does not (a newer server's), kept as sent. Our server only ever writes [`Known`](Self::Known)
/// words; a client reading another server's response must not fail on a word it has never seen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Extensible<T> {
    /// A word of the set.
    Known(T),
    /// A word outside it, as the server spelled it.
    Other(String),
}

impl<T: Copy> Extensible<T> {
    /// The known word, if it is one.
    pub fn known(&self) -> Option<T> {
        match self {
            Extensible::Known(t) => Some(*t),
            Extensible::Other(_) => None,
        }
    }
}

impl<T> From<T> for Extensible<T> {
    fn from(t: T) -> Self {
        Extensible::Known(t)
    }
}

/// What a response that leaves the field out reads as: no word (an empty `Other`).
impl<T> Default for Extensible<T> {
    fn default() -> Self {
        Extensible::Other(String::new())
    }
}

impl<T: fmt::Display> fmt::Display for Extensible<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Extensible::Known(t) => t.fmt(f),
            Extensible::Other(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MirrorState;

    #[test]
    fn unknown_words_are_kept_not_refused() {
        let known: Extensible<MirrorState> = serde_json::from_str("\"PAUSED\"").unwrap();
        assert_eq!(known, Extensible::Known(MirrorState::Paused));
        let newer: Extensible<MirrorState> = serde_json::from_str("\"PENDING_FOO\"").unwrap();
        assert_eq!(newer, Extensible::Other("PENDING_FOO".into()));
        assert_eq!(newer.to_string(), "PENDING_FOO");
        assert_eq!(serde_json::to_string(&known).unwrap(), "\"PAUSED\"");
    }
}
