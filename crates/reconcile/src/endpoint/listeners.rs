//! Which listener of a `Kafka` resource a link dials, decided from the resource as JSON (pure:
//! no I/O, so every rule is a unit test).
//!
//! - CFK (`platform.confluent.io/v1beta1`) publishes `status.listeners.<name>` with
//!   `internalEndpoint` / `externalEndpoint`, `tls` and `authenticationType`; names are
//!   `internal`, `external`, `replication` (broker to broker: never a client's) or custom.
//! - Strimzi (`kafka.strimzi.io/v1beta2`) publishes `status.listeners[]` (`name`,
//!   `bootstrapServers`, `addresses`) and declares `spec.kafka.listeners[]` (`name`, `type`,
//!   `tls`).
//!
//! The choice: the listener the ClusterLink names (annotation), else one whose TLS matches the
//! reference's `tls`, in-cluster before exposed (CFK `internal` before `external` before custom
//! names, internal endpoints before external ones; Strimzi `internal`/`cluster-ip` before
//! `route`/`loadbalancer`/`nodeport`/`ingress`).

use serde_json::Value;

/// The listener chosen, and its bootstrap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picked {
    /// `host:port[,host:port...]`.
    pub bootstrap: String,
    /// What was chosen, for the status: `listener internal (internalEndpoint)`.
    pub listener: String,
}

/// What the link wants of a listener.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wanted<'a> {
    /// A listener named explicitly (by the ClusterLink's annotation).
    pub name: Option<&'a str>,
    /// Whether the reference dials with TLS (its `tls.enabled`).
    pub tls: bool,
}

/// An endpoint a listener offers, ranked: lower ranks first, ties in the order offered.
struct Candidate {
    rank: (u8, u8, u8),
    picked: Picked,
}

/// The best candidate, or why there is none.
fn best(
    mut candidates: Vec<Candidate>,
    wanted: Wanted<'_>,
    names: &[String],
) -> Result<Picked, String> {
    candidates.sort_by_key(|c| c.rank);
    candidates
        .into_iter()
        .next()
        .map(|c| c.picked)
        .ok_or_else(|| no_listener(wanted, names))
}

fn no_listener(wanted: Wanted<'_>, names: &[String]) -> String {
    match wanted.name {
        Some(n) => format!(
            "it has no listener named {n} with an endpoint (listeners: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ),
        None => "its status publishes no listener endpoint".to_string(),
    }
}

/// The endpoint a link dials on a CFK `Kafka` resource.
pub fn cfk_listener(kafka: &Value, wanted: Wanted<'_>) -> Result<Picked, String> {
    let listeners = kafka
        .pointer("/status/listeners")
        .and_then(Value::as_object)
        .ok_or_else(|| "its status has no listeners yet".to_string())?;
    let names: Vec<String> = listeners.keys().cloned().collect();
    let mut candidates = Vec::new();
    for (name, l) in listeners {
        let named = wanted.name.is_some_and(|w| w == name);
        if wanted.name.is_some() && !named || wanted.name.is_none() && name == "replication" {
            continue;
        }
        let tls = l.get("tls").and_then(Value::as_bool).unwrap_or(false);
        let name_rank = match name.as_str() {
            "internal" => 0,
            "external" => 1,
            _ => 2,
        };
        for (field, field_rank) in [("internalEndpoint", 0), ("externalEndpoint", 1)] {
            if let Some(e) = l
                .get(field)
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
            {
                candidates.push(Candidate {
                    rank: (u8::from(tls != wanted.tls), field_rank, name_rank),
                    picked: Picked {
                        bootstrap: e.to_string(),
                        listener: format!("listener {name} ({field})"),
                    },
                });
            }
        }
    }
    best(candidates, wanted, &names)
}

/// How in-cluster a Strimzi listener type is: lower first.
fn strimzi_type_rank(t: Option<&str>) -> u8 {
    match t {
        Some("internal" | "cluster-ip") => 0,
        Some("route" | "loadbalancer" | "nodeport" | "ingress") => 1,
        _ => 2,
    }
}

/// The endpoint a link dials on a Strimzi `Kafka` resource.
pub fn strimzi_listener(kafka: &Value, wanted: Wanted<'_>) -> Result<Picked, String> {
    let published = kafka
        .pointer("/status/listeners")
        .and_then(Value::as_array)
        .ok_or_else(|| "its status has no listeners yet".to_string())?;
    let declared = kafka
        .pointer("/spec/kafka/listeners")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<String> = published
        .iter()
        .filter_map(|l| l.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut candidates = Vec::new();
    for l in published {
        let name = l.get("name").and_then(Value::as_str).unwrap_or_default();
        if wanted.name.is_some_and(|w| w != name) {
            continue;
        }
        let spec = declared
            .iter()
            .find(|d| d.get("name").and_then(Value::as_str) == Some(name));
        let tls = spec
            .and_then(|d| d.get("tls"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let kind = spec.and_then(|d| d.get("type")).and_then(Value::as_str);
        let bootstrap = l
            .get("bootstrapServers")
            .and_then(Value::as_str)
            .map(str::to_string)
            .filter(|b| !b.is_empty())
            .or_else(|| {
                let addresses: Vec<String> = l
                    .get("addresses")?
                    .as_array()?
                    .iter()
                    .filter_map(|a| {
                        Some(format!("{}:{}", a.get("host")?.as_str()?, a.get("port")?))
                    })
                    .collect();
                (!addresses.is_empty()).then(|| addresses.join(","))
            });
        if let Some(bootstrap) = bootstrap {
            candidates.push(Candidate {
                rank: (u8::from(tls != wanted.tls), strimzi_type_rank(kind), 0),
                picked: Picked {
                    bootstrap,
                    listener: format!("listener {name}"),
                },
            });
        }
    }
    best(candidates, wanted, &names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfk() -> Value {
        json!({"status": {"listeners": {
            "replication": {"internalEndpoint": "kafka.ns.svc.cluster.local:9072", "tls": false},
            "external": {"externalEndpoint": "kafka.example.com:9092",
                         "internalEndpoint": "kafka.ns.svc.cluster.local:9092", "tls": true,
                         "authenticationType": "plain"},
            "internal": {"internalEndpoint": "kafka.ns.svc.cluster.local:9071", "tls": false},
            "custom": {"internalEndpoint": "kafka.ns.svc.cluster.local:9094", "tls": false}
        }}})
    }

    fn pick(kafka: &Value, name: Option<&str>, tls: bool) -> Result<(String, String), String> {
        cfk_listener(kafka, Wanted { name, tls }).map(|p| (p.bootstrap, p.listener))
    }

    #[test]
    fn cfk_internal_first_never_replication_tls_matching() {
        let k = cfk();
        assert_eq!(
            pick(&k, None, false).unwrap(),
            (
                "kafka.ns.svc.cluster.local:9071".into(),
                "listener internal (internalEndpoint)".into()
            )
        );
        // TLS wanted: the only TLS listener, its in-cluster endpoint first.
        assert_eq!(
            pick(&k, None, true).unwrap().0,
            "kafka.ns.svc.cluster.local:9092"
        );
        // Named explicitly.
        assert_eq!(
            pick(&k, Some("custom"), false).unwrap().0,
            "kafka.ns.svc.cluster.local:9094"
        );
        // Replication only when named.
        assert_eq!(
            pick(&k, Some("replication"), false).unwrap().0,
            "kafka.ns.svc.cluster.local:9072"
        );
        let only_replication = json!({"status": {"listeners": {
            "replication": {"internalEndpoint": "r:9072"}}}});
        assert_eq!(
            pick(&only_replication, None, false).unwrap_err(),
            "its status publishes no listener endpoint"
        );
    }

    #[test]
    fn cfk_without_status_or_named_listener_says_why() {
        assert_eq!(
            pick(&json!({"spec": {}}), None, false).unwrap_err(),
            "its status has no listeners yet"
        );
        assert_eq!(
            pick(&cfk(), Some("nope"), false).unwrap_err(),
            "it has no listener named nope with an endpoint (listeners: custom, external, internal, replication)"
        );
        // Without TLS on offer, a plaintext reference still gets the best listener there is.
        let tls_only = json!({"status": {"listeners": {
            "external": {"externalEndpoint": "e:9092", "tls": true}}}});
        assert_eq!(pick(&tls_only, None, false).unwrap().0, "e:9092");
    }

    fn strimzi() -> Value {
        json!({
            "spec": {"kafka": {"listeners": [
                {"name": "external", "port": 9094, "type": "loadbalancer", "tls": false},
                {"name": "plain", "port": 9092, "type": "internal", "tls": false},
                {"name": "tls", "port": 9093, "type": "internal", "tls": true}
            ]}},
            "status": {"listeners": [
                {"name": "external", "bootstrapServers": "203.0.113.7:9094",
                 "addresses": [{"host": "203.0.113.7", "port": 9094}]},
                {"name": "plain", "bootstrapServers": "my-cluster-kafka-bootstrap.kafka.svc:9092"},
                {"name": "tls", "addresses": [{"host": "my-cluster-kafka-bootstrap.kafka.svc", "port": 9093}]}
            ]}
        })
    }

    fn spick(name: Option<&str>, tls: bool) -> Result<(String, String), String> {
        strimzi_listener(&strimzi(), Wanted { name, tls }).map(|p| (p.bootstrap, p.listener))
    }

    #[test]
    fn strimzi_internal_before_exposed_tls_matching_named_wins() {
        assert_eq!(
            spick(None, false).unwrap(),
            (
                "my-cluster-kafka-bootstrap.kafka.svc:9092".into(),
                "listener plain".into()
            )
        );
        // From `addresses` when `bootstrapServers` is missing.
        assert_eq!(
            spick(None, true).unwrap().0,
            "my-cluster-kafka-bootstrap.kafka.svc:9093"
        );
        assert_eq!(
            spick(Some("external"), false).unwrap().0,
            "203.0.113.7:9094"
        );
        assert_eq!(
            spick(Some("nope"), false).unwrap_err(),
            "it has no listener named nope with an endpoint (listeners: external, plain, tls)"
        );
        assert_eq!(
            strimzi_listener(&json!({"status": {}}), Wanted::default()).unwrap_err(),
            "its status has no listeners yet"
        );
    }
}
