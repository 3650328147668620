//! The link and mirror actions that bring a cluster link to what its ClusterLink declares: a
//! pure function from desired and observed state, so the reconciler only executes and the
//! decisions are unit-tested here.
//!
//! Observed state is what the REST API reports (the link's explicitly set configs, the mirror
//! topics and their `mirror_status`). Rules (cfk-reference.md §3.1, §3.5, §7; R7–R11):
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
//! - `direction: toSource` mirrors live on the remote cluster's half of a bidirectional link.

use std::collections::{BTreeMap, BTreeSet};

use crate::cluster_link::{ClusterLinkSpec, MirrorDirection, MirrorTopic, MirrorTopicState};
use crate::configs::{ConfigValue, LinkConfigs};

/// Status of a mirror topic as the REST API reports it (`mirror_status`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MirrorStatus {
    /// Mirroring.
    Active,
    /// Paused by the user.
    Paused,
    /// Promotion or failover in progress.
    PendingStopped,
    /// No longer a mirror: promoted or failed over.
    Stopped,
    /// Mirroring failed.
    Failed,
    /// The source cluster cannot be reached; mirroring resumes when it can. A disaster
    /// recovery fails such mirrors over.
    SourceUnavailable,
    /// Any other status (`LINK_FAILED`, `PENDING_MIRROR`, …), as reported.
    Other(String),
}

impl MirrorStatus {
    /// Parses a REST `mirror_status` (case-insensitive).
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "ACTIVE" => MirrorStatus::Active,
            "PAUSED" => MirrorStatus::Paused,
            "PENDING_STOPPED" => MirrorStatus::PendingStopped,
            "STOPPED" => MirrorStatus::Stopped,
            "FAILED" => MirrorStatus::Failed,
            "SOURCE_UNAVAILABLE" => MirrorStatus::SourceUnavailable,
            other => MirrorStatus::Other(other.to_string()),
        }
    }
}

/// One observed mirror topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedMirror {
    /// Its status.
    pub status: MirrorStatus,
    /// Its source topic.
    pub source_topic_name: String,
}

/// The observed link on one cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedLink {
    /// Configs set on the link (REST `source: DYNAMIC_CLUSTER_LINK_CONFIG`); `None` for a value
    /// the API hides (sensitive).
    pub configs: BTreeMap<String, Option<String>>,
    /// Mirror topics on the link, by name.
    pub mirrors: BTreeMap<String, ObservedMirror>,
}

/// What the caller observed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The link on the local cluster, if it exists.
    pub link: Option<ObservedLink>,
    /// Mirrors of the remote half of a bidirectional link, if read (needed for `toSource`).
    pub remote_mirrors: Option<BTreeMap<String, ObservedMirror>>,
    /// Mirrors of the remote half that this resource created (its `toSource` mirrors as its
    /// status last listed them). Only these are deleted when no longer declared: the remote
    /// half's other mirrors belong to the resource on the remote cluster.
    pub remote_owned: BTreeSet<String>,
    /// Re-set hidden (sensitive) configs even though their values cannot be compared, e.g.
    /// because the secrets they come from changed.
    pub reapply_sensitive: bool,
}

/// Which cluster's link an action applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Side {
    /// The local cluster (where this resource's link lives).
    Local,
    /// The remote half of a bidirectional link.
    Remote,
}

/// One step for the reconciler, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Create the link with these configs.
    CreateLink {
        /// All configs.
        configs: LinkConfigs,
    },
    /// Alter link configs.
    AlterConfigs {
        /// Configs to set.
        set: LinkConfigs,
        /// Configs to reset to their defaults.
        delete: Vec<String>,
    },
    /// Delete a mirror topic (the topic).
    DeleteMirror {
        /// Where.
        side: Side,
        /// The topic.
        name: String,
    },
    /// Create a mirror topic.
    CreateMirror {
        /// Where.
        side: Side,
        /// The mirror topic's name.
        name: String,
        /// The source topic's name.
        source_topic_name: String,
        /// Config overrides.
        configs: BTreeMap<String, String>,
        /// Replication factor, if declared.
        replication_factor: Option<i32>,
    },
    /// Pause mirrors.
    Pause {
        /// Where.
        side: Side,
        /// The topics.
        names: Vec<String>,
    },
    /// Resume mirrors.
    Resume {
        /// Where.
        side: Side,
        /// The topics.
        names: Vec<String>,
    },
    /// Promote mirrors (after zero lag).
    Promote {
        /// Where.
        side: Side,
        /// The topics.
        names: Vec<String>,
    },
    /// Fail mirrors over (without waiting for the lag).
    Failover {
        /// Where.
        side: Side,
        /// The topics.
        names: Vec<String>,
    },
}

/// Something the plan cannot fix, for the status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A config that cannot change on an existing link differs.
    #[error("link config {name} is {observed:?} on the link but {desired:?} in the resource; it cannot change without recreating the link")]
    ImmutableConfig {
        /// The config.
        name: String,
        /// On the link.
        observed: Option<String>,
        /// Desired.
        desired: String,
    },
    /// A mirror whose source topic differs from the declared one.
    #[error("mirror topic {name} mirrors {observed:?}, not {desired:?}; delete it from the resource first")]
    SourceTopicMismatch {
        /// The mirror.
        name: String,
        /// Its source on the link.
        observed: String,
        /// Declared.
        desired: String,
    },
    /// A stopped (promoted / failed over) mirror declared ACTIVE or PAUSE.
    #[error("mirror topic {name} was promoted or failed over and cannot mirror again")]
    AlreadyStopped {
        /// The mirror.
        name: String,
    },
    /// `toSource` mirrors are declared but the remote mirrors were not observed.
    #[error("the remote half of the link was not observed, so toSource mirrors cannot be planned")]
    RemoteNotObserved,
}

impl Problem {
    /// A short, stable label for metrics, events and status reasons.
    pub fn category(&self) -> &'static str {
        match self {
            Problem::ImmutableConfig { .. } => "immutable-config",
            Problem::SourceTopicMismatch { .. } => "source-topic-mismatch",
            Problem::AlreadyStopped { .. } => "already-stopped",
            Problem::RemoteNotObserved => "remote-not-observed",
        }
    }
}

/// The plan: actions in order, and problems that need the user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Actions, in execution order.
    pub actions: Vec<Action>,
    /// Problems.
    pub problems: Vec<Problem>,
}

/// Configs that cannot be changed on an existing link.
pub const IMMUTABLE_CONFIGS: [&str; 3] = ["link.mode", "connection.mode", "cluster.link.prefix"];

/// Read-only configs the broker sets itself; never deleted or compared.
const BROKER_OWNED: [&str; 2] = ["dest.cluster.id", "cluster.link.id"];

/// Plans the actions for `spec` (whose derived configs are `desired_configs`, from
/// [`crate::configs::link_configs`]) against `observed`.
pub fn plan(spec: &ClusterLinkSpec, desired_configs: &LinkConfigs, observed: &Observed) -> Plan {
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
            alter_configs(&mut p, desired_configs, link, observed.reapply_sensitive);
            link
        }
    };
    let (forward, reverse): (Vec<&MirrorTopic>, Vec<&MirrorTopic>) = spec
        .mirror_topics()
        .iter()
        .partition(|t| t.effective_direction() == MirrorDirection::ToDestination);
    let prefix = spec.prefix();
    let delete_undeclared = spec.delete_removed_mirror_topics() && !spec.auto_create_enabled();
    let mut steps = Steps::default();
    mirrors(
        &mut p,
        &mut steps,
        Side::Local,
        &forward,
        &local.mirrors,
        prefix,
        delete_undeclared,
    );
    match &observed.remote_mirrors {
        Some(remote) => {
            let owned: BTreeMap<String, ObservedMirror> = remote
                .iter()
                .filter(|(name, _)| {
                    observed.remote_owned.contains(*name)
                        || reverse.iter().any(|t| &t.name == *name)
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            mirrors(
                &mut p,
                &mut steps,
                Side::Remote,
                &reverse,
                &owned,
                prefix,
                delete_undeclared,
            )
        }
        None if !reverse.is_empty() => p.problems.push(Problem::RemoteNotObserved),
        None => {}
    }
    steps.into_actions(&mut p.actions);
    p
}

fn alter_configs(
    p: &mut Plan,
    desired: &LinkConfigs,
    link: &ObservedLink,
    reapply_sensitive: bool,
) {
    let mut set = LinkConfigs::new();
    for (name, value) in desired {
        if BROKER_OWNED.contains(&name.as_str()) {
            continue;
        }
        let observed = link.configs.get(name);
        let same = match observed {
            Some(Some(v)) => v == value.expose(),
            // Hidden on the link: assume unchanged unless asked to re-apply.
            Some(None) => value.is_sensitive() && !reapply_sensitive,
            // Not set on the link: the broker's default applies.
            None => broker_default(name) == Some(value.expose()),
        };
        if same {
            continue;
        }
        if IMMUTABLE_CONFIGS.contains(&name.as_str()) {
            p.problems.push(Problem::ImmutableConfig {
                name: name.clone(),
                observed: observed.cloned().flatten(),
                desired: value.expose().to_string(),
            });
            continue;
        }
        set.insert(name.clone(), value.clone());
    }
    let delete: Vec<String> = link
        .configs
        .keys()
        .filter(|k| {
            !desired.contains_key(*k)
                && !BROKER_OWNED.contains(&k.as_str())
                && !IMMUTABLE_CONFIGS.contains(&k.as_str())
        })
        .cloned()
        .collect();
    if !set.is_empty() || !delete.is_empty() {
        p.actions.push(Action::AlterConfigs { set, delete });
    }
}

fn broker_default(name: &str) -> Option<&'static str> {
    match name {
        "link.mode" => Some("DESTINATION"),
        "connection.mode" => Some("OUTBOUND"),
        _ => None,
    }
}

#[derive(Default)]
struct Steps {
    deletes: Vec<Action>,
    creates: Vec<Action>,
    state: BTreeMap<(u8, Side), BTreeSet<String>>,
}

const PAUSE: u8 = 0;
const RESUME: u8 = 1;
const PROMOTE: u8 = 2;
const FAILOVER: u8 = 3;

impl Steps {
    fn state(&mut self, kind: u8, side: Side, name: &str) {
        self.state
            .entry((kind, side))
            .or_default()
            .insert(name.to_string());
    }

    fn into_actions(self, out: &mut Vec<Action>) {
        out.extend(self.deletes);
        out.extend(self.creates);
        for ((kind, side), names) in self.state {
            let names: Vec<String> = names.into_iter().collect();
            out.push(match kind {
                PAUSE => Action::Pause { side, names },
                RESUME => Action::Resume { side, names },
                PROMOTE => Action::Promote { side, names },
                _ => Action::Failover { side, names },
            });
        }
    }
}

fn source_topic<'a>(t: &'a MirrorTopic, prefix: Option<&str>) -> &'a str {
    match (&t.source_topic_name, prefix) {
        (Some(s), _) => s,
        (None, Some(p)) => t.name.strip_prefix(p).unwrap_or(&t.name),
        (None, None) => &t.name,
    }
}

fn mirrors(
    p: &mut Plan,
    steps: &mut Steps,
    side: Side,
    declared: &[&MirrorTopic],
    observed: &BTreeMap<String, ObservedMirror>,
    prefix: Option<&str>,
    delete_undeclared: bool,
) {
    use MirrorStatus as S;
    use MirrorTopicState as D;
    for t in declared {
        let desired = t.effective_state();
        let source = source_topic(t, prefix);
        let Some(o) = observed.get(&t.name) else {
            steps.creates.push(Action::CreateMirror {
                side,
                name: t.name.clone(),
                source_topic_name: source.to_string(),
                configs: t.configs.clone().unwrap_or_default(),
                replication_factor: t.replication_factor,
            });
            match desired {
                D::Pause => steps.state(PAUSE, side, &t.name),
                D::Promote => steps.state(PROMOTE, side, &t.name),
                D::Failover => steps.state(FAILOVER, side, &t.name),
                _ => {}
            }
            continue;
        };
        if o.source_topic_name != source {
            p.problems.push(Problem::SourceTopicMismatch {
                name: t.name.clone(),
                observed: o.source_topic_name.clone(),
                desired: source.to_string(),
            });
            continue;
        }
        match (desired, &o.status) {
            (D::Active | D::Pause, S::Stopped) => p.problems.push(Problem::AlreadyStopped {
                name: t.name.clone(),
            }),
            (D::Active, S::Paused) => steps.state(RESUME, side, &t.name),
            (D::Pause, S::Active | S::SourceUnavailable) => steps.state(PAUSE, side, &t.name),
            // A promotion of a mirror whose source is unreachable completes once it is back.
            (D::Promote, S::Active | S::Paused | S::SourceUnavailable) => {
                steps.state(PROMOTE, side, &t.name)
            }
            // Failover is what a lost source calls for: it never waits for the source.
            (
                D::Failover,
                S::Active | S::Paused | S::Failed | S::PendingStopped | S::SourceUnavailable,
            ) => steps.state(FAILOVER, side, &t.name),
            _ => {}
        }
    }
    if delete_undeclared {
        let names: BTreeSet<&str> = declared.iter().map(|t| t.name.as_str()).collect();
        for (name, o) in observed {
            if !names.contains(name.as_str()) && o.status != S::Stopped {
                steps.deletes.push(Action::DeleteMirror {
                    side,
                    name: name.clone(),
                });
            }
        }
    }
}

/// Convenience: a plain config value.
pub fn plain(value: &str) -> ConfigValue {
    ConfigValue::Plain(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster_link::{AutoCreateTopics, MirrorTopicOptions};
    use crate::configs::SecretValue;

    fn topic(name: &str, state: Option<MirrorTopicState>) -> MirrorTopic {
        MirrorTopic {
            name: name.into(),
            state,
            ..Default::default()
        }
    }

    fn spec(topics: Vec<MirrorTopic>) -> ClusterLinkSpec {
        ClusterLinkSpec {
            mirror_topics: Some(topics),
            ..Default::default()
        }
    }

    fn mirror(status: &str) -> ObservedMirror {
        ObservedMirror {
            status: MirrorStatus::parse(status),
            source_topic_name: String::new(),
        }
    }

    fn observed(mirrors: &[(&str, &str)]) -> Observed {
        let mirrors = mirrors
            .iter()
            .map(|(n, s)| {
                (
                    n.to_string(),
                    ObservedMirror {
                        source_topic_name: n.to_string(),
                        ..mirror(s)
                    },
                )
            })
            .collect();
        Observed {
            link: Some(ObservedLink {
                configs: BTreeMap::new(),
                mirrors,
            }),
            ..Default::default()
        }
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn new_link_creates_link_then_mirrors_then_state_changes() {
        use MirrorTopicState::*;
        let s = spec(vec![
            topic("a", None),
            topic("b", Some(Pause)),
            topic("c", Some(Promote)),
        ]);
        let configs = LinkConfigs::from([("bootstrap.servers".to_string(), plain("x:1"))]);
        let p = plan(&s, &configs, &Observed::default());
        assert!(p.problems.is_empty());
        assert_eq!(p.actions[0], Action::CreateLink { configs });
        let created: Vec<_> = p.actions[1..4]
            .iter()
            .map(|a| match a {
                Action::CreateMirror {
                    name,
                    source_topic_name,
                    ..
                } => (name.as_str(), source_topic_name.as_str()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(created, [("a", "a"), ("b", "b"), ("c", "c")]);
        assert_eq!(
            p.actions[4],
            Action::Pause {
                side: Side::Local,
                names: names(&["b"])
            }
        );
        assert_eq!(
            p.actions[5],
            Action::Promote {
                side: Side::Local,
                names: names(&["c"])
            }
        );
        assert_eq!(p.actions.len(), 6);
    }

    #[test]
    fn state_transitions() {
        use MirrorTopicState::*;
        let cases: [(Option<MirrorTopicState>, &str, Option<Action>); 13] = [
            (None, "ACTIVE", None),
            (
                Some(Active),
                "PAUSED",
                Some(Action::Resume {
                    side: Side::Local,
                    names: names(&["t"]),
                }),
            ),
            (
                Some(Pause),
                "ACTIVE",
                Some(Action::Pause {
                    side: Side::Local,
                    names: names(&["t"]),
                }),
            ),
            (Some(Pause), "PAUSED", None),
            (
                Some(Promote),
                "ACTIVE",
                Some(Action::Promote {
                    side: Side::Local,
                    names: names(&["t"]),
                }),
            ),
            (Some(Promote), "PENDING_STOPPED", None),
            (Some(Promote), "STOPPED", None),
            (
                Some(Failover),
                "PENDING_STOPPED",
                Some(Action::Failover {
                    side: Side::Local,
                    names: names(&["t"]),
                }),
            ),
            (Some(Failover), "STOPPED", None),
            (None, "FAILED", None),
            // The source is lost: a failover must not wait for it (disaster recovery).
            (
                Some(Failover),
                "SOURCE_UNAVAILABLE",
                Some(Action::Failover {
                    side: Side::Local,
                    names: names(&["t"]),
                }),
            ),
            (
                Some(Pause),
                "SOURCE_UNAVAILABLE",
                Some(Action::Pause {
                    side: Side::Local,
                    names: names(&["t"]),
                }),
            ),
            (None, "SOURCE_UNAVAILABLE", None),
        ];
        for (desired, status, expected) in cases {
            let p = plan(
                &spec(vec![topic("t", desired)]),
                &LinkConfigs::new(),
                &observed(&[("t", status)]),
            );
            assert_eq!(
                p.actions,
                expected.into_iter().collect::<Vec<_>>(),
                "{desired:?} on {status}"
            );
            assert!(p.problems.is_empty());
        }
        let p = plan(
            &spec(vec![topic("t", Some(Active))]),
            &LinkConfigs::new(),
            &observed(&[("t", "STOPPED")]),
        );
        assert_eq!(p.problems, [Problem::AlreadyStopped { name: "t".into() }]);
        assert_eq!(p.problems[0].category(), "already-stopped");
    }

    #[test]
    fn undeclared_mirrors_are_deleted_unless_kept() {
        let obs = observed(&[
            ("keep", "ACTIVE"),
            ("gone", "ACTIVE"),
            ("promoted", "STOPPED"),
        ]);
        let p = plan(&spec(vec![topic("keep", None)]), &LinkConfigs::new(), &obs);
        assert_eq!(
            p.actions,
            [Action::DeleteMirror {
                side: Side::Local,
                name: "gone".into()
            }]
        );
        let mut s = spec(vec![topic("keep", None)]);
        s.mirror_topic_options = Some(MirrorTopicOptions {
            delete_removed_mirror_topics: Some(false),
            ..Default::default()
        });
        assert_eq!(plan(&s, &LinkConfigs::new(), &obs).actions, []);
        s.mirror_topic_options = Some(MirrorTopicOptions {
            auto_create_topics: Some(AutoCreateTopics {
                enabled: Some(true),
                topic_filters: None,
            }),
            ..Default::default()
        });
        assert_eq!(plan(&s, &LinkConfigs::new(), &obs).actions, []);
    }

    #[test]
    fn configs_are_diffed_and_immutable_ones_reported() {
        let desired = LinkConfigs::from([
            ("a".to_string(), plain("1")),
            ("b".to_string(), plain("2")),
            (
                "sasl.jaas.config".to_string(),
                ConfigValue::Sensitive(SecretValue::new("x")),
            ),
            ("link.mode".to_string(), plain("DESTINATION")),
        ]);
        let mut obs = observed(&[]);
        obs.link.as_mut().unwrap().configs = BTreeMap::from([
            ("a".to_string(), Some("1".to_string())),
            ("b".to_string(), Some("old".to_string())),
            ("old".to_string(), Some("x".to_string())),
            ("sasl.jaas.config".to_string(), None),
            ("link.mode".to_string(), Some("SOURCE".to_string())),
            ("cluster.link.id".to_string(), Some("id".to_string())),
        ]);
        let p = plan(&spec(vec![]), &desired, &obs);
        assert_eq!(
            p.actions,
            [Action::AlterConfigs {
                set: LinkConfigs::from([("b".to_string(), plain("2"))]),
                delete: names(&["old"]),
            }]
        );
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.problems[0].category(), "immutable-config");
        // A mode left at the broker's default is not a difference.
        obs.link.as_mut().unwrap().configs.remove("link.mode");
        assert!(plan(&spec(vec![]), &desired, &obs).problems.is_empty());
        obs.reapply_sensitive = true;
        let p = plan(&spec(vec![]), &desired, &obs);
        let Action::AlterConfigs { set, .. } = &p.actions[0] else {
            panic!()
        };
        assert!(set.contains_key("sasl.jaas.config"));
    }

    #[test]
    fn prefixed_and_reverse_mirrors() {
        let mut s = spec(vec![
            MirrorTopic {
                name: "dc1-a".into(),
                ..Default::default()
            },
            MirrorTopic {
                name: "back".into(),
                direction: Some(MirrorDirection::ToSource),
                ..Default::default()
            },
        ]);
        s.mirror_topic_options = Some(MirrorTopicOptions {
            prefix: Some("dc1-".into()),
            ..Default::default()
        });
        let p = plan(&s, &LinkConfigs::new(), &observed(&[]));
        assert_eq!(p.problems, [Problem::RemoteNotObserved]);
        let Action::CreateMirror {
            source_topic_name,
            side,
            ..
        } = &p.actions[0]
        else {
            panic!()
        };
        assert_eq!((source_topic_name.as_str(), *side), ("a", Side::Local));
        let mut obs = observed(&[]);
        obs.remote_mirrors = Some(BTreeMap::new());
        let p = plan(&s, &LinkConfigs::new(), &obs);
        assert!(p.problems.is_empty());
        assert!(
            matches!(&p.actions[1], Action::CreateMirror { side: Side::Remote, name, .. } if name == "back")
        );
        // The remote half's own mirrors (the other resource's) are never deleted from here;
        // a toSource mirror this resource created and no longer declares is.
        let mut obs = observed(&[]);
        let mut remote = BTreeMap::new();
        remote.insert("theirs".to_string(), mirror("ACTIVE"));
        remote.insert("was-ours".to_string(), mirror("ACTIVE"));
        obs.remote_mirrors = Some(remote);
        obs.remote_owned.insert("was-ours".into());
        let p = plan(&s, &LinkConfigs::new(), &obs);
        let deleted: Vec<&str> = p
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::DeleteMirror {
                    side: Side::Remote,
                    name,
                } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, ["was-ours"]);
        // A mirror of another source topic is reported, not recreated.
        let mut obs = observed(&[]);
        obs.link.as_mut().unwrap().mirrors.insert(
            "dc1-a".into(),
            ObservedMirror {
                status: MirrorStatus::Active,
                source_topic_name: "z".into(),
            },
        );
        obs.remote_mirrors = Some(BTreeMap::new());
        let p = plan(&s, &LinkConfigs::new(), &obs);
        assert_eq!(p.problems[0].category(), "source-topic-mismatch");
    }
}
