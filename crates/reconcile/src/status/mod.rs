//! Status, computed without I/O from what a pass saw and did.
//!
//! - [`conditions`]: condition types and reasons, and the only code that writes conditions
//!   (`lastTransitionTime` moves only when a status flips);
//! - [`link`]: a ClusterLink's status — CFK's fields, the problems, the Ready verdict on real
//!   mirroring health;
//! - [`time`]: RFC 3339 timestamps.

pub mod conditions;
pub mod link;
pub mod time;

pub use conditions::{condition, set_condition, Conditions, READY, RECONCILED};
pub use link::{app_state, mirror_statuses, readiness, STATE_CREATED};
pub use time::{now_rfc3339, parse_time, rfc3339};
