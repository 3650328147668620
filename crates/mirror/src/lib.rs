//! The mirroring engine: keeps destination mirror topics exact copies of source topics.
//!
//! The modules, in the order the data goes through them:
//!
//! - [`reader`]: fetched source bytes → batches ready for the destination (transactions
//!   resolved, gaps closed); deterministic, which crash recovery relies on;
//! - [`producer`]: the destination producer that stamps each batch with its id, epoch and
//!   sequence, so that a retried write is deduplicated by the broker;
//! - [`engine`]: the long-running engine of one link, whose modules are the steps of the data
//!   path (fetch → accept → produce → checkpoint → recovery) and around it mirror topics,
//!   their states (pause, promote, failover), topic sync and status;
//! - [`offset_map`]: the exact source-to-destination offset map, aligned or translated, that
//!   every written batch extends;
//! - [`store`]: durable state in a compacted topic of the destination cluster, where
//!   checkpoints and offset-map runs go;
//! - [`state_keys`]: the key schema of that topic, for every record clusterlink keeps there;
//! - [`copy`]: the one-shot copy of one partition (the CLI's `copy`), the same path without
//!   queues or state: reader, producer, produce;
//! - [`offset_sync`]: consumer offsets translated through the offset maps
//!   (`consumer.offset.sync.*`), with [`filters`] for its group filters;
//! - [`acl_sync`]: the source's ACLs selected by `acl.filters` created on the destination
//!   (`acl.sync.*`), and removed again when the source removes them.

pub mod acl_sync;
pub mod copy;
pub mod engine;
pub mod filters;
pub mod offset_map;
pub mod offset_sync;
pub mod producer;
pub mod reader;
pub mod state_keys;
pub mod store;

pub use copy::{copy_partition, CopyError, CopyOptions, CopyStats, PartitionRoute};
pub use engine::{
    fail_over_offline, log_ranges, offline_mirrors, record_at, same_record, stored_aligned,
    stored_mirrors, stored_positions, Desired, Engine, LinkSettings, LogRange, LogStartPolicy,
    MirrorError, MirrorSpec, MirrorState, MirrorStatus, PartitionStatus, Reversal, StartSpec,
    StoredMirror,
};
pub use producer::DestinationProducer;
