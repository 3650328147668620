//! Record batches (message format v2) as bytes: the unit the mirror moves.
//!
//! Mirroring keeps a batch's bytes wherever it can, because decompressing and recompressing is
//! what makes a consume → produce pipeline slow. So this module works on raw batches first:
//! headers are read without touching the (possibly compressed) records, a fetched buffer is split
//! into whole batches, and the producer fields a destination needs are rewritten in place with a
//! new CRC-32C. Only batches that must change (offset gaps, which a broker refuses on produce) are
//! decoded and re-encoded, with their codec kept.
//!
//! Records are decoded by our own code rather than `kafka_protocol::records`, because that one
//! folds duplicate header keys into a map, and Kafka allows them. Compression goes through
//! `kafka_protocol::compression`; decompression reads the codec crates directly, so that it stops
//! at a cap (see `codec`).
//!
//! The files follow the bytes, bottom up:
//! - `codec`: compression codecs (decompression capped), varints and nullable bytes, and
//!   [`RecordError`];
//! - `header`: the v2 batch header's layout and attribute bits, read without the records;
//! - `record`: one record decoded (and encoded), control markers;
//! - `batch`: whole raw batches: split, check, rewrite for a producer, decode, encode;
//! - `txn`: read_committed filtering of fetched batches.

mod batch;
mod codec;
mod header;
mod record;
mod txn;

pub use batch::{encode_batch, split_batches, BatchSpec, RawBatch};
pub use codec::{Compression, RecordError, MAX_DECOMPRESSED_BATCH_BYTES};
pub use header::{BatchHeader, BATCH_HEADER_LEN};
pub use record::{ControlType, Header, Record};
pub use txn::{AbortedTxn, Resolved, TxnResolver};

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;
