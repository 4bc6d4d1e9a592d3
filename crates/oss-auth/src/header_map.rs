//! Request headers as the signers see them: lower-case names in name order, one value each.

use std::borrow::Cow;

/// Request headers keyed by lower-case name, in name order.
///
/// A repeated name (compared case-insensitively) keeps its **last** value and values are
/// used verbatim: that is what the official SDKs' header maps do (Python SDK v2 and `oss2`
/// use a case-insensitive dict, the Go SDK's `Header.Set` replaces), so signatures match
/// theirs byte for byte. Callers should therefore not send padded values or one name twice
/// (an HTTP server strips the padding and may combine repeats).
///
/// A sorted `Vec` rather than a tree: a request has a handful of headers, and signing is
/// allocation-bound once hashing is fast. Names and values are borrowed where possible.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderMap<'a> {
    entries: Vec<(Name<'a>, &'a str)>,
    /// The lower-cased names of the request that were not lower case already, back to
    /// back: one allocation for all of them rather than one each.
    lowered: String,
}

/// Where an entry's lower-case name lives.
#[derive(Debug, Clone, Copy)]
enum Name<'a> {
    /// The caller's name (already lower case) or one of ours.
    Borrowed(&'a str),
    /// A byte range of [`HeaderMap::lowered`].
    Lowered(usize, usize),
}

impl<'a> Name<'a> {
    fn resolve<'s>(self, lowered: &'s str) -> &'s str
    where
        'a: 's,
    {
        match self {
            Name::Borrowed(name) => name,
            Name::Lowered(start, end) => lowered.get(start..end).unwrap_or_default(),
        }
    }
}

/// Lower-cases a header name with Unicode rules (as Python's `str.lower` does), without
/// allocating when it already is lower case.
pub(crate) fn lower(name: &str) -> Cow<'_, str> {
    if is_lower(name) {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(name.to_lowercase())
    }
}

fn is_lower(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
}

impl<'a> HeaderMap<'a> {
    /// Builds the map from `(name, value)` pairs (later pairs replace earlier ones), with
    /// room for `spare` more entries.
    pub(crate) fn from_pairs(pairs: &[(&'a str, &'a str)], spare: usize) -> Self {
        let mut lowered = String::new();
        let mut entries = Vec::with_capacity(pairs.len() + spare);
        for (name, value) in pairs {
            let name = if is_lower(name) {
                Name::Borrowed(name)
            } else {
                if lowered.is_empty() {
                    lowered.reserve(pairs.iter().map(|(n, _)| n.len()).sum());
                }
                let start = lowered.len();
                if name.is_ascii() {
                    lowered.push_str(name);
                    if let Some(added) = lowered.get_mut(start..) {
                        added.make_ascii_lowercase();
                    }
                } else {
                    lowered.push_str(&name.to_lowercase());
                }
                Name::Lowered(start, lowered.len())
            };
            entries.push((name, *value));
        }
        // Stable sort keeps repeats in request order; folding each repeat into the first
        // occurrence's slot leaves the last value.
        entries.sort_by(|a, b| a.0.resolve(&lowered).cmp(b.0.resolve(&lowered)));
        entries.dedup_by(|later, kept| {
            let same = later.0.resolve(&lowered) == kept.0.resolve(&lowered);
            if same {
                kept.1 = later.1;
            }
            same
        });
        Self { entries, lowered }
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(n, _)| n.resolve(&self.lowered).cmp(name))
    }

    /// Sets `name` (already lower case) to `value`, replacing any value it had.
    pub(crate) fn set(&mut self, name: &'static str, value: &'a str) {
        match self.find(name) {
            Ok(i) => self.entries[i].1 = value,
            Err(i) => self.entries.insert(i, (Name::Borrowed(name), value)),
        }
    }

    /// The value of `name` (lower case), if present.
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        self.find(name).ok().map(|i| self.entries[i].1)
    }

    /// `(name, value)` in name order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &'a str)> + '_ {
        self.entries
            .iter()
            .map(|(n, v)| (n.resolve(&self.lowered), *v))
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
