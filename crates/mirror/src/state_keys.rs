//! The key schema of the state topic: every record clusterlink keeps in a cluster's compacted
//! state topic, and who writes it.
//!
//! | key | written by | value |
//! |---|---|---|
//! | `link/<link>` | the link server | the link's record (configs, secrets encrypted) |
//! | `mirror/<engine>/<topic>` | the engine | the mirror's spec and state |
//! | `ckpt/<engine>/<topic>/<partition>` | the engine | where the partition resumes |
//! | `run/<engine>/<topic>/<partition>/<source offset>` | the engine | a run of the offset map |
//! | `ctl/<engine>/<topic>` | the INBOUND side of a source-initiated link | a requested mirror state |
//! | `mstatus/<engine>/<topic>` | the OUTBOUND side's pusher | the mirror's status |
//! | `peer/<engine>` | the OUTBOUND side's pusher | its heartbeat |
//! | `restore/<engine>/<topic>` | the link server | a truncate-and-restore between its steps |
//! | `reverse/<cluster id>/<topic>` | the link server of cluster `<cluster id>` | a request that `<topic>` become a mirror of its topic (failback) |
//! | `acls/<engine>` | the link server's ACL sync | the ACLs the link created on the destination |
//!
//! `<engine>` is `<link>@<link id>`, so a link deleted and re-created under the same name never
//! reads its predecessor's records. Keys sort by prefix, so a prefix scan finds one kind.
//! Everything that builds or parses a key does it here.

use std::collections::BTreeMap;

/// Prefix of link records.
pub const LINK_PREFIX: &str = "link/";
/// Prefix of mirror records.
pub const MIRROR_PREFIX: &str = "mirror/";
/// Prefix of reverse requests.
pub const REVERSE_PREFIX: &str = "reverse/";

/// Key of a truncate-and-restore in progress.
pub fn restore(engine: &str, topic: &str) -> String {
    format!("restore/{engine}/{topic}")
}

/// Key of a request, left by the link server of cluster `from`, that local topic `topic`
/// become a mirror of its topic.
pub fn reverse(from: &str, topic: &str) -> String {
    format!("{REVERSE_PREFIX}{from}/{topic}")
}

/// The cluster and topic a reverse request's key names, if `key` is one.
pub fn reverse_of(key: &str) -> Option<(&str, &str)> {
    key.strip_prefix(REVERSE_PREFIX)?.split_once('/')
}

/// Prefix of heartbeats.
pub const HEARTBEAT_PREFIX: &str = "peer/";

/// Key of a link's record.
pub fn link(link: &str) -> String {
    format!("{LINK_PREFIX}{link}")
}

/// The link a link record's key names, if `key` is one.
pub fn link_of(key: &str) -> Option<&str> {
    key.strip_prefix(LINK_PREFIX)
}

/// Key of a mirror record.
pub fn mirror(engine: &str, topic: &str) -> String {
    format!("{MIRROR_PREFIX}{engine}/{topic}")
}

/// The engine and topic a mirror record's key names, if `key` is one.
pub fn mirror_of(key: &str) -> Option<(&str, &str)> {
    key.strip_prefix(MIRROR_PREFIX)?.split_once('/')
}

/// Prefix of the mirror records of an engine.
pub fn mirror_prefix(engine: &str) -> String {
    format!("{MIRROR_PREFIX}{engine}/")
}

/// Prefix of the checkpoints of a mirror's partitions (the partition follows).
pub fn checkpoint_prefix(engine: &str, topic: &str) -> String {
    format!("ckpt/{engine}/{topic}/")
}

/// Prefix of the offset-map runs of every partition of a mirror.
pub fn runs_prefix(engine: &str, topic: &str) -> String {
    format!("run/{engine}/{topic}/")
}

/// Prefix of the offset-map runs of a partition.
pub fn run_prefix(engine: &str, topic: &str, partition: i32) -> String {
    format!("{}{partition}/", runs_prefix(engine, topic))
}

/// The records of a state topic's contents whose keys start with `prefix`, as (the rest of the
/// key, value), in key order.
pub fn scan<'a>(
    state: &'a BTreeMap<String, Vec<u8>>,
    prefix: &'a str,
) -> impl Iterator<Item = (&'a str, &'a Vec<u8>)> + 'a {
    state
        .range(prefix.to_owned()..)
        .take_while(move |(k, _)| k.starts_with(prefix))
        .map(move |(k, v)| (&k[prefix.len()..], v))
}

/// Key of a partition's checkpoint.
pub fn checkpoint(engine: &str, topic: &str, partition: i32) -> String {
    format!("ckpt/{engine}/{topic}/{partition}")
}

/// Key of an offset-map run starting at `source` (zero-padded so runs sort by offset).
pub fn run(engine: &str, topic: &str, partition: i32, source: i64) -> String {
    format!("run/{engine}/{topic}/{partition}/{source:020}")
}

/// Key of a control record (a mirror state the INBOUND side asks for).
pub fn control(engine: &str, topic: &str) -> String {
    format!("ctl/{engine}/{topic}")
}

/// Key of a mirror status record (what the OUTBOUND side reports).
pub fn mirror_status(engine: &str, topic: &str) -> String {
    format!("mstatus/{engine}/{topic}")
}

/// Prefix of the control records of an engine.
pub fn control_prefix(engine: &str) -> String {
    format!("ctl/{engine}/")
}

/// Prefix of the mirror status records of an engine.
pub fn mirror_status_prefix(engine: &str) -> String {
    format!("mstatus/{engine}/")
}

/// Key of the OUTBOUND side's heartbeat.
pub fn heartbeat(engine: &str) -> String {
    format!("{HEARTBEAT_PREFIX}{engine}")
}

/// The engine a heartbeat's key names, if `key` is one.
pub fn heartbeat_of(key: &str) -> Option<&str> {
    key.strip_prefix(HEARTBEAT_PREFIX)
}

/// Key of the record of the ACLs a link's ACL sync created on the destination.
pub fn acl_sync(engine: &str) -> String {
    format!("acls/{engine}")
}

/// Prefixes of every key written for an engine of a link that pulls (mirror records,
/// checkpoints, offset-map runs, the ACLs its ACL sync created): what to delete to forget its
/// mirrors entirely. (The ACLs themselves stay on the destination.)
pub fn engine_prefixes(engine: &str) -> [String; 4] {
    [
        mirror_prefix(engine),
        format!("ckpt/{engine}/"),
        format!("run/{engine}/"),
        acl_sync(engine),
    ]
}

/// Prefixes of every key the source-initiated exchange writes for an engine (controls,
/// statuses, the heartbeat): what deleting the link removes besides [`engine_prefixes`].
pub fn exchange_prefixes(engine: &str) -> [String; 3] {
    [
        control_prefix(engine),
        mirror_status_prefix(engine),
        heartbeat(engine),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back_and_fall_under_their_prefixes() {
        assert_eq!(link_of(&link("west")), Some("west"));
        assert_eq!(
            mirror_of(&mirror("west@id", "orders")),
            Some(("west@id", "orders"))
        );
        assert_eq!(heartbeat_of(&heartbeat("west@id")), Some("west@id"));
        let owned = [
            mirror("e", "t"),
            checkpoint("e", "t", 3),
            run("e", "t", 3, 42),
            acl_sync("e"),
        ];
        let prefixes = engine_prefixes("e");
        for k in &owned {
            assert!(prefixes.iter().any(|p| k.starts_with(p)), "{k}");
        }
        for k in [control("e", "t"), mirror_status("e", "t"), heartbeat("e")] {
            assert!(
                exchange_prefixes("e").iter().any(|p| k.starts_with(p)),
                "{k}"
            );
        }
        let mut state = BTreeMap::new();
        for k in owned.iter().chain([&mirror("e2", "t"), &link("x")]) {
            state.insert(k.clone(), vec![]);
        }
        let checkpoints = checkpoint_prefix("e", "t");
        let scanned: Vec<&str> = scan(&state, &checkpoints).map(|(rest, _)| rest).collect();
        assert_eq!(scanned, ["3"]);
        assert_eq!(scan(&state, &mirror_prefix("e")).count(), 1);
        assert_eq!(scan(&state, &run_prefix("e", "t", 3)).count(), 1);
        // Runs sort by source offset.
        assert!(run("e", "t", 0, 9) < run("e", "t", 0, 10));
        // Another engine's keys are not under this one's prefixes.
        assert!(!mirror("e2", "t").starts_with(&engine_prefixes("e")[0]));
    }
}
