//! The contract between the link server and everything that drives it: Confluent's Admin REST
//! API v3 for cluster linking, as words and JSON shapes.
//!
//! The server (`clusterlink-server`) speaks this API and the reconciler's client
//! (`clusterlink-reconcile`) calls it; the mirroring engine and the resource model use its words
//! (mirror states, link config names). Keeping them here, in a crate without I/O that everyone
//! may depend on, gives each word one definition: a state or a config name spelled in one place
//! cannot drift between the side that writes it and the side that reads it.
//!
//! - [`mirror_state`]: `mirror_status` values ([`MirrorState`]);
//! - [`mirror_action`]: the `mirrors:<action>` state changes ([`MirrorAction`]);
//! - [`link_config`]: link config names and which of them hold secrets.

pub mod link_config;
pub mod mirror_action;
pub mod mirror_state;

pub use mirror_action::MirrorAction;
pub use mirror_state::MirrorState;
