//! The mirroring engine: keeps destination mirror topics exact copies of source topics.
//!
//! - [`reader`]: the deterministic step from fetched bytes to batches ready for the destination
//!   (transactions resolved, gaps closed), shared by everything below;
//! - [`copy`]: a one-shot, catch-up copy of one partition (the CLI's `copy`);
//! - [`engine`]: the long-running engine of one link: mirror topics, states (pause, promote,
//!   failover), multiplexed fetch and produce, lag, and crash recovery;
//! - [`offset_map`]: the exact source-to-destination offset map, aligned or translated;
//! - [`store`]: durable state in a compacted topic of the destination cluster;
//! - [`state_keys`]: the key schema of that topic, for every record clusterlink keeps there.

pub mod copy;
pub mod engine;
pub mod filters;
pub mod offset_map;
pub mod offset_sync;
pub mod reader;
pub mod state_keys;
pub mod store;

pub use copy::{
    copy_partition, CopyError, CopyOptions, CopyStats, DestinationProducer, PartitionRoute,
};
pub use engine::{
    stored_mirrors, Desired, Engine, LinkSettings, MirrorError, MirrorSpec, MirrorState,
    MirrorStatus, StartSpec, StoredMirror,
};
