//! Topic config sync (`topic.config.sync.ms`): a mirror follows its source topic's own configs
//! (set, changed, reset), its own overrides win, and nothing the source topic merely inherits
//! from its brokers is copied. Checked with librdkafka's admin client, and on Apache Kafka with
//! `kafka-configs --describe`, which reports where each value comes from (DescribeConfigs'
//! config sources): the mirror's topic overrides must be exactly the synced ones and its own.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clusterlink_kafka::client::{AlterConfigOp, ConfigResource};
use clusterlink_testkit::rdkafka;
use support::*;

/// Polls `check` (every 200 ms, 30 s at most) until it gives `Ok`; panics with its last `Err`.
async fn wait_until<T>(mut check: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(t) => return t,
            Err(e) => assert!(start.elapsed() < Duration::from_secs(30), "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Until librdkafka reads `key` of `topic` as `want`.
async fn wait_config(bootstrap: &str, topic: &str, key: &str, want: Option<&str>) {
    wait_until(|| {
        let got = rdkafka::topic_configs(bootstrap, topic).unwrap();
        match got.get(key).map(String::as_str) == want {
            true => Ok(()),
            false => Err(format!("{topic} {key}: {:?}, want {want:?}", got.get(key))),
        }
    })
    .await
}

/// Until Kafka's tool reports exactly `want` as the topic's own overrides.
async fn wait_overrides(cluster: &Broker, topic: &str, want: &[(&str, &str)]) {
    let want: BTreeMap<String, String> = want
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let cluster = cluster.bootstrap();
    wait_until(|| {
        let got = kafka::tools::topic_overrides(&cluster, topic).unwrap();
        match got == want {
            true => Ok(()),
            false => Err(format!("{topic} overrides: {got:?}, want {want:?}")),
        }
    })
    .await
}

async fn mirrors_follow_their_source_topics_configs(peer: Peer) {
    let (src, dst) = peer.pair().unwrap();
    let orders = unique_name("orders");
    // A source topic without overrides of its own.
    let plain = unique_name("plain");
    for t in [&orders, &plain] {
        rdkafka::create_topic(&src.bootstrap(), t, 1).unwrap();
    }
    let source = client(&src.bootstrap()).await;
    let alter = |ops: Vec<AlterConfigOp>| {
        let (source, orders) = (&source, &orders);
        async move {
            source
                .incremental_alter_configs(ConfigResource::Topic, orders, &ops, false)
                .await
                .unwrap()
        }
    };
    let set = |k: &str, v: &str| AlterConfigOp::Set(k.into(), v.into());
    alter(vec![set("retention.ms", "3600000")]).await;
    let s = Server::start(&dst.bootstrap()).await;
    let (st, v) = s
        .create_link("l", &src, &[("topic.config.sync.ms", "200")])
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (st, v) = s
        .post(
            &format!("{}/l/mirrors", s.links()),
            serde_json::json!({"source_topic_name": orders,
                   "configs": [{"name": "max.message.bytes", "value": "2000000"}]}),
        )
        .await;
    assert_eq!(st, 204, "{v:#}");
    let (st, v) = s.create_mirror("l", &plain).await;
    assert_eq!(st, 204, "{v:#}");
    wait_config(&dst.bootstrap(), &orders, "retention.ms", Some("3600000")).await;
    if peer == Peer::Kafka {
        // The source's own retention.ms and the mirror's own max.message.bytes, nothing else:
        // not the retention.ms=-1 the source topic inherits from its broker's
        // log.retention.ms, not the min.insync.replicas every Kafka 4 cluster sets as a
        // dynamic default.
        wait_overrides(
            &dst,
            &orders,
            &[
                ("max.message.bytes", "2000000"),
                ("retention.ms", "3600000"),
            ],
        )
        .await;
        assert_eq!(
            kafka::tools::topic_overrides(&dst.bootstrap(), &plain).unwrap(),
            BTreeMap::new(),
            "a source topic without overrides gives a mirror without overrides"
        );
        let configs = kafka::tools::topic_configs(&dst.bootstrap(), &plain).unwrap();
        assert_eq!(configs["retention.ms"].source, "STATIC_BROKER_CONFIG");
        assert_eq!(
            configs["min.insync.replicas"].source,
            "DYNAMIC_DEFAULT_BROKER_CONFIG"
        );
    } else {
        // tansu reports only a topic's overrides: none.
        let configs = rdkafka::topic_configs(&dst.bootstrap(), &plain).unwrap();
        assert_eq!(configs.get("retention.ms"), None, "{configs:?}");
    }

    // The source changes: the mirror follows; its override stays.
    alter(vec![
        set("retention.ms", "7200000"),
        set("max.message.bytes", "500000"),
    ])
    .await;
    wait_config(&dst.bootstrap(), &orders, "retention.ms", Some("7200000")).await;
    let now = rdkafka::topic_configs(&dst.bootstrap(), &orders).unwrap();
    assert_eq!(
        now.get("max.message.bytes").map(String::as_str),
        Some("2000000")
    );

    // The source's override reset: the mirror's goes too (it takes its own cluster's value).
    alter(vec![AlterConfigOp::Delete("retention.ms".into())]).await;
    if peer == Peer::Kafka {
        wait_overrides(&dst, &orders, &[("max.message.bytes", "2000000")]).await;
        let configs = kafka::tools::topic_configs(&dst.bootstrap(), &orders).unwrap();
        assert_eq!(configs["retention.ms"].source, "STATIC_BROKER_CONFIG");
    } else {
        wait_config(&dst.bootstrap(), &orders, "retention.ms", None).await;
    }
    s.stop().await;
}

peer_tests! {
    mirrors_follow_their_source_topics_configs: [kafka, tansu];
}
