//! The envelope every resource and list has: `kind`, `metadata` (its own URL) and, for lists,
//! `data`; and the `{"related": url}` links between resources.

use serde::{Deserialize, Serialize};

/// A resource's `metadata`: its URL and Confluent's resource name (CRN).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResourceMetadata {
    /// `self`: the resource's URL.
    #[serde(rename = "self")]
    pub self_url: String,
    /// `resource_name`: `crn:///kafka=<cluster>/...`, or `null` for resources without one.
    pub resource_name: Option<String>,
}

impl ResourceMetadata {
    /// The metadata of a resource at `self_url`, named `resource_name` if it has a CRN.
    pub fn new(self_url: impl Into<String>, resource_name: Option<String>) -> Self {
        ResourceMetadata {
            self_url: self_url.into(),
            resource_name,
        }
    }
}

/// A list's `metadata`: its URL and the next page's (`null`: lists are never paged here).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListMetadata {
    /// `self`: the list's URL.
    #[serde(rename = "self")]
    pub self_url: String,
    /// `next`: the next page's URL.
    pub next: Option<String>,
}

/// `{"related": url}`: where a related resource is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Relationship {
    /// Its URL.
    pub related: String,
}

impl Relationship {
    /// A relationship to `url`.
    pub fn to(url: impl Into<String>) -> Self {
        Relationship {
            related: url.into(),
        }
    }
}

/// A list of resources: `{"kind", "metadata", "data": [...]}`.
///
/// `data` is required when reading: a list without it is not a list, and a reconciler that
/// took it for an empty one would act on a wrong picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct List<T> {
    /// `kind`, e.g. `KafkaLinkDataList`.
    #[serde(default)]
    pub kind: String,
    /// The list's URL.
    #[serde(default)]
    pub metadata: ListMetadata,
    /// The resources.
    pub data: Vec<T>,
}

impl<T> List<T> {
    /// A list of kind `kind` at `self_url`, on one page.
    pub fn new(kind: impl Into<String>, self_url: impl Into<String>, data: Vec<T>) -> Self {
        List {
            kind: kind.into(),
            metadata: ListMetadata {
                self_url: self_url.into(),
                next: None,
            },
            data,
        }
    }
}
