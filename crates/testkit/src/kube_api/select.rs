//! Label and field selectors, and the filter a list or watch applies.

use serde_json::Value;

use super::resource::ApiError;

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// One requirement of a field selector: a dotted path, equal or not to a value.
#[derive(Debug, Clone, PartialEq)]
struct FieldRequirement {
    path: Vec<String>,
    value: String,
    equal: bool,
}

/// What a list or watch selects: a namespace (or all), labels, fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub(crate) namespace: Option<String>,
    labels: Vec<Requirement>,
    fields: Vec<FieldRequirement>,
}

impl Filter {
    pub(crate) fn new(
        namespace: Option<String>,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            namespace,
            labels: label_selector
                .map(parse_labels)
                .transpose()?
                .unwrap_or_default(),
            fields: field_selector
                .map(parse_fields)
                .transpose()?
                .unwrap_or_default(),
        })
    }

    /// Restricts the filter to one object name (a watch on `.../{plural}/{name}`).
    pub(crate) fn with_name(mut self, name: &str) -> Self {
        self.fields.push(FieldRequirement {
            path: vec!["metadata".into(), "name".into()],
            value: name.into(),
            equal: true,
        });
        self
    }

    pub(crate) fn matches(&self, object: &Value) -> bool {
        let meta = &object["metadata"];
        if let Some(ns) = &self.namespace {
            if meta["namespace"].as_str().unwrap_or_default() != ns {
                return false;
            }
        }
        let labels = &meta["labels"];
        let label = |k: &str| labels.get(k).and_then(Value::as_str);
        let labels_ok = self.labels.iter().all(|r| match r {
            Requirement::Equals(k, v) => label(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            Requirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => label(k).is_none_or(|l| vs.iter().all(|v| v != l)),
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::NotExists(k) => label(k).is_none(),
        });
        labels_ok
            && self.fields.iter().all(|f| {
                let mut node = object;
                for key in &f.path {
                    node = &node[key.as_str()];
                }
                let actual = match node {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (actual == f.value) == f.equal
            })
    }
}

/// Splits at commas outside parentheses.
fn split_terms(selector: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&selector[start..]);
    terms
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

fn parse_labels(selector: &str) -> Result<Vec<Requirement>, ApiError> {
    let bad = |term: &str| ApiError::bad_request(format!("unable to parse requirement: {term:?}"));
    split_terms(selector)
        .into_iter()
        .map(|term| {
            let set = |rest: &str| -> Option<Vec<String>> {
                let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
                Some(
                    inner
                        .split(',')
                        .map(|v| v.trim().to_owned())
                        .filter(|v| !v.is_empty())
                        .collect(),
                )
            };
            let requirement = if let Some(key) = term.strip_prefix('!') {
                Requirement::NotExists(key.trim().to_owned())
            } else if let Some((key, rest)) = term.split_once(" notin ") {
                Requirement::NotIn(key.trim().to_owned(), set(rest).ok_or_else(|| bad(term))?)
            } else if let Some((key, rest)) = term.split_once(" in ") {
                Requirement::In(key.trim().to_owned(), set(rest).ok_or_else(|| bad(term))?)
            } else if let Some((key, value)) = term.split_once("!=") {
                Requirement::NotEquals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, value)) = term.split_once("==") {
                Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, value)) = term.split_once('=') {
                Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
            } else {
                Requirement::Exists(term.to_owned())
            };
            let key = match &requirement {
                Requirement::Equals(k, _)
                | Requirement::NotEquals(k, _)
                | Requirement::In(k, _)
                | Requirement::NotIn(k, _)
                | Requirement::Exists(k)
                | Requirement::NotExists(k) => k,
            };
            if key.is_empty() || key.contains(char::is_whitespace) {
                return Err(bad(term));
            }
            Ok(requirement)
        })
        .collect()
}

fn parse_fields(selector: &str) -> Result<Vec<FieldRequirement>, ApiError> {
    split_terms(selector)
        .into_iter()
        .map(|term| {
            let (path, value, equal) = if let Some((p, v)) = term.split_once("!=") {
                (p, v, false)
            } else if let Some((p, v)) = term.split_once("==") {
                (p, v, true)
            } else if let Some((p, v)) = term.split_once('=') {
                (p, v, true)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid field selector: {term:?}"
                )));
            };
            Ok(FieldRequirement {
                path: path.trim().split('.').map(str::to_owned).collect(),
                value: value.trim().to_owned(),
                equal,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "a", "namespace": "ns", "labels": labels}})
    }

    #[test]
    fn label_selectors() {
        let o = obj(json!({"app": "web", "tier": "front"}));
        let sel = |s: &str| Filter::new(None, Some(s), None).unwrap().matches(&o);
        assert!(sel("app=web"));
        assert!(sel("app==web,tier"));
        assert!(!sel("app!=web"));
        assert!(sel("app in (web, db),!missing"));
        assert!(!sel("tier notin (front)"));
        assert!(sel("missing notin (x)"));
        assert!(!sel("missing"));
        assert!(Filter::new(None, Some("a b"), None).is_err());
    }

    #[test]
    fn field_selectors() {
        let o = obj(json!({}));
        let sel = |s: &str| Filter::new(None, None, Some(s)).unwrap().matches(&o);
        assert!(sel("metadata.name=a"));
        assert!(sel("metadata.name=a,metadata.namespace==ns"));
        assert!(!sel("metadata.name!=a"));
        assert!(Filter::new(Some("other".into()), None, None)
            .map(|f| !f.matches(&o))
            .unwrap());
    }
}
