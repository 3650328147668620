//! The contract between the link server and everything that drives it: Confluent's Admin REST
//! API v3 for cluster linking, as words and JSON shapes.
//!
//! The server (`clusterlink-server`) writes these shapes and the reconciler's client
//! (`clusterlink-reconcile`) reads them; the mirroring engine and the resource model use its
//! words (mirror states, link config names). Keeping them here, in a crate without I/O that
//! everyone may depend on, gives each word and each field one definition: a state, a config
//! name or a field spelled in one place cannot drift between the side that writes it and the
//! side that reads it.
//!
//! Shapes follow `confluent-rest-v3-clusterlinking.yaml` (plus clusterlink's few extensions,
//! marked as such). Responses read tolerantly: a field a server leaves out reads as its default,
//! and a word of an extensible set that this crate does not know is kept as sent
//! ([`Extensible`]), so that a client also works against a real Confluent Server.
//!
//! The words:
//! - [`mirror_state`]: `mirror_status` values ([`MirrorState`]);
//! - [`mirror_action`]: the `mirrors:<action>` state changes ([`MirrorAction`]);
//! - [`link_config`]: link config names, which of them hold secrets, and the values of
//!   `link.mode` and `connection.mode`.
//!
//! The shapes, by resource:
//! - [`resource`]: what every resource and list has (`kind`, `metadata`, `data`);
//! - [`error`]: error bodies;
//! - [`clusters`], [`topics`], [`links`] (links and their configs), [`mirrors`];
//! - [`configs`]: configs as requests carry them, and config sources.

mod words;

pub mod clusters;
pub mod configs;
pub mod error;
pub mod extensible;
pub mod link_config;
pub mod links;
pub mod mirror_action;
pub mod mirror_state;
pub mod mirrors;
pub mod resource;
pub mod topics;

pub use error::ErrorBody;
pub use extensible::Extensible;
pub use mirror_action::MirrorAction;
pub use mirror_state::MirrorState;
pub use resource::{List, ListMetadata, Relationship, ResourceMetadata};
