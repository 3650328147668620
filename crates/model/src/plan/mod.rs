//! The link and mirror actions that bring a cluster link to what its ClusterLink declares: a
//! pure function from desired (the validated model) and observed state, so the reconciler only
//! executes and the decisions are unit-tested here.
//!
//! Observed state is what the REST API reports (the link's explicitly set configs, the mirror
//! topics and their `mirror_status`), plus the remote half and the pair's other resource.
//! Rules (cfk-reference.md §3.1, §3.5, §7; R5, R7–R11):
//! - a missing link is created with the derived configs; an existing one gets the configs that
//!   differ set and the ones we no longer declare deleted. Values the REST API hides
//!   (credentials) are assumed unchanged unless the caller says otherwise;
//! - `link.mode`, `connection.mode` and `cluster.link.prefix` cannot be altered: a difference is
//!   a [`Problem`], not an action;
//! - declared mirrors that do not exist are created, then moved to their declared state;
//! - state changes: PAUSE pauses an active mirror, ACTIVE resumes a paused one, PROMOTE promotes,
//!   FAILOVER fails over (also one stuck in PENDING_STOPPED). A STOPPED mirror cannot mirror again;
//! - mirrors on the link that are not declared are deleted when `deleteRemovedMirrorTopics`
//!   (default true), except STOPPED ones (now ordinary topics owned by a KafkaTopic) and except
//!   when auto-create is on (the link itself creates undeclared mirrors then);
//! - `direction: toSource` mirrors live on the remote cluster's half of a bidirectional link;
//!   the mirrors the pair's other resource pushes onto this half are its own, never touched;
//! - the OUTBOUND side of a source-initiated link waits for its INBOUND side (R5) and is created
//!   with the ids that pair the halves.
//!
//! - [`actions`]: what a plan is made of (actions, problems);
//! - [`observed`]: what the plan compares with;
//! - `config_diff`: link configs to set and reset;
//! - `mirrors`: mirror topics to create, delete and move;
//! - [`pairing`]: which half goes first, and the ids that pair them.

pub mod actions;
mod config_diff;
mod mirrors;
pub mod observed;
pub mod pairing;

use std::collections::BTreeMap;

use crate::configs::LinkConfigs;
use crate::validated::ValidatedClusterLink;

pub use actions::{Action, Plan, Problem, Side};
pub use config_diff::IMMUTABLE_CONFIGS;
pub use observed::{
    Observed, ObservedLink, ObservedMirror, ObservedPeer, RemoteLink, ReportedState,
};
pub use pairing::{LinkIds, WaitingForInbound};

/// Plans the actions for `link` (whose derived configs are `desired_configs`, from
/// [`ValidatedClusterLink::link_configs`]) against `observed`.
pub fn plan(
    link: &ValidatedClusterLink,
    desired_configs: &LinkConfigs,
    observed: &Observed,
) -> Plan {
    let mut p = Plan::default();
    let empty = ObservedLink::default();
    let local = match &observed.link {
        None => {
            p.actions.push(Action::CreateLink {
                configs: desired_configs.clone(),
            });
            &empty
        }
        Some(link) => {
            config_diff::alter_configs(&mut p, desired_configs, link, observed.reapply_sensitive);
            link
        }
    };
    let delete_undeclared = link.options.deletes_undeclared();
    let mut steps = mirrors::Steps::default();
    // Mirrors the other resource of the pair pushes here (its `toSource` ones) are its own:
    // this resource neither deletes nor counts them as undeclared.
    let local_mirrors: BTreeMap<String, ObservedMirror> = local
        .mirrors
        .iter()
        .filter(|(name, _)| {
            observed
                .peer
                .as_ref()
                .is_none_or(|peer| !peer.to_source_mirrors.contains(*name))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    mirrors::mirrors(
        &mut p,
        &mut steps,
        Side::Local,
        link.forward_mirrors(),
        &local_mirrors,
        delete_undeclared,
    );
    match &observed.remote_mirrors {
        Some(remote) => {
            // Only the remote half's mirrors this resource declares or created are its own.
            let owned: BTreeMap<String, ObservedMirror> = remote
                .iter()
                .filter(|(name, _)| {
                    observed.remote_owned.contains(*name)
                        || link.reverse_mirrors().any(|t| &t.name == *name)
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            mirrors::mirrors(
                &mut p,
                &mut steps,
                Side::Remote,
                link.reverse_mirrors(),
                &owned,
                delete_undeclared,
            )
        }
        None if link.reverse_mirrors().next().is_some() => {
            p.problems.push(Problem::RemoteNotObserved)
        }
        None => {}
    }
    steps.into_actions(&mut p.actions);
    p.link_ids = pairing::link_ids(link, observed);
    p.waiting_for_inbound = pairing::waiting_for_inbound(link, observed);
    p
}

#[cfg(test)]
mod tests;
