//! The mirroring engine: keeps destination mirror topics exact copies of source topics.
//!
//! Today it holds the building block every mirror is made of: [`copy`], which moves one
//! partition's committed records from a source cluster to a destination cluster as raw batches
//! (no decompression unless a batch must change). The long-running engine (mirror topics,
//! states, offset alignment, checkpoints in Kafka) is the mirroring-engine work (issue 3) and
//! builds on it.

pub mod copy;
pub mod offset_map;
pub mod reader;
pub mod store;

pub use copy::{
    copy_partition, CopyError, CopyOptions, CopyStats, DestinationProducer, PartitionRoute,
};
