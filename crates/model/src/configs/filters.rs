//! The JSON the broker expects in the filter configs (`auto.create.mirror.topics.filters`,
//! `consumer.offset.group.filters`, `acl.filters`), from CFK's filter fields.

use serde_json::{json, Value};

use crate::cluster_link::{
    AclFilter, AclPatternType, AclPermissionType, AclResourceType, FilterPatternType, FilterSpec,
    FilterType,
};

/// `{"topicFilters": [...]}`.
pub(super) fn topic_filters(filters: &[FilterSpec]) -> String {
    json!({ "topicFilters": filters.iter().map(filter_json).collect::<Vec<_>>() }).to_string()
}

/// `{"groupFilters": [...]}`.
pub(super) fn group_filters(filters: &[FilterSpec]) -> String {
    json!({ "groupFilters": filters.iter().map(filter_json).collect::<Vec<_>>() }).to_string()
}

/// `{"aclFilters": [...]}`, with CFK's defaults (`*`) for absent names, principals and hosts.
pub(super) fn acl_filters(filters: &[AclFilter]) -> String {
    let acl: Vec<_> = filters
        .iter()
        .map(|f| {
            let r = &f.resource_filter;
            let a = &f.access_filter;
            json!({
                "resourceFilter": {
                    "resourceType": resource_type(r.resource_type),
                    "name": r.name.as_deref().unwrap_or("*"),
                    "patternType": pattern_type(r.pattern_type),
                },
                "accessFilter": {
                    "principal": a.principal.as_deref().unwrap_or("*"),
                    "host": a.host.as_deref().unwrap_or("*"),
                    "operation": a.operation,
                    "permissionType": permission_type(a.permission_type),
                }
            })
        })
        .collect();
    json!({ "aclFilters": acl }).to_string()
}

fn filter_json(f: &FilterSpec) -> Value {
    json!({
        "name": f.name,
        "patternType": match f.pattern_type { FilterPatternType::Prefixed => "PREFIXED", FilterPatternType::Literal => "LITERAL" },
        "filterType": match f.filter_type { FilterType::Include => "INCLUDE", FilterType::Exclude => "EXCLUDE" },
    })
}

fn resource_type(t: AclResourceType) -> &'static str {
    match t {
        AclResourceType::Any => "any",
        AclResourceType::Cluster => "cluster",
        AclResourceType::Group => "group",
        AclResourceType::Topic => "topic",
        // CFK's schema spells it `transcationId`; the broker needs the real name.
        AclResourceType::TransactionalId => "transactionalId",
        AclResourceType::DelegationToken => "delegationToken",
    }
}

fn pattern_type(t: AclPatternType) -> &'static str {
    match t {
        AclPatternType::Prefixed => "prefixed",
        AclPatternType::Literal => "literal",
        AclPatternType::Any => "any",
        AclPatternType::Match => "match",
    }
}

fn permission_type(t: AclPermissionType) -> &'static str {
    match t {
        AclPermissionType::Any => "any",
        AclPermissionType::Allow => "allow",
        AclPermissionType::Deny => "deny",
    }
}
