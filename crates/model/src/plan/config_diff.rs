//! The link configs to set and to reset on an existing link: declared values that differ from
//! the link's, and configs the link has that the resource no longer declares. Configs that
//! cannot change on an existing link are reported, not altered. A change of where or how the
//! link connects carries the link's secrets again: the link server refuses one without them, so
//! that stored credentials never follow a new address nobody vouched for.

use clusterlink_rest_v3::link_config as name;

use crate::configs::LinkConfigs;
use crate::topology::{BrokerConnectionMode, BrokerLinkMode};

use super::actions::{Action, Plan, Problem};
use super::observed::ObservedLink;

/// Configs that cannot be changed on an existing link.
pub const IMMUTABLE_CONFIGS: [&str; 3] = [
    name::LINK_MODE,
    name::CONNECTION_MODE,
    name::CLUSTER_LINK_PREFIX,
];

/// Read-only configs the broker sets itself; never deleted or compared.
const BROKER_OWNED: [&str; 2] = [name::DEST_CLUSTER_ID, name::CLUSTER_LINK_ID];

/// Adds the [`Action::AlterConfigs`] that brings `link`'s configs to `desired` (if any), and a
/// [`Problem::ImmutableConfig`] for each config that would have to change and cannot.
pub(super) fn alter_configs(
    p: &mut Plan,
    desired: &LinkConfigs,
    link: &ObservedLink,
    reapply_sensitive: bool,
) {
    let mut set = LinkConfigs::new();
    for (name, value) in desired {
        if BROKER_OWNED.contains(&name.as_str()) {
            continue;
        }
        let observed = link.configs.get(name);
        let same = match observed {
            Some(Some(v)) => v == value.expose(),
            // Hidden on the link: assume unchanged unless asked to re-apply.
            Some(None) => value.is_sensitive() && !reapply_sensitive,
            // Not set on the link: the broker's default applies.
            None => broker_default(name) == Some(value.expose()),
        };
        if same {
            continue;
        }
        if IMMUTABLE_CONFIGS.contains(&name.as_str()) {
            p.problems.push(Problem::ImmutableConfig {
                name: name.clone(),
                observed: observed.cloned().flatten(),
                desired: value.expose().to_string(),
            });
            continue;
        }
        set.insert(name.clone(), value.clone());
    }
    let delete: Vec<String> = link
        .configs
        .keys()
        .filter(|k| {
            !desired.contains_key(*k)
                && !BROKER_OWNED.contains(&k.as_str())
                && !IMMUTABLE_CONFIGS.contains(&k.as_str())
        })
        .cloned()
        .collect();
    if set
        .keys()
        .chain(&delete)
        .any(|k| name::retargets_connection(k))
    {
        for (name, value) in desired {
            if value.is_sensitive() || name::is_sensitive(name) {
                set.entry(name.clone()).or_insert_with(|| value.clone());
            }
        }
    }
    if !set.is_empty() || !delete.is_empty() {
        p.actions.push(Action::AlterConfigs { set, delete });
    }
}

/// The value a broker gives a config the link does not set, where it matters for the diff.
fn broker_default(config: &str) -> Option<&'static str> {
    match config {
        name::LINK_MODE => Some(BrokerLinkMode::Destination.as_config()),
        name::CONNECTION_MODE => Some(BrokerConnectionMode::Outbound.as_config()),
        _ => None,
    }
}
