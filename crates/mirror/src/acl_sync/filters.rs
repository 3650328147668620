//! `acl.filters`: which of the source's ACLs a link copies, in Confluent's JSON
//! (`{"aclFilters": [{"resourceFilter": {"resourceType", "name", "patternType"},
//! "accessFilter": {"principal", "host", "operation", "permissionType"}}]}`), each filter read as
//! Kafka's `AclBindingFilter` and matched as Kafka matches one.
//!
//! As Confluent's brokers check it: `aclFilters` must not be empty, and `resourceType`,
//! `patternType`, `operation` and `permissionType` are required and must name Kafka values
//! (in any case, `describeConfigs` or `DESCRIBE_CONFIGS`). `name`, `principal` and `host` may be
//! absent: any. clusterlink also reads `*` in them as "any": CFK writes `*` for every field its
//! `aclFilters` leave out, meaning all of them, and no principal is `*` (Kafka's wildcard
//! principal is `User:*`). A filter with the name `*` therefore also selects ACLs on named
//! resources, not only those on the wildcard resource.

use clusterlink_kafka::client::{
    AclBinding, AclBindingFilter, AclOperation, AclPermission, PatternType, ResourceType,
};
use serde_json::Value;

/// Parsed `acl.filters`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclFilters {
    filters: Vec<AclBindingFilter>,
}

impl AclFilters {
    /// Parses `acl.filters`, with the broker's checks (the message says what is wrong).
    pub fn parse(json: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        let list = v
            .get("aclFilters")
            .and_then(Value::as_array)
            .ok_or("expected {\"aclFilters\": [...]}")?;
        if list.is_empty() {
            return Err("aclFilters field cannot be empty".into());
        }
        let filters = list
            .iter()
            .enumerate()
            .map(|(i, f)| filter(f).map_err(|e| format!("aclFilters[{i}]: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(AclFilters { filters })
    }

    /// The filters, as Kafka's.
    pub fn filters(&self) -> &[AclBindingFilter] {
        &self.filters
    }

    /// Whether any filter selects `acl`.
    pub fn selects(&self, acl: &AclBinding) -> bool {
        self.filters.iter().any(|f| matches(f, acl))
    }
}

fn filter(f: &Value) -> Result<AclBindingFilter, String> {
    let resource = f
        .get("resourceFilter")
        .ok_or("resourceFilter is required")?;
    let access = f.get("accessFilter").ok_or("accessFilter is required")?;
    let resource_type = required(resource, "resourceType", ResourceType::parse)?;
    let pattern_type = required(resource, "patternType", PatternType::parse)?;
    let operation = required(access, "operation", AclOperation::parse)?;
    let permission = required(access, "permissionType", AclPermission::parse)?;
    let principal = optional(access, "principal")?;
    if let Some(p) = &principal {
        if !p.contains(':') {
            return Err(format!("principal '{p}' is not <type>:<name>"));
        }
    }
    Ok(AclBindingFilter {
        resource_type,
        resource_name: optional(resource, "name")?,
        pattern_type,
        principal,
        host: optional(access, "host")?,
        operation,
        permission,
    })
}

fn required<T>(obj: &Value, field: &str, parse: fn(&str) -> Option<T>) -> Result<T, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(format!("{field} field may not be null.")),
        Some(Value::String(s)) if s.is_empty() => Err(format!("{field} field may not be empty.")),
        Some(Value::String(s)) => parse(s).ok_or_else(|| format!("Unknown {field}: {s}")),
        Some(other) => Err(format!("{field} must be a string, not {other}")),
    }
}

/// An optional name, principal or host: absent, null and `*` are any.
fn optional(obj: &Value, field: &str) -> Result<Option<String>, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "*" => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{field} must be a string, not {other}")),
    }
}

/// Whether `f` matches `acl`, as Kafka's `AclBindingFilter.matches` decides (resource pattern
/// filter, then access control entry filter).
pub fn matches(f: &AclBindingFilter, acl: &AclBinding) -> bool {
    resource_matches(f, acl) && entry_matches(f, acl)
}

fn resource_matches(f: &AclBindingFilter, acl: &AclBinding) -> bool {
    if f.resource_type != ResourceType::Any && f.resource_type != acl.resource_type {
        return false;
    }
    if !matches!(f.pattern_type, PatternType::Any | PatternType::Match)
        && f.pattern_type != acl.pattern_type
    {
        return false;
    }
    let Some(name) = &f.resource_name else {
        return true;
    };
    if f.pattern_type == PatternType::Any || f.pattern_type == acl.pattern_type {
        return *name == acl.resource_name;
    }
    // MATCH: every ACL that applies to the resource `name`.
    match acl.pattern_type {
        PatternType::Literal => *name == acl.resource_name || acl.resource_name == "*",
        PatternType::Prefixed => name.starts_with(&acl.resource_name),
        _ => false,
    }
}

fn entry_matches(f: &AclBindingFilter, acl: &AclBinding) -> bool {
    f.principal.as_ref().is_none_or(|p| *p == acl.principal)
        && f.host.as_ref().is_none_or(|h| *h == acl.host)
        && (f.operation == AclOperation::Any || f.operation == acl.operation)
        && (f.permission == AclPermission::Any || f.permission == acl.permission)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn acl(
        resource_type: ResourceType,
        name: &str,
        pattern_type: PatternType,
        principal: &str,
        operation: AclOperation,
    ) -> AclBinding {
        AclBinding {
            resource_type,
            resource_name: name.into(),
            pattern_type,
            principal: principal.into(),
            host: "*".into(),
            operation,
            permission: AclPermission::Allow,
        }
    }

    fn one(resource: &str, access: &str) -> AclFilters {
        AclFilters::parse(&format!(
            r#"{{"aclFilters": [{{"resourceFilter": {resource}, "accessFilter": {access}}}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn confluent_example_and_the_brokers_checks() {
        let f = AclFilters::parse(
            r#"{"aclFilters":[{"resourceFilter":{"resourceType":"topic","name":"foo","patternType":"prefixed"},
                "accessFilter":{"principal":"User:Bob","host":"*","operation":"describeConfigs","permissionType":"allow"}}]}"#,
        )
        .unwrap();
        assert_eq!(
            f.filters(),
            [AclBindingFilter {
                resource_type: ResourceType::Topic,
                resource_name: Some("foo".into()),
                pattern_type: PatternType::Prefixed,
                principal: Some("User:Bob".into()),
                host: None,
                operation: AclOperation::DescribeConfigs,
                permission: AclPermission::Allow,
            }]
        );
        for (json, why) in [
            (r#"{"aclFilters": []}"#, "cannot be empty"),
            (r#"{"groupFilters": []}"#, "aclFilters"),
            (
                r#"{"aclFilters": [{"resourceFilter": {"patternType": "any"}, "accessFilter": {"operation": "any", "permissionType": "any"}}]}"#,
                "resourceType field may not be null",
            ),
            (
                r#"{"aclFilters": [{"resourceFilter": {"resourceType": "topik", "patternType": "any"}, "accessFilter": {"operation": "any", "permissionType": "any"}}]}"#,
                "Unknown resourceType: topik",
            ),
            (
                r#"{"aclFilters": [{"resourceFilter": {"resourceType": "any", "patternType": "any"}, "accessFilter": {"operation": "", "permissionType": "any"}}]}"#,
                "operation field may not be empty",
            ),
            (
                r#"{"aclFilters": [{"resourceFilter": {"resourceType": "any", "patternType": "any"}, "accessFilter": {"principal": "bob", "operation": "any", "permissionType": "any"}}]}"#,
                "not <type>:<name>",
            ),
            (
                r#"{"aclFilters": [{"resourceFilter": {"resourceType": "any", "patternType": "any"}}]}"#,
                "accessFilter is required",
            ),
            ("{not json", "not JSON"),
        ] {
            let e = AclFilters::parse(json).unwrap_err();
            assert!(e.contains(why), "{json}: {e}");
        }
    }

    #[test]
    fn filters_match_as_kafka_matches_them() {
        use AclOperation::*;
        use PatternType::*;
        use ResourceType::*;
        let orders = acl(Topic, "orders", Literal, "User:reader", Read);
        let any_topic = acl(Topic, "*", Literal, "User:reader", Read);
        let ord_prefix = acl(Topic, "ord", Prefixed, "User:reader", Read);
        let group = acl(Group, "app-", Prefixed, "User:reader", Read);
        let write = acl(Topic, "orders", Literal, "User:writer", Write);

        // Everything.
        let all = one(
            r#"{"resourceType": "any", "patternType": "any"}"#,
            r#"{"operation": "any", "permissionType": "any"}"#,
        );
        for a in [&orders, &any_topic, &ord_prefix, &group, &write] {
            assert!(all.selects(a), "{a}");
        }
        // CFK's defaults (`*` everywhere) are "any" too.
        let cfk = one(
            r#"{"resourceType": "topic", "name": "*", "patternType": "any"}"#,
            r#"{"principal": "*", "host": "*", "operation": "any", "permissionType": "any"}"#,
        );
        assert!(cfk.selects(&orders) && cfk.selects(&write) && !cfk.selects(&group));
        // What the operator writes for CFK's `aclFilters` (crates/model, configs/filters.rs).
        let operator = AclFilters::parse(
            r#"{"aclFilters": [{
                "resourceFilter": {"resourceType": "transactionalId", "name": "*", "patternType": "prefixed"},
                "accessFilter": {"principal": "User:Bob", "host": "*", "operation": "describeConfigs", "permissionType": "allow"}}]}"#,
        )
        .unwrap();
        let mut bob = acl(
            TransactionalId,
            "tx-",
            Prefixed,
            "User:Bob",
            DescribeConfigs,
        );
        bob.host = "*".into();
        assert!(operator.selects(&bob));
        assert!(!operator.selects(&acl(
            TransactionalId,
            "tx",
            Literal,
            "User:Bob",
            DescribeConfigs
        )));
        // LITERAL name: only ACLs on exactly that name and pattern type.
        let literal = one(
            r#"{"resourceType": "topic", "name": "orders", "patternType": "literal"}"#,
            r#"{"operation": "any", "permissionType": "allow"}"#,
        );
        assert!(literal.selects(&orders) && literal.selects(&write));
        assert!(!literal.selects(&any_topic) && !literal.selects(&ord_prefix));
        // MATCH: every ACL that applies to the topic `orders`: literal, wildcard, prefixes.
        let applies = one(
            r#"{"resourceType": "topic", "name": "orders", "patternType": "match"}"#,
            r#"{"principal": "User:reader", "operation": "read", "permissionType": "any"}"#,
        );
        assert!(applies.selects(&orders) && applies.selects(&any_topic));
        assert!(applies.selects(&ord_prefix));
        assert!(!applies.selects(&write), "another principal");
        assert!(!applies.selects(&group), "another resource type");
        // PREFIXED name: the ACLs whose own pattern is that prefix, not every name under it.
        let prefixed = one(
            r#"{"resourceType": "group", "name": "app-", "patternType": "prefixed"}"#,
            r#"{"operation": "read", "permissionType": "allow"}"#,
        );
        assert!(prefixed.selects(&group));
        assert!(!prefixed.selects(&acl(Group, "app-1", Literal, "User:reader", Read)));
        // Permission and host.
        let deny = one(
            r#"{"resourceType": "any", "patternType": "any"}"#,
            r#"{"host": "10.0.0.1", "operation": "any", "permissionType": "deny"}"#,
        );
        assert!(!deny.selects(&orders));
        let mut denied = orders.clone();
        denied.permission = AclPermission::Deny;
        denied.host = "10.0.0.1".into();
        assert!(deny.selects(&denied));
    }
}
