//! `--connect-to HOST:PORT=ADDR:PORT`: open the TCP connection for a broker address somewhere
//! else, as curl's `--connect-to` or a pod's `hostAliases` do. The broker keeps its name for
//! everything else: TLS still verifies `HOST`, errors still name `HOST:PORT`. It lets a link
//! dial a cluster by a name this machine cannot resolve (a Kubernetes service name in a
//! manifest, run outside Kubernetes).

use std::collections::BTreeMap;
use std::sync::Arc;

/// Address rewrites for TCP connections, by `host:port` (cheap to clone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectTo(Arc<BTreeMap<String, String>>);

/// A `--connect-to` rule that is not `HOST:PORT=ADDR:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--connect-to {rule:?}: expected HOST:PORT=ADDR:PORT")]
pub struct ConnectToError {
    /// The rule as given.
    pub rule: String,
}

fn host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let port = port.parse().ok().filter(|p| *p > 0)?;
    (!host.is_empty()).then_some((host, port))
}

impl ConnectTo {
    /// Rules of the form `HOST:PORT=ADDR:PORT`.
    pub fn parse<S: AsRef<str>>(rules: &[S]) -> Result<Self, ConnectToError> {
        let mut map = BTreeMap::new();
        for rule in rules {
            let rule = rule.as_ref().trim();
            let err = || ConnectToError {
                rule: rule.to_owned(),
            };
            let (from, to) = rule.split_once('=').ok_or_else(err)?;
            let (from, to) = (from.trim(), to.trim());
            if host_port(from).is_none() || host_port(to).is_none() {
                return Err(err());
            }
            map.insert(from.to_ascii_lowercase(), to.to_owned());
        }
        Ok(ConnectTo(Arc::new(map)))
    }

    /// Where to open the TCP connection for `broker` (`host:port`): its rewrite, or itself.
    pub fn target<'a>(&'a self, broker: &'a str) -> &'a str {
        self.0
            .get(&broker.to_ascii_lowercase())
            .map_or(broker, String::as_str)
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_rewrite_only_their_address() {
        let c =
            ConnectTo::parse(&["kafka-dest.destination.svc.cluster.local:9092=127.0.0.1:39092"])
                .unwrap();
        assert_eq!(
            c.target("Kafka-Dest.destination.svc.cluster.local:9092"),
            "127.0.0.1:39092"
        );
        assert_eq!(
            c.target("kafka-dest.destination.svc.cluster.local:9093"),
            "kafka-dest.destination.svc.cluster.local:9093"
        );
        assert_eq!(c.target("127.0.0.1:1"), "127.0.0.1:1");
        assert!(ConnectTo::default().is_empty());
    }

    #[test]
    fn malformed_rules_are_refused_with_the_rule() {
        for bad in ["a:1", "a=b:1", "a:1=b", ":1=b:2", "a:0=b:1", "a:1=b:x"] {
            let e = ConnectTo::parse(&[bad]).unwrap_err();
            assert_eq!(e.rule, bad);
        }
    }
}
