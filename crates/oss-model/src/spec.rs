//! The operation table generated from `spec/operations.txt`: which method, sub-resources,
//! query parameters and headers each operation uses. Servers can route with it and tests
//! check every request against it.

pub use crate::generated::operations::*;

/// Whether an operation addresses an object (`/<key>`) or the bucket itself (`/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// `/<key>`.
    Object,
    /// `/` of the bucket.
    Bucket,
}

/// One named parameter (query or header) and the Rust type that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Param {
    /// Wire name (headers lower case; a trailing `*` marks a prefix such as `x-oss-meta-*`).
    pub name: &'static str,
    /// The Rust type of the input field that carries it.
    pub rust_type: &'static str,
}

/// One operation's row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationSpec {
    /// The OSS API name.
    pub name: &'static str,
    /// HTTP method.
    pub method: &'static str,
    /// Object or bucket level.
    pub target: Target,
    /// Sub-resources always present in the query (`uploads`, `list-type=2`).
    pub sub_resources: &'static [&'static str],
    /// Optional or required query parameters.
    pub query: &'static [Param],
    /// Request headers the operation may send.
    pub headers: &'static [Param],
    /// Response headers the operation reads.
    pub response_headers: &'static [Param],
}

impl OperationSpec {
    /// Looks an operation up by its API name.
    pub fn by_name(name: &str) -> Option<&'static Self> {
        OPERATIONS.iter().find(|op| op.name == name)
    }

    /// Whether `header` (lower case) is one this operation may send.
    pub fn allows_header(&self, header: &str) -> bool {
        self.headers.iter().any(|p| match p.name.strip_suffix('*') {
            Some(prefix) => header.starts_with(prefix),
            None => p.name == header,
        })
    }

    /// Whether `name` is a query parameter or sub-resource of this operation.
    pub fn allows_query(&self, name: &str) -> bool {
        self.query.iter().any(|p| p.name == name)
            || self
                .sub_resources
                .iter()
                .any(|s| s.split('=').next() == Some(name))
    }
}
