//! ACLs (DescribeAcls, CreateAcls, DeleteAcls) as typed bindings and filters, in Kafka's own
//! terms (`org.apache.kafka.common.acl`): a binding is a resource pattern (type, name, pattern
//! type) with an access control entry (principal, host, operation, permission); a filter is the
//! same with "any" allowed in every place, which the broker matches.
//!
//! The enums carry the protocol's codes and Kafka's names, and parse the spellings users write
//! (`describeConfigs`, `DESCRIBE_CONFIGS`, `transactionalId`), as Kafka's `SecurityUtils` does:
//! case and underscores do not matter.

use kafka_protocol::messages as m;
use kafka_protocol::protocol::StrBytes;

use super::handle::Client;
use crate::error::{Error, Result};

macro_rules! acl_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal, $text:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The protocol's code.
            pub fn code(self) -> i8 {
                match self { $($name::$variant => $code,)* }
            }

            /// The value of a protocol code (`None` for UNKNOWN and codes this client does not
            /// know).
            pub fn from_code(code: i8) -> Option<Self> {
                match code { $($code => Some($name::$variant),)* _ => None }
            }

            /// Kafka's name (`UPPER_SNAKE_CASE`).
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            /// Parses a name whatever its case and underscores (`describeConfigs`,
            /// `DESCRIBE_CONFIGS`).
            pub fn parse(s: &str) -> Option<Self> {
                let folded = fold(s);
                Self::ALL.iter().copied().find(|v| fold(v.name()) == folded)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

acl_enum! {
    /// What kind of resource an ACL is on (`ResourceType`).
    ResourceType {
        /// Any type (filters only).
        Any = 1, "ANY";
        /// A topic.
        Topic = 2, "TOPIC";
        /// A consumer group.
        Group = 3, "GROUP";
        /// The cluster.
        Cluster = 4, "CLUSTER";
        /// A transactional id.
        TransactionalId = 5, "TRANSACTIONAL_ID";
        /// A delegation token.
        DelegationToken = 6, "DELEGATION_TOKEN";
        /// A user (quotas, tokens).
        User = 7, "USER";
    }
}

acl_enum! {
    /// How an ACL's resource name is matched (`PatternType`).
    PatternType {
        /// Literal or prefixed, name compared exactly (filters only).
        Any = 1, "ANY";
        /// Every ACL that applies to the name: literal, wildcard and prefixes (filters only).
        Match = 2, "MATCH";
        /// The name itself (`*`: every resource of the type).
        Literal = 3, "LITERAL";
        /// Every name starting with it.
        Prefixed = 4, "PREFIXED";
    }
}

acl_enum! {
    /// What an ACL allows or denies (`AclOperation`).
    AclOperation {
        /// Any operation (filters only).
        Any = 1, "ANY";
        /// Every operation.
        All = 2, "ALL";
        /// Read.
        Read = 3, "READ";
        /// Write.
        Write = 4, "WRITE";
        /// Create.
        Create = 5, "CREATE";
        /// Delete.
        Delete = 6, "DELETE";
        /// Alter.
        Alter = 7, "ALTER";
        /// Describe.
        Describe = 8, "DESCRIBE";
        /// Inter-broker actions.
        ClusterAction = 9, "CLUSTER_ACTION";
        /// Describe configs.
        DescribeConfigs = 10, "DESCRIBE_CONFIGS";
        /// Alter configs.
        AlterConfigs = 11, "ALTER_CONFIGS";
        /// Idempotent writes.
        IdempotentWrite = 12, "IDEMPOTENT_WRITE";
        /// Create delegation tokens.
        CreateTokens = 13, "CREATE_TOKENS";
        /// Describe delegation tokens.
        DescribeTokens = 14, "DESCRIBE_TOKENS";
        /// Two-phase commit of transactions (KIP-939).
        TwoPhaseCommit = 15, "TWO_PHASE_COMMIT";
    }
}

acl_enum! {
    /// Whether an ACL allows or denies (`AclPermissionType`).
    AclPermission {
        /// Either (filters only).
        Any = 1, "ANY";
        /// Denies.
        Deny = 2, "DENY";
        /// Allows.
        Allow = 3, "ALLOW";
    }
}

/// One ACL (`AclBinding`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AclBinding {
    /// The resource's type.
    pub resource_type: ResourceType,
    /// The resource's name (or prefix).
    pub resource_name: String,
    /// Literal or prefixed.
    pub pattern_type: PatternType,
    /// Whom it is for (`User:alice`, `User:*`).
    pub principal: String,
    /// From where (`*`: anywhere).
    pub host: String,
    /// What it allows or denies.
    pub operation: AclOperation,
    /// Allows or denies.
    pub permission: AclPermission,
}

impl std::fmt::Display for AclBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} on {} {}:{} from {}",
            self.principal,
            self.permission,
            self.operation,
            self.resource_type,
            self.pattern_type,
            self.resource_name,
            self.host
        )
    }
}

/// A filter of ACLs (`AclBindingFilter`): `None` names, principals and hosts match any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclBindingFilter {
    /// The resource's type, or [`ResourceType::Any`].
    pub resource_type: ResourceType,
    /// The resource's name.
    pub resource_name: Option<String>,
    /// How the name matches ([`PatternType::Any`] and [`PatternType::Match`] included).
    pub pattern_type: PatternType,
    /// The principal.
    pub principal: Option<String>,
    /// The host.
    pub host: Option<String>,
    /// The operation, or [`AclOperation::Any`].
    pub operation: AclOperation,
    /// The permission, or [`AclPermission::Any`].
    pub permission: AclPermission,
}

impl AclBindingFilter {
    /// The filter that matches every ACL.
    pub fn any() -> Self {
        AclBindingFilter {
            resource_type: ResourceType::Any,
            resource_name: None,
            pattern_type: PatternType::Any,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission: AclPermission::Any,
        }
    }

    /// The filter that matches exactly `binding`.
    pub fn exact(binding: &AclBinding) -> Self {
        AclBindingFilter {
            resource_type: binding.resource_type,
            resource_name: Some(binding.resource_name.clone()),
            pattern_type: binding.pattern_type,
            principal: Some(binding.principal.clone()),
            host: Some(binding.host.clone()),
            operation: binding.operation,
            permission: binding.permission,
        }
    }
}

fn opt(s: &Option<String>) -> Option<StrBytes> {
    s.clone().map(StrBytes::from_string)
}

fn text(s: &StrBytes) -> String {
    s.as_str().to_owned()
}

/// A binding from a response's codes; an error for codes this client does not know (an ACL
/// it could not copy faithfully).
#[allow(clippy::too_many_arguments)]
fn binding(
    api: &str,
    resource_type: i8,
    resource_name: &StrBytes,
    pattern_type: i8,
    principal: &StrBytes,
    host: &StrBytes,
    operation: i8,
    permission: i8,
) -> Result<AclBinding> {
    let unknown = |what: &str, code: i8| Error::Protocol {
        broker: "any".into(),
        message: format!("{api}: unknown {what} code {code}"),
    };
    Ok(AclBinding {
        resource_type: ResourceType::from_code(resource_type)
            .ok_or_else(|| unknown("resource type", resource_type))?,
        resource_name: text(resource_name),
        pattern_type: PatternType::from_code(pattern_type)
            .ok_or_else(|| unknown("pattern type", pattern_type))?,
        principal: text(principal),
        host: text(host),
        operation: AclOperation::from_code(operation)
            .ok_or_else(|| unknown("operation", operation))?,
        permission: AclPermission::from_code(permission)
            .ok_or_else(|| unknown("permission type", permission))?,
    })
}

impl Client {
    /// DescribeAcls: the ACLs that match `filter`. Needs DESCRIBE on the cluster.
    pub async fn describe_acls(&self, filter: &AclBindingFilter) -> Result<Vec<AclBinding>> {
        let req = m::DescribeAclsRequest::default()
            .with_resource_type_filter(filter.resource_type.code())
            .with_resource_name_filter(opt(&filter.resource_name))
            .with_pattern_type_filter(filter.pattern_type.code())
            .with_principal_filter(opt(&filter.principal))
            .with_host_filter(opt(&filter.host))
            .with_operation(filter.operation.code())
            .with_permission_type(filter.permission.code());
        let resp = self
            .retry("DescribeAcls", || self.send_to_any(&req))
            .await?;
        Error::check(resp.error_code, resp.error_message.as_deref(), || {
            "DescribeAcls".into()
        })?;
        let mut out = Vec::new();
        for r in &resp.resources {
            for a in &r.acls {
                out.push(binding(
                    "DescribeAcls",
                    r.resource_type,
                    &r.resource_name,
                    r.pattern_type,
                    &a.principal,
                    &a.host,
                    a.operation,
                    a.permission_type,
                )?);
            }
        }
        Ok(out)
    }

    /// CreateAcls: one result per binding, in order (creating an ACL that exists succeeds).
    /// Needs ALTER on the cluster.
    pub async fn create_acls(&self, bindings: &[AclBinding]) -> Result<Vec<Result<()>>> {
        if bindings.is_empty() {
            return Ok(Vec::new());
        }
        let req = m::CreateAclsRequest::default().with_creations(
            bindings
                .iter()
                .map(|b| {
                    m::create_acls_request::AclCreation::default()
                        .with_resource_type(b.resource_type.code())
                        .with_resource_name(StrBytes::from_string(b.resource_name.clone()))
                        .with_resource_pattern_type(b.pattern_type.code())
                        .with_principal(StrBytes::from_string(b.principal.clone()))
                        .with_host(StrBytes::from_string(b.host.clone()))
                        .with_operation(b.operation.code())
                        .with_permission_type(b.permission.code())
                })
                .collect(),
        );
        let resp = self.retry("CreateAcls", || self.send_to_any(&req)).await?;
        if resp.results.len() != bindings.len() {
            return Err(Error::Protocol {
                broker: "any".into(),
                message: format!(
                    "CreateAcls: {} results for {} creations",
                    resp.results.len(),
                    bindings.len()
                ),
            });
        }
        Ok(resp
            .results
            .iter()
            .zip(bindings)
            .map(|(r, b)| {
                Error::check(r.error_code, r.error_message.as_deref(), || {
                    format!("CreateAcls {b}")
                })
            })
            .collect())
    }

    /// DeleteAcls: per filter, in order, the ACLs it deleted, or why it failed (a filter's
    /// error, or the first error of one of its ACLs). Needs ALTER on the cluster.
    pub async fn delete_acls(
        &self,
        filters: &[AclBindingFilter],
    ) -> Result<Vec<Result<Vec<AclBinding>>>> {
        if filters.is_empty() {
            return Ok(Vec::new());
        }
        let req = m::DeleteAclsRequest::default().with_filters(
            filters
                .iter()
                .map(|f| {
                    m::delete_acls_request::DeleteAclsFilter::default()
                        .with_resource_type_filter(f.resource_type.code())
                        .with_resource_name_filter(opt(&f.resource_name))
                        .with_pattern_type_filter(f.pattern_type.code())
                        .with_principal_filter(opt(&f.principal))
                        .with_host_filter(opt(&f.host))
                        .with_operation(f.operation.code())
                        .with_permission_type(f.permission.code())
                })
                .collect(),
        );
        let resp = self.retry("DeleteAcls", || self.send_to_any(&req)).await?;
        if resp.filter_results.len() != filters.len() {
            return Err(Error::Protocol {
                broker: "any".into(),
                message: format!(
                    "DeleteAcls: {} results for {} filters",
                    resp.filter_results.len(),
                    filters.len()
                ),
            });
        }
        Ok(resp
            .filter_results
            .iter()
            .map(|r| {
                Error::check(r.error_code, r.error_message.as_deref(), || {
                    "DeleteAcls".into()
                })?;
                r.matching_acls
                    .iter()
                    .map(|a| {
                        Error::check(a.error_code, a.error_message.as_deref(), || {
                            "DeleteAcls".into()
                        })?;
                        binding(
                            "DeleteAcls",
                            a.resource_type,
                            &a.resource_name,
                            a.pattern_type,
                            &a.principal,
                            &a.host,
                            a.operation,
                            a.permission_type,
                        )
                    })
                    .collect()
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_every_spelling_and_codes_round_trip() {
        assert_eq!(
            AclOperation::parse("describeConfigs"),
            Some(AclOperation::DescribeConfigs)
        );
        assert_eq!(
            AclOperation::parse("DESCRIBE_CONFIGS"),
            Some(AclOperation::DescribeConfigs)
        );
        assert_eq!(
            ResourceType::parse("transactionalId"),
            Some(ResourceType::TransactionalId)
        );
        assert_eq!(PatternType::parse("prefixed"), Some(PatternType::Prefixed));
        assert_eq!(AclPermission::parse("allow"), Some(AclPermission::Allow));
        assert_eq!(AclOperation::parse("frobnicate"), None);
        assert_eq!(ResourceType::from_code(0), None, "UNKNOWN is no value");
        for op in AclOperation::ALL {
            assert_eq!(AclOperation::from_code(op.code()), Some(*op));
        }
        for t in ResourceType::ALL {
            assert_eq!(ResourceType::from_code(t.code()), Some(*t));
        }
    }
}
