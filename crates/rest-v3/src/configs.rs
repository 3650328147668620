//! Configs as requests carry them (`{"name", "value"}`, `configs:alter` batches) and the words
//! config responses share (`source`, synonyms). Link and topic config resources themselves are
//! in [`links`](crate::links) and [`topics`](crate::topics).

use serde::{Deserialize, Serialize};

use crate::words::words;
use crate::Extensible;

/// One config of a create request (link, mirror or topic): `{"name", "value"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigData {
    /// The config's name.
    pub name: String,
    /// Its value (`null` is refused by the server: a create request sets values).
    #[serde(default)]
    pub value: Option<String>,
}

impl ConfigData {
    /// `name` set to `value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        ConfigData {
            name: name.into(),
            value: Some(value.into()),
        }
    }
}

/// The body of `PUT .../configs/{name}`: `{"value"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateConfigRequest {
    /// The new value (required; `Option` so that its absence gets its own error message).
    #[serde(default)]
    pub value: Option<String>,
}

/// The body of `.../configs:alter`: `{"data": [...]}`, for links and topics alike.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterConfigBatch {
    /// The changes, applied all or nothing.
    pub data: Vec<AlterConfigData>,
}

/// One change of a `configs:alter` batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterConfigData {
    /// The config.
    pub name: String,
    /// The value to set (`SET` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `SET` (the default) or `DELETE`, in any case; kept as sent so that an unknown operation
    /// gets its own error message (see [`ConfigOperation::of`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
}

impl AlterConfigData {
    /// Sets `name` to `value`.
    pub fn set(name: impl Into<String>, value: impl Into<String>) -> Self {
        AlterConfigData {
            name: name.into(),
            value: Some(value.into()),
            operation: None,
        }
    }

    /// Resets `name` to its default.
    pub fn delete(name: impl Into<String>) -> Self {
        AlterConfigData {
            name: name.into(),
            value: None,
            operation: Some(ConfigOperation::Delete.as_str().to_owned()),
        }
    }
}

words! {
    /// What a `configs:alter` change does.
    pub enum ConfigOperation {
        /// Set a value.
        Set = "SET",
        /// Back to the default.
        Delete = "DELETE",
    }
}

impl ConfigOperation {
    /// The operation a change names: none is `SET`; names are case-insensitive. `Err` carries
    /// a name that is no operation, upper-cased.
    pub fn of(change: &AlterConfigData) -> Result<Self, String> {
        match &change.operation {
            None => Ok(ConfigOperation::Set),
            Some(op) => {
                let op = op.to_ascii_uppercase();
                ConfigOperation::parse(&op).ok_or(op)
            }
        }
    }
}

words! {
    /// Where a config's value comes from (`source`).
    pub enum ConfigSource {
        /// Set on the cluster link.
        DynamicClusterLinkConfig = "DYNAMIC_CLUSTER_LINK_CONFIG",
        /// Set on the topic.
        DynamicTopicConfig = "DYNAMIC_TOPIC_CONFIG",
        /// Set on one broker, dynamically.
        DynamicBrokerConfig = "DYNAMIC_BROKER_CONFIG",
        /// Set on all brokers, dynamically.
        DynamicDefaultBrokerConfig = "DYNAMIC_DEFAULT_BROKER_CONFIG",
        /// In the broker's properties file.
        StaticBrokerConfig = "STATIC_BROKER_CONFIG",
        /// Kafka's default.
        DefaultConfig = "DEFAULT_CONFIG",
        /// A broker logger's level.
        DynamicBrokerLoggerConfig = "DYNAMIC_BROKER_LOGGER_CONFIG",
        /// The broker did not say.
        Unknown = "UNKNOWN",
    }
}

/// One of a topic config's synonyms: the same setting at another level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigSynonym {
    /// The config name at that level.
    pub name: String,
    /// Its value there (`null` when sensitive).
    pub value: Option<String>,
    /// The level.
    pub source: Extensible<ConfigSource>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alter_changes_are_written_as_confluent_reads_them() {
        let set = serde_json::to_value(AlterConfigData::set("a", "1")).unwrap();
        assert_eq!(set, serde_json::json!({"name": "a", "value": "1"}));
        let delete = serde_json::to_value(AlterConfigData::delete("a")).unwrap();
        assert_eq!(
            delete,
            serde_json::json!({"name": "a", "operation": "DELETE"})
        );
        let lower: AlterConfigData =
            serde_json::from_str(r#"{"name": "a", "operation": "delete"}"#).unwrap();
        assert_eq!(ConfigOperation::of(&lower), Ok(ConfigOperation::Delete));
        let odd: AlterConfigData =
            serde_json::from_str(r#"{"name": "a", "operation": "append"}"#).unwrap();
        assert_eq!(ConfigOperation::of(&odd), Err("APPEND".into()));
    }
}
