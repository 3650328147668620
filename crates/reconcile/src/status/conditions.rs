//! Conditions: their types and reasons, and the only code that writes them.
//!
//! Every condition a resource shows — the ClusterLink's `Ready` and `Reconciled`, the
//! KafkaTopic's `Ready`, the `InvalidSpec` of a resource that does not even fit its schema —
//! is set here, so that their vocabulary has one definition and the rule that
//! `lastTransitionTime` moves only when a condition's status flips is applied everywhere.

use clusterlink_model::common::Condition;

use super::time::now_rfc3339;

/// Condition type: the link and its mirror topics are healthy and in their declared states.
pub const READY: &str = "Ready";
/// Condition type: the resource was applied to the link server without problems.
pub const RECONCILED: &str = "Reconciled";

/// The reasons conditions give (CamelCase). Reasons made from a problem's category
/// (`immutable-config` → `ImmutableConfig`) come from [`camel`].
pub mod reason {
    /// The resource breaks a rule (or does not fit its schema).
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// The link and its mirror topics match the resource.
    pub const APPLIED: &str = "Applied";
    /// The link is active and every mirror topic in its declared state.
    pub const MIRRORING: &str = "Mirroring";
    /// Ready again (the Event of a Ready condition that turns true).
    pub const READY: &str = "Ready";
    /// The link does not exist yet.
    pub const LINK_MISSING: &str = "LinkMissing";
    /// The whole link is paused.
    pub const LINK_PAUSED: &str = "LinkPaused";
    /// The link exists but is not active.
    pub const LINK_UNAVAILABLE: &str = "LinkUnavailable";
    /// A mirror topic failed, or cannot reach its declared state.
    pub const MIRROR_TOPICS_FAILED: &str = "MirrorTopicsFailed";
    /// A mirror topic is on its way to its declared state.
    pub const MIRROR_TOPICS_PENDING: &str = "MirrorTopicsPending";
    /// A declared mirror topic could not be created.
    pub const MIRROR_TOPIC_CREATION_FAILED: &str = "MirrorTopicCreationFailed";
    /// A source-initiated link's OUTBOUND side waits for its INBOUND side (R5).
    pub const WAITING_FOR_INBOUND_LINK: &str = "WaitingForInboundLink";
    /// The link server (REST API) could not be reached; retried.
    pub const LINK_SERVER_UNAVAILABLE: &str = "LinkServerUnavailable";
    /// The link server refused a request.
    pub const LINK_SERVER_REJECTED: &str = "LinkServerRejected";
    /// The topic exists with the declared configs.
    pub const TOPIC_READY: &str = "TopicReady";
    /// The topic differs from the resource in a way the REST API cannot change.
    pub const TOPIC_DIFFERS: &str = "TopicDiffers";
    /// The link server refused a topic request.
    pub const TOPIC_REJECTED: &str = "TopicRejected";
    /// A KafkaRestClass the resource refers to does not exist.
    pub const KAFKA_REST_CLASS_NOT_FOUND: &str = "KafkaRestClassNotFound";
    /// Several KafkaRestClasses claim the Kafka cluster the resource refers to.
    pub const KAFKA_REST_CLASS_AMBIGUOUS: &str = "KafkaRestClassAmbiguous";
    /// No REST endpoint is given for a cluster whose REST API is needed.
    pub const NO_REST_ENDPOINT: &str = "NoRestEndpoint";
    /// A Secret (or one of its files) the resource needs is missing or malformed.
    pub const SECRET_NOT_READY: &str = "SecretNotReady";
    /// The resource asks for something clusterlink does not do.
    pub const UNSUPPORTED: &str = "Unsupported";
    /// The cluster a link dials has no `bootstrapEndpoint`, and none could be resolved.
    pub const BOOTSTRAP_ENDPOINT_UNRESOLVED: &str = "BootstrapEndpointUnresolved";
    /// A documentation placeholder (`<source-cluster-id>`) was treated as not given.
    pub const PLACEHOLDER_IGNORED: &str = "PlaceholderIgnored";
    /// A KafkaRestClass's settings do not make a usable client.
    pub const INVALID_REST_SETTINGS: &str = "InvalidRestSettings";
}

/// CamelCase of a kebab-case category (`immutable-config` → `ImmutableConfig`).
pub fn camel(category: &str) -> String {
    category
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Sets condition `type_` in `conditions`: `lastTransitionTime` changes only when the status
/// flips (or the condition is new); reason, message and `lastProbeTime` are always updated.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: bool,
    reason: &str,
    message: &str,
    now: &str,
) {
    let status = if status { "True" } else { "False" };
    match conditions
        .iter_mut()
        .find(|c| c.type_.as_deref() == Some(type_))
    {
        Some(c) => {
            if c.status.as_deref() != Some(status) {
                c.last_transition_time = Some(now.to_string());
            }
            c.status = Some(status.to_string());
            c.reason = Some(reason.to_string());
            c.message = Some(message.to_string());
            c.last_probe_time = Some(now.to_string());
        }
        None => conditions.push(Condition {
            last_probe_time: Some(now.to_string()),
            last_transition_time: Some(now.to_string()),
            message: Some(message.to_string()),
            reason: Some(reason.to_string()),
            status: Some(status.to_string()),
            type_: Some(type_.to_string()),
        }),
    }
}

/// A condition by type, for transition checks.
pub fn condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions
        .iter()
        .find(|c| c.type_.as_deref() == Some(type_))
}

/// Marks a resource that does not fit its kind's schema: `Ready` false, `InvalidSpec`.
pub fn mark_malformed(conditions: &mut Vec<Condition>, message: &str, now: &str) {
    set_condition(conditions, READY, false, reason::INVALID_SPEC, message, now);
}

/// The conditions of one pass over a resource, starting from those it showed.
#[derive(Clone, Debug)]
pub struct Conditions {
    list: Vec<Condition>,
    now: String,
}

impl Conditions {
    /// The resource's previous conditions, to be updated now.
    pub fn from_previous(previous: Option<Vec<Condition>>) -> Self {
        Conditions {
            list: previous.unwrap_or_default(),
            now: now_rfc3339(),
        }
    }

    /// The pass failed before it could judge the link: `Reconciled` and `Ready` both false,
    /// for the same reason.
    pub fn failed(&mut self, reason: &str, message: &str) {
        set_condition(
            &mut self.list,
            RECONCILED,
            false,
            reason,
            message,
            &self.now,
        );
        set_condition(&mut self.list, READY, false, reason, message, &self.now);
    }

    /// Sets `Ready`; true when its status flipped (or it is new).
    pub fn ready(&mut self, ready: bool, reason: &str, message: &str) -> bool {
        let before = condition(&self.list, READY).and_then(|c| c.status.clone());
        set_condition(&mut self.list, READY, ready, reason, message, &self.now);
        before.as_deref() != Some(if ready { "True" } else { "False" })
    }

    /// Sets `Reconciled`.
    pub fn reconciled(&mut self, ok: bool, reason: &str, message: &str) {
        set_condition(&mut self.list, RECONCILED, ok, reason, message, &self.now);
    }

    /// The conditions to write.
    pub fn into_vec(self) -> Vec<Condition> {
        self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_kept_unless_status_flips() {
        let mut c = Vec::new();
        set_condition(&mut c, READY, false, "LinkMissing", "a", "t1");
        set_condition(&mut c, READY, false, "MirrorTopicsPending", "b", "t2");
        assert_eq!(c[0].last_transition_time.as_deref(), Some("t1"));
        assert_eq!(c[0].reason.as_deref(), Some("MirrorTopicsPending"));
        assert_eq!(c[0].last_probe_time.as_deref(), Some("t2"));
        set_condition(&mut c, READY, true, "Mirroring", "c", "t3");
        assert_eq!(c[0].last_transition_time.as_deref(), Some("t3"));
        assert_eq!(c[0].status.as_deref(), Some("True"));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn camel_case_reasons() {
        assert_eq!(camel("immutable-config"), "ImmutableConfig");
        assert_eq!(camel("remote-not-observed"), "RemoteNotObserved");
    }
}
