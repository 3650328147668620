//! What a validation problem is: the rule a field breaks and the field's path, and the list of
//! every problem of a resource.

use std::fmt;

/// The rule a field breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rule {
    /// A field that must be set is missing.
    #[error("is required: {why}")]
    Required {
        /// Why it is needed.
        why: &'static str,
    },
    /// A value of the wrong form.
    #[error("{value:?} is not valid: {why}")]
    Format {
        /// The value.
        value: String,
        /// The form it must have.
        why: &'static str,
    },
    /// A value longer than allowed.
    #[error("is {len} characters long, at most {max} allowed")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A number out of range.
    #[error("{value} is out of range: {why}")]
    Range {
        /// The value.
        value: i64,
        /// The allowed range.
        why: &'static str,
    },
    /// The same name twice.
    #[error("{name:?} is already used by {first}")]
    Duplicate {
        /// The name.
        name: String,
        /// Path of the first use.
        first: String,
    },
    /// With `mirrorTopicOptions.prefix`, a mirror topic's name must be `<prefix><sourceTopicName>`.
    #[error("must be {expected:?}: with mirrorTopicOptions.prefix the name is <prefix><sourceTopicName>")]
    Prefix {
        /// The name it must have, or the prefix it must start with.
        expected: String,
    },
    /// A field set where it is not allowed.
    #[error("is not allowed: {why}")]
    NotAllowed {
        /// Why.
        why: &'static str,
    },
    /// Two fields that contradict each other.
    #[error("conflicts with {other}: {why}")]
    Conflict {
        /// Path of the other field.
        other: String,
        /// Why.
        why: &'static str,
    },
}

impl Rule {
    /// A short, stable label for metrics, events and status reasons.
    pub fn category(&self) -> &'static str {
        match self {
            Rule::Required { .. } => "required",
            Rule::Format { .. } => "format",
            Rule::TooLong { .. } => "length",
            Rule::Range { .. } => "range",
            Rule::Duplicate { .. } => "duplicate",
            Rule::Prefix { .. } => "prefix",
            Rule::NotAllowed { .. } => "not-allowed",
            Rule::Conflict { .. } => "conflict",
        }
    }
}

/// One problem: the field's path (`spec.mirrorTopics[2].name`) and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {rule}")]
pub struct ValidationError {
    /// Path of the field, in the manifest's own field names.
    pub path: String,
    /// The rule broken.
    pub rule: Rule,
}

impl ValidationError {
    /// The rule's category.
    pub fn category(&self) -> &'static str {
        self.rule.category()
    }
}

/// All the problems of a resource (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    /// The problems.
    pub fn errors(&self) -> &[ValidationError] {
        &self.0
    }

    /// The problems at `path`.
    pub fn at<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a ValidationError> + 'a {
        self.0.iter().filter(move |e| e.path == path)
    }

    /// Every problem on one line, `; `-separated (a condition's message, an Event's).
    pub fn one_line(&self) -> String {
        self.0
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} problem{}", if n == 1 { "" } else { "s" })?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}
