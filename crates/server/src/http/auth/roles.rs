//! Who may do what: three roles, each allowing what the one before does and more.
//!
//! - `viewer`: reads (GET) only;
//! - `operator`: also changes links, their configs and their mirrors (create, alter, delete,
//!   promote, fail over...);
//! - `admin`: also changes topics (create, delete, configs), which can destroy data that no link
//!   owns.
//!
//! The roles file is YAML, a role to the principals that have it (`"*"`: every authenticated
//! principal), e.g. `viewer: ["*"]` and `admin: [alice]`. A principal named under several roles
//! has the highest.

use std::collections::HashMap;
use std::path::Path;

use axum::http::Method;

use super::AuthConfigError;

/// A role, in increasing power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads only.
    Viewer,
    /// Links, link configs and mirrors too.
    Operator,
    /// Topics too.
    Admin,
}

impl Role {
    /// Its name in the roles file.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

/// Principals and their roles.
#[derive(Debug, Clone, Default)]
pub struct RoleTable {
    principals: HashMap<String, Role>,
    everyone: Option<Role>,
}

impl RoleTable {
    /// Reads a roles file.
    pub fn load(path: &Path) -> Result<Self, AuthConfigError> {
        super::load(path, Self::parse)
    }

    /// Parses the YAML of a roles file.
    pub fn parse(yaml: &str) -> Result<Self, String> {
        let doc: HashMap<Role, Option<Vec<String>>> = serde_norway::from_str(yaml)
            .map_err(|e| format!("expected viewer, operator, admin: [principals]: {e}"))?;
        let mut table = RoleTable::default();
        for (role, principals) in doc {
            for p in principals.unwrap_or_default() {
                if p == "*" {
                    table.everyone = table.everyone.max(Some(role));
                } else {
                    let r = table.principals.entry(p).or_insert(role);
                    *r = (*r).max(role);
                }
            }
        }
        Ok(table)
    }

    /// The role of a principal, if it has one.
    pub fn role_of(&self, principal: &str) -> Option<Role> {
        self.principals.get(principal).copied().max(self.everyone)
    }
}

/// The role a request needs: reads need `viewer`; changes to topics `admin`; changes to links,
/// their configs and mirrors `operator`; any other change `admin`.
pub fn required(method: &Method, path: &str) -> Role {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Role::Viewer;
    }
    // `.../clusters/{id}/{resource}/...`
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let resource = segments
        .iter()
        .position(|s| *s == "clusters")
        .and_then(|i| segments.get(i + 2));
    match resource {
        Some(&"links") => Role::Operator,
        _ => Role::Admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_the_file_and_the_highest_wins() {
        let t = RoleTable::parse("viewer: [alice, '*']\noperator: [bob, alice]\nadmin: [carol]\n")
            .unwrap();
        assert_eq!(t.role_of("alice"), Some(Role::Operator));
        assert_eq!(t.role_of("bob"), Some(Role::Operator));
        assert_eq!(t.role_of("carol"), Some(Role::Admin));
        assert_eq!(t.role_of("someone"), Some(Role::Viewer));
        let t = RoleTable::parse("viewer: [alice]\nadmin:\n").unwrap();
        assert_eq!(t.role_of("alice"), Some(Role::Viewer));
        assert_eq!(t.role_of("bob"), None);
        assert!(RoleTable::parse("superuser: [alice]").is_err());
    }

    #[test]
    fn each_request_needs_its_role() {
        let c = "/kafka/v3/clusters/abc";
        assert_eq!(required(&Method::GET, &format!("{c}/topics")), Role::Viewer);
        assert_eq!(
            required(&Method::DELETE, &format!("{c}/links/east")),
            Role::Operator
        );
        assert_eq!(
            required(&Method::POST, &format!("{c}/links/east/mirrors:promote")),
            Role::Operator
        );
        assert_eq!(
            required(&Method::PUT, "/v3/clusters/abc/links/east/configs:alter"),
            Role::Operator
        );
        assert_eq!(
            required(&Method::DELETE, &format!("{c}/topics/orders")),
            Role::Admin
        );
        assert_eq!(
            required(&Method::POST, &format!("{c}/topics/links/configs:alter")),
            Role::Admin
        );
        assert_eq!(required(&Method::POST, "/elsewhere"), Role::Admin);
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
    }
}
