//! The lag of mirrors that do not fetch: a PAUSED mirror, or every mirror of a paused link.
//!
//! The fetch loop learns a partition's high watermark from its Fetch answers, so without this
//! a paused mirror would go on reporting the lag it had when it stopped fetching, zero most
//! of the time, while its source grows: a silently wrong figure on the status, the REST API,
//! the metrics and the lag alerts. Every [`REFRESH`] the source's ends (ListOffsets latest,
//! read committed) of those partitions are read instead, and the lag counts from when it was
//! first seen: its age in seconds is short of the truth by at most one refresh.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clusterlink_kafka::client::OffsetSpec;
use clusterlink_kafka::Isolation;
use clusterlink_rest_v3::MirrorState;
use tracing::debug;

use super::link::Link;
use super::mirror::now_ms;
use super::state::EngineState;

/// How often the source's ends are read for mirrors that do not fetch.
pub(crate) const REFRESH: Duration = Duration::from_secs(5);

/// Whether a mirror in `state` keeps its position without fetching, when the link is
/// `link_paused` or not.
fn waits_without_fetching(state: MirrorState, link_paused: bool) -> bool {
    state == MirrorState::Paused || (link_paused && state.moves_data())
}

/// Reads the source's ends for the partitions of mirrors that do not fetch, when the last
/// refresh is older than [`REFRESH`]; `last` is when it last ran.
pub(crate) async fn refresh_if_due(link: &Link, last: &mut Option<Instant>) {
    if last.is_some_and(|at| at.elapsed() < REFRESH) {
        return;
    }
    *last = Some(Instant::now());
    let link_paused = link.is_paused();
    // Source topic → (mirror topic, partitions), read under the lock and asked without it.
    let waiting: BTreeMap<String, (String, Vec<i32>)> = {
        let st = link.lock();
        st.mirrors
            .iter()
            .filter(|(_, m)| waits_without_fetching(m.record.state, link_paused))
            .map(|(name, m)| {
                let parts = m.parts.keys().copied().collect();
                (m.record.spec.source_topic.clone(), (name.clone(), parts))
            })
            .collect()
    };
    for (source_topic, (mirror, partitions)) in waiting {
        let ends = match link
            .source
            .list_offsets(
                &source_topic,
                &partitions,
                OffsetSpec::Latest,
                Isolation::ReadCommitted,
            )
            .await
        {
            Ok(ends) => ends,
            Err(e) => {
                // The lag stays as last known; the next refresh tries again.
                debug!(topic = %source_topic, error = %e, "cannot read the source's ends");
                continue;
            }
        };
        let now = now_ms();
        let mut st = link.lock();
        let Some(m) = st.mirrors.get_mut(&mirror) else {
            continue;
        };
        for (partition, end) in ends {
            if let Some(part) = m.parts.get_mut(&partition).filter(|_| end.offset >= 0) {
                part.high_watermark = part.high_watermark.max(end.offset);
                part.note_lag(now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paused_mirrors_and_the_mirrors_of_a_paused_link_wait_without_fetching() {
        assert!(waits_without_fetching(MirrorState::Paused, false));
        assert!(waits_without_fetching(MirrorState::Paused, true));
        assert!(!waits_without_fetching(MirrorState::Active, false));
        assert!(waits_without_fetching(MirrorState::Active, true));
        assert!(waits_without_fetching(MirrorState::PendingStopped, true));
        // Topics that are no longer mirrors have no lag to keep.
        assert!(!waits_without_fetching(MirrorState::Stopped, true));
        assert!(!waits_without_fetching(MirrorState::Failed, true));
    }
}
