//! The environment the chain reads: variables and the home directory, injectable for tests.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where variables (and the home directory, from `HOME` or `USERPROFILE`) are read.
///
/// [`Env::process`] reads the process environment; [`Env::from_fn`] and [`Env::from_pairs`]
/// let tests describe one without touching it. Empty (or blank) values count as unset.
#[derive(Clone)]
pub struct Env {
    lookup: Lookup,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env").finish_non_exhaustive()
    }
}

impl Default for Env {
    fn default() -> Self {
        Self::process()
    }
}

impl Env {
    /// The process environment (`std::env::var`), read when asked.
    pub fn process() -> Self {
        Self::from_fn(|name| std::env::var(name).ok())
    }

    /// Variables from `lookup(name)`.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            lookup: Arc::new(lookup),
        }
    }

    /// Exactly these variables.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let map: std::collections::HashMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self::from_fn(move |name| map.get(name).cloned())
    }

    /// The value of `name`, trimmed; `None` when unset or blank.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// Whether `name` is `true` (any case), as the Alibaba Cloud tools read their flags.
    pub fn flag(&self, name: &str) -> bool {
        self.var(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The home directory: `HOME`, else `USERPROFILE`.
    pub fn home(&self) -> Option<PathBuf> {
        self.var("HOME")
            .or_else(|| self.var("USERPROFILE"))
            .map(PathBuf::from)
    }
}
