//! Execute: the plan's actions through the REST API of the cluster each applies to, in order,
//! each noted (an Event, a line of `clusterlink apply`). A refusal that concerns one mirror
//! topic is noted and the pass goes on; only an error that stops the rest of the plan (the link
//! server unreachable, the link itself refused) ends it.

use std::collections::BTreeMap;

use clusterlink_model::plan::{Action, LinkIds, Plan, Side};

use crate::deref::{ClusterIds, Dereferenced};
use crate::outcome::{Note, PENDING};
use crate::rest_client::{CreateLinkIds, MirrorAction, RestClient, RestError};

use super::credentials::{Digest, SentCredentials};
use super::observe::Observation;

/// One cluster's REST API, and how messages name where an action happened.
#[derive(Clone, Debug)]
struct Target {
    client: RestClient,
    cluster: String,
    suffix: &'static str,
}

/// Executes a plan and keeps what happened.
#[derive(Debug)]
pub struct Executor<'a> {
    link: &'a str,
    local: Target,
    /// The remote half, when its link exists.
    remote: Option<Target>,
    ids: CreateLinkIds,
    /// What happened.
    pub notes: Vec<Note>,
    /// How many write calls were made.
    pub writes: usize,
    /// Declared mirrors the link server refused to create, with its reason.
    pub create_errors: BTreeMap<String, String>,
}

fn create_link_ids(ids: &LinkIds) -> CreateLinkIds {
    CreateLinkIds {
        source_cluster_id: ids.source_cluster_id.clone(),
        remote_cluster_id: ids.remote_cluster_id.clone(),
        destination_cluster_id: ids.destination_cluster_id.clone(),
        cluster_link_id: ids.cluster_link_id.clone(),
    }
}

/// Whether an action sends the link its configs (credentials included).
fn sends_configs(action: &Action) -> bool {
    matches!(
        action,
        Action::CreateLink { .. } | Action::AlterConfigs { .. }
    )
}

impl<'a> Executor<'a> {
    /// An executor for the link `link` on the clusters `d` and `ids` name, as `seen` found them.
    pub fn new(
        link: &'a str,
        d: &Dereferenced,
        ids: &ClusterIds,
        seen: &Observation,
        plan: &Plan,
    ) -> Self {
        Executor {
            link,
            local: Target {
                client: d.local.client.clone(),
                cluster: ids.local.clone(),
                suffix: "",
            },
            remote: seen
                .remote
                .as_ref()
                .filter(|r| r.read.info.is_some())
                .map(|r| Target {
                    client: r.client.clone(),
                    cluster: r.cluster.clone(),
                    suffix: " on the remote cluster",
                }),
            ids: create_link_ids(&plan.link_ids),
            notes: Vec::new(),
            writes: 0,
            create_errors: BTreeMap::new(),
        }
    }

    /// Executes the plan's actions in order. Credentials sent to the link (`digest`) are
    /// remembered under `key` as soon as a config action went through — or at once, when the
    /// plan needs none (the link holds them).
    pub async fn run(
        &mut self,
        plan: &Plan,
        credentials: &SentCredentials,
        key: &str,
        digest: &Digest,
    ) -> Result<(), RestError> {
        for action in &plan.actions {
            self.execute(action).await?;
            if sends_configs(action) {
                credentials.sent(key, digest);
            }
        }
        if !plan.actions.iter().any(sends_configs) {
            credentials.held(key, digest);
        }
        Ok(())
    }

    /// Lists the plan's actions as pending instead of executing them.
    pub fn list_pending(&mut self, plan: &Plan) {
        for action in &plan.actions {
            self.notes.push(Note {
                warning: false,
                reason: PENDING.into(),
                message: describe(action),
            });
        }
    }

    fn note(&mut self, warning: bool, reason: &str, message: String) {
        self.notes
            .push(Note::logged(self.link, warning, reason, message));
    }

    /// The REST API of one side of the link, if it can be written to.
    fn target(&self, side: Side) -> Option<Target> {
        match side {
            Side::Local => Some(self.local.clone()),
            _ => self.remote.clone(),
        }
    }

    /// Executes one action. Per-topic refusals are noted and do not stop the pass; an error is
    /// returned only when the rest of the plan cannot go on (the link server is unreachable, or
    /// the link itself was refused).
    async fn execute(&mut self, action: &Action) -> Result<(), RestError> {
        let name = self.link.to_string();
        let side = action.side();
        let Some(Target {
            client: rest,
            cluster: cid,
            suffix: where_,
        }) = self.target(side)
        else {
            self.note(
                true,
                "RemoteLinkMissing",
                format!(
                    "not executed, the remote half of link {name} does not exist yet: {}",
                    describe(action)
                ),
            );
            return Ok(());
        };
        match action {
            Action::CreateLink { configs } => {
                self.writes += 1;
                rest.create_link(&cid, &name, &self.ids, configs).await?;
                let paired = self
                    .ids
                    .cluster_link_id
                    .as_deref()
                    .map(|id| format!(", paired with the remote half (link id {id})"))
                    .unwrap_or_default();
                self.note(
                    false,
                    "LinkCreated",
                    format!("created link {name} on cluster {cid}{paired}"),
                );
            }
            Action::AlterConfigs { set, delete } => {
                self.writes += 1;
                rest.alter_link_configs(&cid, &name, set, delete).await?;
                let mut changed: Vec<&str> = set.keys().map(String::as_str).collect();
                changed.extend(delete.iter().map(String::as_str));
                self.note(
                    false,
                    "LinkConfigsAltered",
                    format!("link {name}: configs {} changed", changed.join(", ")),
                );
            }
            Action::CreateMirror {
                name: topic,
                source_topic_name,
                configs,
                replication_factor,
                ..
            } => {
                self.writes += 1;
                match rest
                    .create_mirror(
                        &cid,
                        &name,
                        topic,
                        source_topic_name,
                        configs,
                        *replication_factor,
                    )
                    .await
                {
                    Ok(()) => self.note(
                        false,
                        "MirrorTopicCreated",
                        format!("mirror topic {topic} created from {source_topic_name}{where_}"),
                    ),
                    Err(e) if !e.is_retriable() => {
                        let msg = api_message(&e);
                        self.note(
                            true,
                            "MirrorTopicCreationFailed",
                            format!("mirror topic {topic}{where_}: {msg}"),
                        );
                        self.create_errors.insert(topic.clone(), msg);
                    }
                    Err(e) => return Err(e),
                }
            }
            Action::DeleteMirror { name: topic, .. } => {
                self.writes += 1;
                match rest.delete_topic(&cid, topic).await {
                    Ok(()) => self.note(
                        false,
                        "MirrorTopicDeleted",
                        format!(
                            "mirror topic {topic}{where_} deleted: not declared in the resource"
                        ),
                    ),
                    Err(e) if e.is_not_found() => {}
                    Err(e) if !e.is_retriable() => self.note(
                        true,
                        "MirrorTopicDeletionFailed",
                        format!("mirror topic {topic}{where_}: {}", api_message(&e)),
                    ),
                    Err(e) => return Err(e),
                }
            }
            Action::Pause { names, .. } => {
                let change = (MirrorAction::Pause, "MirrorTopicPaused");
                self.alter(&rest, &cid, change, names).await?
            }
            Action::Resume { names, .. } => {
                let change = (MirrorAction::Resume, "MirrorTopicResumed");
                self.alter(&rest, &cid, change, names).await?
            }
            Action::Promote { names, .. } => {
                let change = (MirrorAction::Promote, "MirrorTopicPromoting");
                self.alter(&rest, &cid, change, names).await?
            }
            Action::Failover { names, .. } => {
                let change = (MirrorAction::Failover, "MirrorTopicFailingOver");
                self.alter(&rest, &cid, change, names).await?
            }
            Action::Failback { action, names, .. } => {
                let reason = if *action == MirrorAction::TruncateAndRestore {
                    "MirrorTopicRestored"
                } else {
                    "MirrorTopicReversing"
                };
                self.alter(&rest, &cid, (*action, reason), names).await?
            }
            other => self.note(
                true,
                "Unsupported",
                format!("not executed: {}", describe(other)),
            ),
        }
        Ok(())
    }

    /// Changes the state of mirrors `names`: `change` is the action and the reason of the note
    /// that says it was requested.
    async fn alter(
        &mut self,
        rest: &RestClient,
        cluster: &str,
        (action, reason): (MirrorAction, &str),
        names: &[String],
    ) -> Result<(), RestError> {
        self.writes += 1;
        let results = rest
            .alter_mirrors(cluster, self.link, action, names)
            .await?;
        for name in names {
            let result = results.iter().find(|r| &r.name == name);
            match result.and_then(|r| r.error.clone()) {
                None => self.note(
                    false,
                    reason,
                    format!(
                        "mirror topic {name}: {} requested{}",
                        action.as_str(),
                        result.map(|r| r.truncation()).unwrap_or_default()
                    ),
                ),
                Some(e) => self.note(
                    true,
                    "MirrorTopicStateChangeFailed",
                    format!("mirror topic {name}: {} refused: {e}", action.as_str()),
                ),
            }
        }
        Ok(())
    }
}

/// The server's own message of a refusal (the whole error otherwise).
pub(super) fn api_message(e: &RestError) -> String {
    match e {
        RestError::Api { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// An action in words (never with config values: they may be credentials).
fn describe(action: &Action) -> String {
    match action {
        Action::CreateLink { configs } => format!(
            "create the link with configs {}",
            configs.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        Action::AlterConfigs { set, delete } => format!(
            "set link configs [{}], reset [{}]",
            set.keys().cloned().collect::<Vec<_>>().join(", "),
            delete.join(", ")
        ),
        Action::CreateMirror {
            name,
            source_topic_name,
            ..
        } => {
            format!("create mirror topic {name} from {source_topic_name}")
        }
        Action::DeleteMirror { name, .. } => format!("delete mirror topic {name}"),
        Action::Pause { names, .. } => format!("pause {}", names.join(", ")),
        Action::Resume { names, .. } => format!("resume {}", names.join(", ")),
        Action::Promote { names, .. } => format!("promote {}", names.join(", ")),
        Action::Failover { names, .. } => format!("fail over {}", names.join(", ")),
        Action::Failback { action, names, .. } => format!("{action} {}", names.join(", ")),
        other => format!("{other:?}"),
    }
}
