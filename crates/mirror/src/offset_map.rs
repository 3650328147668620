//! The source-to-destination offset map of one mirrored partition.
//!
//! A mirror writes every kept source record to the destination in order, so the map is a list
//! of runs: `len` consecutive source offsets from `source` landed at `len` consecutive destination
//! offsets from `destination`. Dropped source records (transaction markers, aborted data,
//! compaction gaps) leave holes between runs. The map is **aligned** while every run maps an
//! offset to itself, and **translated** as soon as one does not.
//!
//! Translating a source offset answers the consumer-offset question "where does a consumer that
//! would read source offset `o` next resume on the destination": the destination offset of the
//! first mirrored record at or after `o`.

use serde::{Deserialize, Serialize};

/// One run of consecutive offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// First source offset of the run.
    pub source: i64,
    /// Destination offset of that record.
    pub destination: i64,
    /// Number of records.
    pub len: i64,
}

/// Whether destination offsets equal source offsets: the API's word (`ALIGNED`, `TRANSLATED`).
pub use clusterlink_rest_v3::mirrors::OffsetMode;

/// `#[serde(with = "…::stored_offset_mode")]` for an offset mode kept in the state topic: written
/// as the engine always wrote it (`Aligned`), read in that form or the API's.
pub mod stored_offset_mode {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::OffsetMode;

    fn stored_name(mode: OffsetMode) -> &'static str {
        match mode {
            OffsetMode::Aligned => "Aligned",
            _ => "Translated",
        }
    }

    /// Writes the stored form.
    pub fn serialize<S: Serializer>(mode: &OffsetMode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(stored_name(*mode))
    }

    /// Reads the stored form or the API's.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetMode, D::Error> {
        let s = String::deserialize(d)?;
        OffsetMode::parse(&s)
            .or_else(|| {
                OffsetMode::ALL
                    .iter()
                    .copied()
                    .find(|m| stored_name(*m) == s)
            })
            .ok_or_else(|| D::Error::custom(format!("unknown offset mode '{s}'")))
    }
}

/// The offset map of one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetMap {
    runs: Vec<Run>,
}

impl OffsetMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The runs, in order.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// Records that source offsets `source..source+len` were written at `destination..`.
    /// Runs must come in increasing order on both sides; a run that continues the last one on
    /// both sides is merged into it.
    pub fn record(&mut self, source: i64, destination: i64, len: i64) {
        if len <= 0 {
            return;
        }
        if let Some(last) = self.runs.last_mut() {
            debug_assert!(
                source >= last.source + last.len && destination >= last.destination + last.len
            );
            if last.source + last.len == source && last.destination + last.len == destination {
                last.len += len;
                return;
            }
        }
        self.runs.push(Run {
            source,
            destination,
            len,
        });
    }

    /// Records a batch whose records had the given source offsets and were written
    /// consecutively from `destination` (a renumbered batch may have had gaps).
    pub fn record_offsets(&mut self, source_offsets: &[i64], destination: i64) {
        let mut i = 0;
        while i < source_offsets.len() {
            let mut j = i + 1;
            while j < source_offsets.len() && source_offsets[j] == source_offsets[j - 1] + 1 {
                j += 1;
            }
            self.record(source_offsets[i], destination + i as i64, (j - i) as i64);
            i = j;
        }
    }

    /// Aligned while every run maps offsets to themselves (an empty map is aligned).
    pub fn mode(&self) -> OffsetMode {
        if self.runs.iter().all(|r| r.source == r.destination) {
            OffsetMode::Aligned
        } else {
            OffsetMode::Translated
        }
    }

    /// The destination offset a consumer at source offset `source` resumes at: the destination
    /// offset of the first mirrored record at or after it. `None` past the mirrored range.
    pub fn translate(&self, source: i64) -> Option<i64> {
        let idx = self.runs.partition_point(|r| r.source + r.len <= source);
        let run = self.runs.get(idx)?;
        Some(if source <= run.source {
            run.destination
        } else {
            run.destination + (source - run.source)
        })
    }

    /// Where a consumer positioned at source offset `source` (its committed offset: the next
    /// record to read) is positioned on the destination: [`OffsetMap::translate`], or the
    /// destination's end when `source` is exactly the end of what was mirrored. `None` for a
    /// position the mirror has not reached.
    pub fn position(&self, source: i64) -> Option<i64> {
        self.translate(source).or_else(|| match self.end() {
            Some((src_end, dst_end)) if source == src_end => Some(dst_end),
            _ => None,
        })
    }

    /// One past the last mirrored source offset, and one past the last destination offset.
    pub fn end(&self) -> Option<(i64, i64)> {
        self.runs
            .last()
            .map(|r| (r.source + r.len, r.destination + r.len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn consumer_positions_translate_up_to_the_mirrored_end() {
        let mut m = OffsetMap::new();
        m.record(10, 0, 5);
        assert_eq!(m.position(10), Some(0));
        assert_eq!(m.position(12), Some(2));
        assert_eq!(m.position(15), Some(5), "caught up: the destination's end");
        assert_eq!(m.position(16), None, "not mirrored yet");
        assert_eq!(m.position(3), Some(0), "before the range: its first record");
        assert_eq!(OffsetMap::new().position(0), None);
    }

    #[test]
    fn contiguous_writes_merge_and_stay_aligned() {
        let mut m = OffsetMap::new();
        m.record(0, 0, 10);
        m.record(10, 10, 5);
        assert_eq!(m.runs().len(), 1);
        assert_eq!(m.mode(), OffsetMode::Aligned);
        assert_eq!(m.translate(7), Some(7));
        assert_eq!(m.translate(15), None);
        assert_eq!(m.end(), Some((15, 15)));
    }

    #[test]
    fn a_dropped_marker_makes_it_translated() {
        let mut m = OffsetMap::new();
        m.record(0, 0, 3); // data 0..3, marker at 3 dropped
        m.record(4, 3, 2);
        assert_eq!(m.mode(), OffsetMode::Translated);
        assert_eq!(m.translate(2), Some(2));
        assert_eq!(
            m.translate(3),
            Some(3),
            "the marker's offset resumes at the next record"
        );
        assert_eq!(m.translate(4), Some(3));
        assert_eq!(m.translate(5), Some(4));
    }

    #[test]
    fn gapped_batch_offsets_become_runs() {
        let mut m = OffsetMap::new();
        m.record_offsets(&[100, 101, 105, 106, 107, 110], 0);
        assert_eq!(
            m.runs(),
            &[
                Run {
                    source: 100,
                    destination: 0,
                    len: 2
                },
                Run {
                    source: 105,
                    destination: 2,
                    len: 3
                },
                Run {
                    source: 110,
                    destination: 5,
                    len: 1
                },
            ]
        );
        assert_eq!(m.translate(103), Some(2));
        assert_eq!(
            m.translate(0),
            Some(0),
            "before the mirrored range: its first record"
        );
    }

    proptest! {
        /// Every mirrored source offset translates to the destination offset it was written at,
        /// and the map is aligned exactly when nothing was dropped from offset 0.
        #[test]
        fn translation_is_exact(keep in proptest::collection::vec(any::<bool>(), 1..200)) {
            let mut m = OffsetMap::new();
            let mut written = Vec::new();
            let mut dest = 0;
            for (src, k) in keep.iter().enumerate() {
                if *k {
                    m.record(src as i64, dest, 1);
                    written.push((src as i64, dest));
                    dest += 1;
                }
            }
            for (src, d) in &written {
                prop_assert_eq!(m.translate(*src), Some(*d));
            }
            let aligned = keep.iter().take_while(|k| **k).count() == keep.iter().filter(|k| **k).count();
            prop_assert_eq!(m.mode() == OffsetMode::Aligned, aligned);
            let json = serde_json::to_string(&m).unwrap();
            prop_assert_eq!(serde_json::from_str::<OffsetMap>(&json).unwrap(), m);
        }
    }
}
