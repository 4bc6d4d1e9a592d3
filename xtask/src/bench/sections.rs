//! Sections of `docs/PERFORMANCE.md` owned by one benchmark each (`link`, `peers`), or written
//! by hand (`notes-*`: what the figures mean), between `<!-- begin NAME… -->` and
//! `<!-- end NAME -->`. A benchmark rewrites only its own section, and the regeneration of the
//! rest of the page (`doc::write`) carries them all over.

use crate::util::workspace_root;

/// The sections carried over when the rest of the page is regenerated.
pub(crate) const OWNED: [&str; 4] = ["link", "peers", "notes-downloads", "notes-link"];

fn markers(name: &str) -> (String, String) {
    let begin = if name.starts_with("notes-") {
        format!("<!-- begin {name}: written by hand, kept when the page is regenerated -->")
    } else {
        format!("<!-- begin {name}: written by `cargo xtask bench {name}` -->")
    };
    (begin, format!("<!-- end {name} -->"))
}

/// The section `name` of `doc`, markers included.
pub(crate) fn extract<'a>(doc: &'a str, name: &str) -> Option<&'a str> {
    let (begin, end) = markers(name);
    let start = doc.find(&begin)?;
    let stop = start + doc[start..].find(&end)? + end.len();
    Some(&doc[start..stop])
}

/// `doc` with section `name` replaced by `body`, or inserted before the micro-benchmarks
/// heading (the end of the page when there is none).
pub(crate) fn splice(doc: &str, name: &str, body: &str) -> String {
    let (begin, end) = markers(name);
    let section = format!("{begin}\n{}\n{end}", body.trim_end());
    if let Some(old) = extract(doc, name) {
        return doc.replacen(old, &section, 1);
    }
    match doc.find("## Micro-benchmarks") {
        Some(at) => format!("{}{section}\n\n{}", &doc[..at], &doc[at..]),
        None => format!("{}\n\n{section}\n", doc.trim_end()),
    }
}

/// Rewrites section `name` of `docs/PERFORMANCE.md`.
pub(crate) fn update(name: &str, body: &str) -> Result<(), String> {
    let path = workspace_root().join("docs").join("PERFORMANCE.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Performance\n".to_owned());
    std::fs::write(&path, splice(&doc, name, body))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: [bench] wrote the `{name}` section of docs/PERFORMANCE.md");
    Ok(())
}

/// `fresh` (a regenerated page) with the owned sections of `old` carried over.
pub(crate) fn carry_over(old: &str, fresh: String) -> String {
    OWNED
        .iter()
        .fold(fresh, |page, name| match extract(old, name) {
            Some(section) => {
                let (begin, end) = markers(name);
                let body = &section[begin.len()..section.len() - end.len()];
                splice(&page, name, body.trim())
            }
            None => page,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_inserted_replaced_and_carried_over() {
        let page = "# P\n\n## Loopback\n\nrows\n\n## Micro-benchmarks\n\nsee\n";
        let one = splice(page, "link", "## Shaped link\n\nfirst");
        assert!(one.find("first").unwrap() < one.find("## Micro").unwrap());
        let two = splice(&one, "link", "## Shaped link\n\nsecond");
        assert!(!two.contains("first") && two.contains("second"));
        assert_eq!(two.matches("<!-- begin link").count(), 1);
        let three = splice(&two, "peers", "## Peers\n\np");
        let four = splice(
            &three,
            "notes-link",
            "### What the link runs say\n\nby hand",
        );
        assert!(four.contains("written by hand"));
        // A regenerated page has no sections: all come back, unchanged.
        let regenerated = carry_over(&four, page.to_owned());
        for name in ["link", "peers", "notes-link"] {
            assert_eq!(extract(&regenerated, name), extract(&four, name), "{name}");
        }
        assert!(regenerated.contains("## Micro-benchmarks"));
        assert_eq!(carry_over("", page.to_owned()), page);
        assert!(splice("# P\n", "link", "x").ends_with("<!-- end link -->\n"));
    }
}
