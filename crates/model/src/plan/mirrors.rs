//! The mirror topic actions of one half of the link: declared mirrors that do not exist are
//! created, existing ones moved to their declared state, undeclared ones deleted (when the
//! resource says so); all deletes first, then creates, then state changes grouped per action
//! and side, so that one REST call changes the state of many mirrors.

use std::collections::{BTreeMap, BTreeSet};

use clusterlink_rest_v3::{MirrorAction, MirrorState};

use crate::cluster_link::MirrorTopicState;
use crate::validated::DesiredMirror;

use super::actions::{Action, Plan, Problem, Side};
use super::observed::ObservedMirror;

/// The mirror actions found so far, to be put in execution order.
#[derive(Default)]
pub(super) struct Steps {
    deletes: Vec<Action>,
    creates: Vec<Action>,
    state: BTreeMap<(usize, Side), BTreeSet<String>>,
}

impl Steps {
    fn state(&mut self, action: MirrorAction, side: Side, name: &str) {
        let rank = MirrorAction::ALL
            .iter()
            .position(|a| *a == action)
            .unwrap_or(usize::MAX);
        self.state
            .entry((rank, side))
            .or_default()
            .insert(name.to_string());
    }

    /// The actions in execution order: deletes, creates, then state changes (pause, resume,
    /// promote, failover, truncate-and-restore, the reverses; local before remote).
    pub(super) fn into_actions(self, out: &mut Vec<Action>) {
        out.extend(self.deletes);
        out.extend(self.creates);
        for ((rank, side), names) in self.state {
            let names: Vec<String> = names.into_iter().collect();
            out.push(match MirrorAction::ALL.get(rank) {
                Some(MirrorAction::Pause) => Action::Pause { side, names },
                Some(MirrorAction::Resume) => Action::Resume { side, names },
                Some(MirrorAction::Promote) => Action::Promote { side, names },
                Some(MirrorAction::Failover) => Action::Failover { side, names },
                Some(action) => Action::Failback {
                    action: *action,
                    side,
                    names,
                },
                None => continue,
            });
        }
    }
}

/// Plans the mirrors `declared` on `side` against those `observed` there.
pub(super) fn mirrors<'a>(
    p: &mut Plan,
    steps: &mut Steps,
    side: Side,
    declared: impl IntoIterator<Item = &'a DesiredMirror>,
    observed: &BTreeMap<String, ObservedMirror>,
    delete_undeclared: bool,
) {
    use MirrorState as S;
    use MirrorTopicState as D;
    let mut names = BTreeSet::new();
    for t in declared {
        names.insert(t.name.as_str());
        let observed_here = observed.get(&t.name);
        // A topic restored from the remote is not created as a mirror: it exists already (or
        // is a mirror stopped by an earlier failover) until truncate-and-restore made it one.
        if t.state == D::TruncateAndRestore && observed_here.is_none_or(|o| o.status.is(S::Stopped))
        {
            steps.state(MirrorAction::TruncateAndRestore, side, &t.name);
            continue;
        }
        let Some(o) = observed_here else {
            steps.creates.push(Action::CreateMirror {
                side,
                name: t.name.clone(),
                source_topic_name: t.source_topic.clone(),
                configs: t.configs.clone(),
                replication_factor: t.replication_factor,
            });
            match t.state {
                D::Pause => steps.state(MirrorAction::Pause, side, &t.name),
                D::Promote => steps.state(MirrorAction::Promote, side, &t.name),
                D::Failover => steps.state(MirrorAction::Failover, side, &t.name),
                D::ReverseAndStart => {
                    steps.state(MirrorAction::ReverseAndStartMirror, side, &t.name)
                }
                D::ReverseAndPause => {
                    steps.state(MirrorAction::ReverseAndPauseMirror, side, &t.name)
                }
                _ => {}
            }
            continue;
        };
        if o.source_topic_name != t.source_topic {
            p.problems.push(Problem::SourceTopicMismatch {
                name: t.name.clone(),
                observed: o.source_topic_name.clone(),
                desired: t.source_topic.clone(),
            });
            continue;
        }
        let change = match (t.state, o.status.known()) {
            (D::Active | D::Pause, Some(S::Stopped)) => {
                p.problems.push(Problem::AlreadyStopped {
                    name: t.name.clone(),
                });
                None
            }
            (D::Active, Some(S::Paused)) => Some(MirrorAction::Resume),
            (D::Pause, Some(S::Active | S::PendingRestore | S::SourceUnavailable)) => {
                Some(MirrorAction::Pause)
            }
            // A promotion of a mirror whose source is unreachable completes once it is back.
            (
                D::Promote,
                Some(S::Active | S::PendingRestore | S::Paused | S::SourceUnavailable),
            ) => Some(MirrorAction::Promote),
            (
                D::ReverseAndStart,
                Some(S::Active | S::PendingRestore | S::Paused | S::SourceUnavailable),
            ) => Some(MirrorAction::ReverseAndStartMirror),
            (
                D::ReverseAndPause,
                Some(S::Active | S::PendingRestore | S::Paused | S::SourceUnavailable),
            ) => Some(MirrorAction::ReverseAndPauseMirror),
            // Failover is what a lost source calls for: it never waits for the source.
            (
                D::Failover,
                Some(
                    S::Active
                    | S::PendingRestore
                    | S::Paused
                    | S::Failed
                    | S::PendingStopped
                    | S::SourceUnavailable,
                ),
            ) => Some(MirrorAction::Failover),
            _ => None,
        };
        if let Some(action) = change {
            steps.state(action, side, &t.name);
        }
    }
    if delete_undeclared {
        for (name, o) in observed {
            if !names.contains(name.as_str()) && !o.status.is(S::Stopped) {
                steps.deletes.push(Action::DeleteMirror {
                    side,
                    name: name.clone(),
                });
            }
        }
    }
}
