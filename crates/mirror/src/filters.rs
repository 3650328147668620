//! Name filters of link configs: `consumer.offset.group.filters` (`{"groupFilters": [...]}`) and
//! `auto.create.mirror.topics.filters` (`{"topicFilters": [...]}`), both lists of
//! `{"name", "patternType": LITERAL|PREFIXED, "filterType": INCLUDE|EXCLUDE}` where the name `*`
//! matches everything and an EXCLUDE wins over any INCLUDE.

use serde_json::Value;

/// Parsed filters; no filters select nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameFilters {
    /// (name, prefix match, include)
    rules: Vec<(String, bool, bool)>,
}

impl NameFilters {
    /// Parses `{"<list_key>": [...]}`; an empty value selects nothing.
    pub fn parse(json: &str, list_key: &str) -> Result<Self, String> {
        if json.trim().is_empty() {
            return Ok(NameFilters::default());
        }
        let v: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
        let list = v
            .get(list_key)
            .and_then(Value::as_array)
            .ok_or_else(|| format!("expected {{\"{list_key}\": [...]}}"))?;
        let mut rules = Vec::new();
        for f in list {
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .ok_or("each filter needs a name")?
                .to_string();
            let prefix = match f.get("patternType").and_then(Value::as_str) {
                None | Some("LITERAL") => false,
                Some("PREFIXED") | Some("PREFIX") => true,
                Some(other) => return Err(format!("unknown patternType {other}")),
            };
            let include = match f.get("filterType").and_then(Value::as_str) {
                None | Some("INCLUDE") => true,
                Some("EXCLUDE") => false,
                Some(other) => return Err(format!("unknown filterType {other}")),
            };
            rules.push((name, prefix, include));
        }
        Ok(NameFilters { rules })
    }

    /// Whether `name` is selected.
    pub fn includes(&self, name: &str) -> bool {
        let hits = |include: bool| {
            self.rules.iter().any(|(rule, prefix, inc)| {
                *inc == include
                    && (rule == "*"
                        || if *prefix {
                            name.starts_with(rule.as_str())
                        } else {
                            name == rule
                        })
            })
        };
        hits(true) && !hits(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_exclude_prefix_and_star() {
        let f = NameFilters::parse(
            r#"{"groupFilters": [
                {"name": "*", "patternType": "LITERAL", "filterType": "INCLUDE"},
                {"name": "tmp-", "patternType": "PREFIXED", "filterType": "EXCLUDE"}]}"#,
            "groupFilters",
        )
        .unwrap();
        assert!(f.includes("billing"));
        assert!(!f.includes("tmp-1"));
        let f = NameFilters::parse(
            r#"{"topicFilters": [{"name": "app", "patternType": "PREFIXED"}]}"#,
            "topicFilters",
        )
        .unwrap();
        assert!(f.includes("app-1"));
        assert!(!f.includes("other"));
        assert!(!NameFilters::parse("", "topicFilters")
            .unwrap()
            .includes("any"));
        assert!(NameFilters::parse("[]", "topicFilters").is_err());
        assert!(NameFilters::parse(
            r#"{"topicFilters": [{"name": "a", "filterType": "MAYBE"}]}"#,
            "topicFilters"
        )
        .is_err());
    }
}
