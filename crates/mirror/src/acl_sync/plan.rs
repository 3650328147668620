//! What one round of ACL sync changes on the destination, decided from three sets alone: the
//! source's ACLs that the filters select (wanted), the destination's ACLs, and the ACLs this
//! link created on the destination and still answers for (owned).
//!
//! - a wanted ACL missing on the destination is created (and owned once created);
//! - an owned ACL no longer wanted (removed at the source, or no longer selected by the
//!   filters) is deleted from the destination;
//! - an owned ACL already gone from the destination is forgotten;
//! - an ACL the link did not create is never deleted, even when it equals a wanted one that
//!   disappears from the source: the destination's own ACLs are not the link's business.

use std::collections::BTreeSet;

use clusterlink_kafka::client::AclBinding;

/// The changes of one round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclPlan {
    /// To create on the destination.
    pub create: Vec<AclBinding>,
    /// To delete from the destination (each one the link created).
    pub delete: Vec<AclBinding>,
    /// Owned ACLs someone else already deleted from the destination: to forget.
    pub forget: Vec<AclBinding>,
}

impl AclPlan {
    /// Whether the round changes nothing.
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.delete.is_empty() && self.forget.is_empty()
    }
}

/// The plan for `wanted` (the selected source ACLs), `destination` (every ACL there) and
/// `owned` (the ones this link created).
pub fn plan(
    wanted: &BTreeSet<AclBinding>,
    destination: &BTreeSet<AclBinding>,
    owned: &BTreeSet<AclBinding>,
) -> AclPlan {
    let create = wanted.difference(destination).cloned().collect();
    let (delete, forget) = owned
        .difference(wanted)
        .cloned()
        .partition(|a| destination.contains(a));
    AclPlan {
        create,
        delete,
        forget,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clusterlink_kafka::client::{AclOperation, AclPermission, PatternType, ResourceType};

    fn read(principal: &str, topic: &str) -> AclBinding {
        AclBinding {
            resource_type: ResourceType::Topic,
            resource_name: topic.into(),
            pattern_type: PatternType::Literal,
            principal: principal.into(),
            host: "*".into(),
            operation: AclOperation::Read,
            permission: AclPermission::Allow,
        }
    }

    fn set(acls: &[&AclBinding]) -> BTreeSet<AclBinding> {
        acls.iter().map(|a| (*a).clone()).collect()
    }

    #[test]
    fn wanted_acls_missing_on_the_destination_are_created() {
        let (a, b) = (read("User:a", "t"), read("User:b", "t"));
        let p = plan(&set(&[&a, &b]), &set(&[&b]), &set(&[]));
        assert_eq!(p.create, [a]);
        assert!(p.delete.is_empty() && p.forget.is_empty());
    }

    #[test]
    fn only_owned_acls_gone_from_the_source_are_deleted() {
        let (ours, theirs) = (read("User:a", "t"), read("User:hand", "t"));
        // Both on the destination, neither wanted any more: only the link's own goes.
        let p = plan(&set(&[]), &set(&[&ours, &theirs]), &set(&[&ours]));
        assert_eq!(p.delete, std::slice::from_ref(&ours));
        assert!(p.create.is_empty() && p.forget.is_empty());
        // Still wanted: kept.
        let p = plan(&set(&[&ours]), &set(&[&ours, &theirs]), &set(&[&ours]));
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn an_acl_equal_to_a_wanted_one_but_made_by_hand_is_neither_owned_nor_deleted() {
        let a = read("User:a", "t");
        // Already on the destination when the source gets it: nothing to create...
        assert!(plan(&set(&[&a]), &set(&[&a]), &set(&[])).is_empty());
        // ...and when the source drops it, the link does not own it: it stays.
        assert!(plan(&set(&[]), &set(&[&a]), &set(&[])).is_empty());
    }

    #[test]
    fn owned_acls_deleted_by_someone_else_are_recreated_while_wanted_and_forgotten_after() {
        let a = read("User:a", "t");
        let p = plan(&set(&[&a]), &set(&[]), &set(&[&a]));
        assert_eq!(p.create, std::slice::from_ref(&a));
        let p = plan(&set(&[]), &set(&[]), &set(&[&a]));
        assert_eq!(p.forget, [a]);
        assert!(p.create.is_empty() && p.delete.is_empty());
    }
}
