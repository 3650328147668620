//! Transactions on the read side: which fetched batches a read_committed consumer would see.
//! Pure bookkeeping over batches already read; nothing here touches the network.

use std::collections::{HashSet, VecDeque};

use super::batch::RawBatch;
use super::record::{ControlType, Record};

/// An aborted transaction as a Fetch response lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    /// The producer whose transaction was aborted.
    pub producer_id: i64,
    /// Offset of the transaction's first record.
    pub first_offset: i64,
}

/// Keeps only committed data, in source order, the way a read_committed consumer sees it.
///
/// Two sources of truth are combined. A fetch response's aborted-transaction list marks a
/// producer's batches as aborted from the listed offset on: those are dropped at once. But not
/// every broker sends that list (librdkafka's mock cluster never does), so a transactional batch
/// that is not known to be aborted is *held* until its producer's marker (a control batch)
/// arrives: COMMIT releases it, ABORT drops it. Batches behind a held one wait too, so output
/// order is always source order. Control batches themselves are never output.
#[derive(Debug, Default)]
pub struct TxnResolver {
    /// Aborted transactions not yet reached, sorted by first offset.
    pending_aborts: Vec<AbortedTxn>,
    /// Producers whose current transaction is known (from the list) to be aborted.
    aborting: HashSet<i64>,
    /// Batches in source order from the first unresolved one on.
    held: VecDeque<(RawBatch, Fate)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Keep,
    Unresolved(i64),
}

/// What the resolver decided about the batches pushed so far.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Committed batches, in source order, ready to write.
    pub ready: Vec<RawBatch>,
    /// Batches dropped: control markers and aborted data.
    pub dropped: u64,
}

impl TxnResolver {
    /// A resolver with nothing held.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a fetch response's aborted-transaction list.
    pub fn add_aborted(&mut self, aborted: &[AbortedTxn]) {
        for a in aborted {
            if !self.pending_aborts.contains(a) {
                self.pending_aborts.push(*a);
            }
        }
        self.pending_aborts.sort_by_key(|a| a.first_offset);
    }

    /// Offset of the first held batch: where a restart must resume to lose nothing.
    pub fn first_held_offset(&self) -> Option<i64> {
        self.held.front().map(|(b, _)| b.header().base_offset)
    }

    /// Number of held batches.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Feeds the next batch (in offset order); returns what became ready.
    pub fn push(&mut self, batch: RawBatch, out: &mut Resolved) {
        let h = batch.header();
        while let Some(first) = self.pending_aborts.first() {
            if first.first_offset > h.last_offset() {
                break;
            }
            self.aborting.insert(first.producer_id);
            self.pending_aborts.remove(0);
        }
        if h.is_control() {
            let pid = h.producer_id;
            let commit = batch
                .records()
                .ok()
                .and_then(|r| r.first().and_then(Record::control_type))
                == Some(ControlType::Commit);
            // The list may have said "aborted" already; the marker is final either way.
            let commit = commit && !self.aborting.remove(&pid);
            self.aborting.remove(&pid);
            out.dropped += 1;
            let before = self.held.len();
            self.held
                .retain(|(_, fate)| commit || *fate != Fate::Unresolved(pid));
            out.dropped += (before - self.held.len()) as u64;
            for (_, fate) in self.held.iter_mut() {
                if *fate == Fate::Unresolved(pid) {
                    *fate = Fate::Keep;
                }
            }
            self.release(out);
            return;
        }
        if h.is_transactional() && self.aborting.contains(&h.producer_id) {
            out.dropped += 1;
            return;
        }
        let fate = if h.is_transactional() {
            Fate::Unresolved(h.producer_id)
        } else {
            Fate::Keep
        };
        self.held.push_back((batch, fate));
        self.release(out);
    }

    fn release(&mut self, out: &mut Resolved) {
        while let Some((_, Fate::Keep)) = self.held.front() {
            if let Some((b, _)) = self.held.pop_front() {
                out.ready.push(b);
            }
        }
    }
}
