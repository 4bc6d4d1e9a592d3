//! Request headers as the signers see them: lower-case names in name order, one value each.

use std::borrow::Cow;

/// Request headers keyed by lower-case name, in name order.
///
/// A repeated name (compared case-insensitively) keeps its **last** value and values are
/// used verbatim: that is what the official SDKs' header maps do (Python SDK v2 and `oss2`
/// use a case-insensitive dict, the Go SDK's `Header.Set` replaces), so signatures match
/// theirs byte for byte. Callers should therefore not send padded values or one name twice
/// (an HTTP server strips the padding and may combine repeats, WIRE.md §11.4).
///
/// A sorted `Vec` rather than a tree: a request has a handful of headers, and signing is
/// allocation-bound once hashing is fast. Names and values are borrowed where possible.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderMap<'a> {
    entries: Vec<(Cow<'a, str>, &'a str)>,
}

/// Lower-cases a header name with Unicode rules (as Python's `str.lower` does), without
/// allocating when it already is lower case.
pub(crate) fn lower(name: &str) -> Cow<'_, str> {
    if name
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Cow::Borrowed(name)
    } else if name.is_ascii() {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Owned(name.to_lowercase())
    }
}

impl<'a> HeaderMap<'a> {
    /// Builds the map from `(name, value)` pairs (later pairs replace earlier ones), with
    /// room for `spare` more entries.
    pub(crate) fn from_pairs(pairs: &[(&'a str, &'a str)], spare: usize) -> Self {
        let mut entries = Vec::with_capacity(pairs.len() + spare);
        entries.extend(pairs.iter().map(|(name, value)| (lower(name), *value)));
        // Stable sort keeps repeats in request order; folding each repeat into the first
        // occurrence's slot leaves the last value.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 = later.1;
            }
            same
        });
        Self { entries }
    }

    /// Sets `name` (already lower case) to `value`, replacing any value it had.
    pub(crate) fn set(&mut self, name: &'static str, value: &'a str) {
        match self.entries.binary_search_by(|(n, _)| n.as_ref().cmp(name)) {
            Ok(i) => self.entries[i].1 = value,
            Err(i) => self.entries.insert(i, (Cow::Borrowed(name), value)),
        }
    }

    /// The value of `name` (lower case), if present.
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        self.entries
            .binary_search_by(|(n, _)| n.as_ref().cmp(name))
            .ok()
            .map(|i| self.entries[i].1)
    }

    /// `(name, value)` in name order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &'a str)> + '_ {
        self.entries.iter().map(|(n, v)| (n.as_ref(), *v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_value_wins_and_names_are_sorted_lower_case() {
        let mut map = HeaderMap::from_pairs(
            &[
                ("X-Oss-Meta-B", "1"),
                ("Content-Type", "a"),
                ("x-oss-meta-b", "2"),
                ("CONTENT-TYPE", "b"),
                ("Ünï", "u"),
            ],
            1,
        );
        map.set("date", "d");
        map.set("content-type", "c");
        let got: Vec<(&str, &str)> = map.iter().collect();
        assert_eq!(
            got,
            [
                ("content-type", "c"),
                ("date", "d"),
                ("x-oss-meta-b", "2"),
                ("ünï", "u"),
            ]
        );
        assert_eq!(map.get("x-oss-meta-b"), Some("2"));
        assert_eq!(
            map.get("X-Oss-Meta-B"),
            None,
            "lookups take lower-case names"
        );
    }
}
