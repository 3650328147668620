use clusterlink_rest_v3::{MirrorAction, MirrorState};

use super::*;
use crate::cluster_link::{
    AutoCreateTopics, ClusterLink, ClusterLinkSpec, MirrorDirection, MirrorTopic,
    MirrorTopicOptions, MirrorTopicState,
};
use crate::configs::{plain, ConfigValue, SecretValue};

/// The plan of a bare spec (the pure step does not need it validated).
fn plan(s: &ClusterLinkSpec, configs: &LinkConfigs, observed: &Observed) -> Plan {
    let link = ValidatedClusterLink::from_unchecked(&ClusterLink::new("l", s.clone()));
    super::plan(&link, configs, observed)
}

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
        status: ReportedState::parse(status),
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
fn failback_states_become_their_actions_and_rest_once_reached() {
    use MirrorTopicState::*;
    let failback = |action, name: &str| Action::Failback {
        action,
        side: Side::Local,
        names: names(&[name]),
    };
    // A topic to restore is not a mirror here yet (or a stopped one): restored, never created.
    let p = plan(
        &spec(vec![topic("t", Some(TruncateAndRestore))]),
        &LinkConfigs::new(),
        &Observed::default(),
    );
    assert!(
        p.actions
            .iter()
            .all(|a| !matches!(a, Action::CreateMirror { .. })),
        "{:?}",
        p.actions
    );
    assert_eq!(
        p.actions.last(),
        Some(&failback(MirrorAction::TruncateAndRestore, "t"))
    );
    let cases: [(MirrorTopicState, &str, Option<Action>); 8] = [
        (
            TruncateAndRestore,
            "STOPPED",
            Some(failback(MirrorAction::TruncateAndRestore, "t")),
        ),
        (TruncateAndRestore, "ACTIVE", None),
        (
            ReverseAndStart,
            "ACTIVE",
            Some(failback(MirrorAction::ReverseAndStartMirror, "t")),
        ),
        (
            ReverseAndPause,
            "PAUSED",
            Some(failback(MirrorAction::ReverseAndPauseMirror, "t")),
        ),
        (ReverseAndStart, "PENDING_STOPPED", None),
        (ReverseAndStart, "STOPPED", None),
        (ReverseAndPause, "STOPPED", None),
        (ReverseAndStart, "FAILED", None),
    ];
    for (desired, status, expected) in cases {
        let p = plan(
            &spec(vec![topic("t", Some(desired))]),
            &LinkConfigs::new(),
            &observed(&[("t", status)]),
        );
        assert_eq!(
            p.actions,
            expected.into_iter().collect::<Vec<_>>(),
            "{desired:?} on {status}"
        );
        assert!(p.problems.is_empty(), "{:?}", p.problems);
    }
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
fn a_new_address_carries_the_secrets_again() {
    let desired = LinkConfigs::from([
        ("bootstrap.servers".to_string(), plain("west:9092")),
        (
            "sasl.jaas.config".to_string(),
            ConfigValue::Sensitive(SecretValue::new("x")),
        ),
    ]);
    let mut obs = observed(&[]);
    obs.link.as_mut().unwrap().configs = BTreeMap::from([
        (
            "bootstrap.servers".to_string(),
            Some("east:9092".to_string()),
        ),
        ("sasl.jaas.config".to_string(), None),
    ]);
    let p = plan(&spec(vec![]), &desired, &obs);
    let Action::AlterConfigs { set, .. } = &p.actions[0] else {
        panic!("{:?}", p.actions)
    };
    assert!(set.contains_key("bootstrap.servers"));
    assert!(set.contains_key("sasl.jaas.config"), "{set:?}");
    // The same address: the hidden secret is left alone.
    obs.link.as_mut().unwrap().configs.insert(
        "bootstrap.servers".to_string(),
        Some("west:9092".to_string()),
    );
    assert_eq!(plan(&spec(vec![]), &desired, &obs).actions, []);
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
            status: MirrorState::Active.into(),
            source_topic_name: "z".into(),
        },
    );
    obs.remote_mirrors = Some(BTreeMap::new());
    let p = plan(&s, &LinkConfigs::new(), &obs);
    assert_eq!(p.problems[0].category(), "source-topic-mismatch");
}

fn link_of(spec: serde_json::Value) -> ValidatedClusterLink {
    let link: ClusterLink = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "l", "namespace": "ns"}, "spec": spec
    }))
    .unwrap();
    ValidatedClusterLink::from_unchecked(&link)
}

#[test]
fn a_source_initiated_outbound_side_waits_for_its_inbound_side() {
    let source = link_of(serde_json::json!({
        "sourceInitiatedLink": {"linkMode": "Source"},
        "sourceKafkaCluster": {"kafkaRestClassRef": {"name": "s"}},
        "destinationKafkaCluster": {"bootstrapEndpoint": "d:9092", "kafkaRestClassRef": {"name": "d"}}
    }));
    let mut obs = Observed {
        remote_link: RemoteLink::Absent,
        remote_cluster_id: Some("dest-id".into()),
        ..Default::default()
    };
    let p = super::plan(&source, &LinkConfigs::new(), &obs);
    let waiting = p.waiting_for_inbound.expect("waits");
    assert_eq!(waiting.cluster.as_deref(), Some("dest-id"));
    assert!(waiting
        .to_string()
        .contains("INBOUND side must exist first on cluster dest-id"));
    // The actions are still planned (and listed), only not executed.
    assert!(matches!(p.actions[0], Action::CreateLink { .. }));
    // Once the INBOUND side exists, this side is created with its link id.
    obs.remote_link = RemoteLink::Present {
        link_id: Some("id-1".into()),
    };
    let p = super::plan(&source, &LinkConfigs::new(), &obs);
    assert_eq!(p.waiting_for_inbound, None);
    assert_eq!(
        p.link_ids,
        LinkIds {
            destination_cluster_id: Some("dest-id".into()),
            cluster_link_id: Some("id-1".into()),
            ..Default::default()
        }
    );
    // A remote that could not be read is not a reason to wait.
    obs.remote_link = RemoteLink::NotRead;
    assert_eq!(
        super::plan(&source, &LinkConfigs::new(), &obs).waiting_for_inbound,
        None
    );
}

#[test]
fn bidirectional_halves_pair_by_the_peer_and_leave_its_mirrors_alone() {
    let outbound = link_of(serde_json::json!({
        "sourceInitiatedLink": {"linkMode": "Bidirectional"},
        "sourceKafkaCluster": {"bootstrapEndpoint": "s:9092", "kafkaRestClassRef": {"name": "s"}},
        "destinationKafkaCluster": {"kafkaRestClassRef": {"name": "d"}},
        "mirrorTopics": [{"name": "mine"}]
    }));
    let peer = ObservedPeer {
        resource: "other/l".into(),
        inbound: false,
        to_source_mirrors: ["pushed".to_string()].into(),
    };
    let mut obs = observed(&[("mine", "ACTIVE"), ("pushed", "ACTIVE")]);
    obs.remote_link = RemoteLink::Absent;
    obs.remote_cluster_id = Some("src-id".into());
    obs.peer = Some(peer.clone());
    let p = super::plan(&outbound, &LinkConfigs::new(), &obs);
    assert_eq!(p.actions, []);
    assert_eq!(p.link_ids.remote_cluster_id.as_deref(), Some("src-id"));
    assert_eq!(p.link_ids.source_cluster_id, None);
    // Without the peer, its mirror is an undeclared one.
    obs.peer = None;
    let p = super::plan(&outbound, &LinkConfigs::new(), &obs);
    assert!(matches!(&p.actions[..], [Action::DeleteMirror { name, .. }] if name == "pushed"));
    // A destination-initiated pair never waits; with an Inbound peer the Outbound side does.
    obs.link = None;
    assert_eq!(
        super::plan(&outbound, &LinkConfigs::new(), &obs).waiting_for_inbound,
        None
    );
    obs.peer = Some(ObservedPeer {
        inbound: true,
        ..peer
    });
    let waiting = super::plan(&outbound, &LinkConfigs::new(), &obs).waiting_for_inbound;
    assert_eq!(waiting.and_then(|w| w.peer).as_deref(), Some("other/l"));
}
