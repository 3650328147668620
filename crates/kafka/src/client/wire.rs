//! Small conversions between the client's values and the codec's messages, written once: names,
//! optional strings, partitions grouped under their topic, per-topic results.

use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;

use crate::error::{Error, Result};

/// A topic name as the codec spells it.
pub(super) fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_owned()))
}

/// An optional string of a response, owned.
pub(super) fn opt_string(s: &Option<StrBytes>) -> Option<String> {
    s.as_ref().map(|s| s.as_str().to_owned())
}

/// Groups items by topic: topics in the order they first appear, each topic's items in theirs.
/// Kafka's requests list partitions under their topic (Fetch, Produce, OffsetCommit, ...), and
/// a topic must appear once.
pub(super) fn group_by_topic<'a, P>(
    items: impl IntoIterator<Item = (&'a str, P)>,
) -> Vec<(&'a str, Vec<P>)> {
    let mut groups: Vec<(&'a str, Vec<P>)> = Vec::new();
    for (topic, item) in items {
        match groups.iter_mut().find(|(t, _)| *t == topic) {
            Some((_, items)) => items.push(item),
            None => groups.push((topic, vec![item])),
        }
    }
    groups
}

/// Per-topic results of a topic admin call, from (name, error code, error message) triples.
pub(super) fn per_topic<'a>(
    api: &str,
    results: impl Iterator<Item = (&'a str, i16, &'a Option<StrBytes>)>,
) -> Vec<(String, Result<()>)> {
    results
        .map(|(name, code, message)| {
            let r = Error::check(code, message.as_deref(), || format!("{api} {name}"));
            (name.to_owned(), r)
        })
        .collect()
}

/// Per-partition answers of a call about one topic, `(partition, error code, value)`: the
/// values, or the first error.
pub(super) fn per_partition<T>(
    api: &str,
    topic: &str,
    answers: impl Iterator<Item = (i32, i16, T)>,
) -> Result<Vec<(i32, T)>> {
    answers
        .map(|(partition, code, value)| {
            Error::check(code, None, || format!("{api} {topic}-{partition}"))?;
            Ok((partition, value))
        })
        .collect()
}

/// A broker's address as the client keys it: `host:port`.
pub(super) fn broker_address(host: &StrBytes, port: i32) -> String {
    format!("{}:{}", host.as_str(), port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_keeps_first_appearance_and_item_order() {
        let items = [("b", 1), ("a", 2), ("b", 3), ("c", 4), ("a", 5)];
        assert_eq!(
            group_by_topic(items),
            vec![("b", vec![1, 3]), ("a", vec![2, 5]), ("c", vec![4])]
        );
        assert!(group_by_topic(Vec::<(&str, i32)>::new()).is_empty());
    }
}
