//! Names: Kubernetes name rules, Kafka topic name rules, and the name of the `KafkaTopic` that
//! takes over a promoted mirror topic.
//!
//! These are plain functions over strings so that validation, the operator and the tests share
//! one definition of each rule.

/// Longest Kafka topic name the brokers accept (CFK's schema allows 255; Kafka refuses over 249).
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// Whether `s` is a DNS-1123 label: 1 to 63 of `[a-z0-9-]`, starting and ending alphanumeric.
/// Secret names referenced by `secretRef` and namespaces must be labels.
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Whether `s` is a DNS-1123 subdomain: at most 253 characters of dot-separated labels. Names
/// of most Kubernetes objects, custom resources included, must be subdomains.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

/// Whether `s` uses only the characters Kafka allows in topic names (`[a-zA-Z0-9._-]`).
pub fn has_topic_name_chars(s: &str) -> bool {
    s.bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// Why `name` is not a valid Kafka topic (or link) name, if it is not.
pub fn topic_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("must not be empty")
    } else if !has_topic_name_chars(name) {
        Some("may only contain ASCII letters, digits, '.', '_' and '-'")
    } else if name == "." || name == ".." {
        Some("must not be '.' or '..'")
    } else {
        None
    }
}

/// The name of the `KafkaTopic` resource created when mirror topic `topic` of the ClusterLink
/// with UID `uid` is promoted or failed over (CFK's rule):
/// `clink-<lowercase topic>-<first section of the UID>`, cut to 63 characters.
///
/// CFK's rule alone can give invalid names, since topic names may contain `_` and need not
/// start or end like a DNS label; so `_` becomes `-`, any dot that would start or end a label
/// becomes `-`, and the end is trimmed to an alphanumeric character. Names that CFK's rule makes
/// valid are left exactly as CFK makes them, so resources created by CFK are found again.
///
/// Like CFK's, the cut can make two long topic names that share their first 57 characters map to
/// the same resource name; callers should check `spec.name` of an existing resource.
pub fn promoted_topic_resource_name(topic: &str, uid: &str) -> String {
    let uid_section = uid
        .split('-')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let raw = if uid_section.is_empty() {
        format!("clink-{}", topic.to_ascii_lowercase())
    } else {
        format!("clink-{}-{uid_section}", topic.to_ascii_lowercase())
    };
    let mut chars: Vec<u8> = raw
        .bytes()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' {
                c
            } else {
                b'-'
            }
        })
        .collect();
    // A dot must sit between two alphanumerics (labels start and end alphanumeric).
    for i in 0..chars.len() {
        if chars[i] == b'.' {
            let before = i.checked_sub(1).map(|j| chars[j]);
            let after = chars.get(i + 1).copied();
            let ok = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_alphanumeric());
            if !ok(before) || !ok(after) {
                chars[i] = b'-';
            }
        }
    }
    chars.truncate(63);
    while chars.last().is_some_and(|c| !c.is_ascii_alphanumeric()) {
        chars.pop();
    }
    // Only ASCII bytes were kept, so this cannot fail.
    String::from_utf8(chars).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cfk_page_example() {
        let uid = "0154a475-6bd4-4c3c-9e0b-1a2b3c4d5e6f";
        assert_eq!(
            promoted_topic_resource_name("myMirrorTopic", uid),
            "clink-mymirrortopic-0154a475"
        );
    }

    #[test]
    fn underscores_and_misplaced_dots_become_dashes() {
        let uid = "5ede0ef2-aaaa";
        assert_eq!(
            promoted_topic_resource_name("orders_v1", uid),
            "clink-orders-v1-5ede0ef2"
        );
        assert_eq!(
            promoted_topic_resource_name("a.b", uid),
            "clink-a.b-5ede0ef2"
        );
        assert_eq!(
            promoted_topic_resource_name("a._b", uid),
            "clink-a--b-5ede0ef2"
        );
        assert_eq!(
            promoted_topic_resource_name(".x.", uid),
            "clink--x--5ede0ef2"
        );
        assert_eq!(promoted_topic_resource_name("..", uid), "clink----5ede0ef2");
    }

    #[test]
    fn long_names_are_cut_to_63_and_stay_valid() {
        let uid = "0154a475-6bd4";
        let name = promoted_topic_resource_name(&"T".repeat(200), uid);
        assert_eq!(name.len(), 63);
        assert_eq!(name, format!("clink-{}", "t".repeat(57)));
        // A cut that lands on a dash or dot is trimmed back to an alphanumeric.
        let topic = format!("{}_x", "a".repeat(56));
        let name = promoted_topic_resource_name(&topic, uid);
        assert_eq!(name, format!("clink-{}", "a".repeat(56)));
        let topic = format!("{}.x", "a".repeat(56));
        assert_eq!(
            promoted_topic_resource_name(&topic, uid),
            format!("clink-{}", "a".repeat(56))
        );
    }

    #[test]
    fn every_topic_name_gives_a_valid_resource_name() {
        let alphabet = ['a', 'Z', '0', '.', '_', '-'];
        // All names of up to 4 characters from a representative alphabet, plus long ones.
        let mut names = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = names
                .iter()
                .flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}")))
                .collect();
            names.extend(longer);
        }
        names.push("x".repeat(249));
        names.push(format!("{}.{}", "y".repeat(56), "z".repeat(100)));
        for topic in names {
            for uid in ["0154a475-6bd4", "", "ABCDEF12-x"] {
                let name = promoted_topic_resource_name(&topic, uid);
                assert!(is_dns1123_subdomain(&name), "{topic:?} {uid:?} -> {name:?}");
                assert!(name.len() <= 63 && name.starts_with("clink"), "{name}");
            }
        }
    }

    #[test]
    fn kubernetes_name_rules() {
        assert!(
            is_dns1123_label("a") && is_dns1123_label("a-1") && is_dns1123_label(&"a".repeat(63))
        );
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", &"a".repeat(64)] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
        assert!(is_dns1123_subdomain("a.b-c.d"));
        for bad in ["", "a..b", ".a", "a.", "a.-b", "A.b"] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
    }

    #[test]
    fn topic_name_rules() {
        assert_eq!(topic_name_problem("orders.v1_x-2"), None);
        assert!(topic_name_problem("").is_some());
        assert!(topic_name_problem("a/b").is_some());
        assert!(topic_name_problem("..").is_some());
        assert!(topic_name_problem("é").is_some());
    }
}
