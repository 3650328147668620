//! Documentation placeholders: a value in angle brackets (`clusterID: <source-cluster-id>`, as
//! the CFK page writes it) stands for something the reader was meant to fill in. Manifests are
//! run as written (R1, R4), so such a value is treated as not given, and the product finds what
//! it stands for the way it does when the field is absent (the cluster id from the cluster's
//! REST API); the status and Events say so once.

/// Whether `value` is a documentation placeholder: `<` … `>` around at least one character.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.len() > 2 && v.starts_with('<') && v.ends_with('>')
}

/// A field whose value was a placeholder, and so was ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoredPlaceholder {
    /// The field, e.g. `spec.sourceKafkaCluster.clusterID`.
    pub path: String,
    /// The placeholder as written.
    pub value: String,
}

/// `value`, unless it is a placeholder (then `None`, and the placeholder is recorded in
/// `ignored` under `path`).
pub fn given(
    value: Option<&String>,
    path: String,
    ignored: &mut Vec<IgnoredPlaceholder>,
) -> Option<String> {
    match value {
        Some(v) if is_placeholder(v) => {
            ignored.push(IgnoredPlaceholder {
                path,
                value: v.clone(),
            });
            None
        }
        other => other.cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angle_brackets_around_a_word_are_a_placeholder() {
        assert!(is_placeholder("<source-cluster-id>"));
        assert!(is_placeholder(" <id> "));
        for real in ["", "<>", "abc", "<abc", "abc>", "a<b>c", "Xk3-_q"] {
            assert!(!is_placeholder(real), "{real:?}");
        }
    }

    #[test]
    fn a_placeholder_is_not_given_and_is_recorded() {
        let mut ignored = Vec::new();
        let p = "<source-cluster-id>".to_string();
        assert_eq!(
            given(Some(&p), "spec.x.clusterID".into(), &mut ignored),
            None
        );
        let real = "lkc-1".to_string();
        assert_eq!(
            given(Some(&real), "spec.y.clusterID".into(), &mut ignored).as_deref(),
            Some("lkc-1")
        );
        assert_eq!(given(None, "spec.z".into(), &mut ignored), None);
        assert_eq!(
            ignored,
            [IgnoredPlaceholder {
                path: "spec.x.clusterID".into(),
                value: p
            }]
        );
    }
}
