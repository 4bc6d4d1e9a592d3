//! `cargo xtask tidy`: checks on the text of the repository that no compiler makes.
//!
//! Public documentation (rustdoc in `src/`, READMEs, `docs/`) must stand on its own: it may not
//! cite files that exist only on the developers' machines (the internal wire notes, the shared
//! vector folder) or sections of internal planning documents. Also a plain test, so
//! `cargo test --workspace` catches a slip.

use std::path::{Path, PathBuf};

use crate::util::workspace_root;

/// Phrases public docs may not contain, and why.
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "WIRE.md",
        "cites the internal wire notes; state the fact in our own words (docs/ if it is long)",
    ),
    (
        "WIRE §",
        "cites the internal wire notes; state the fact in our own words",
    ),
    (
        "façade contract",
        "cites an internal planning document; describe the API as it is",
    ),
    (
        "facade contract",
        "cites an internal planning document; describe the API as it is",
    ),
    (
        "/work/shared",
        "a path on the developers' machines; name the vector's `source` instead",
    ),
];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("`tidy` takes no arguments, got `{arg}`"));
    }
    check(&workspace_root())
}

/// Scans the public docs under `root`; the error lists every `file:line: phrase (why)`.
fn check(root: &Path) -> Result<(), String> {
    let mut problems = Vec::new();
    for file in public_doc_files(root) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (number, line) in text.lines().enumerate() {
            for (phrase, why) in FORBIDDEN {
                if line.contains(phrase) {
                    let shown = file.strip_prefix(root).unwrap_or(&file).display();
                    problems.push(format!("{shown}:{}: `{phrase}` {why}", number + 1));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("[tidy] {}", problems.join("\n  ")))
    }
}

/// `README.md`, `docs/**/*.md`, and every crate's `README.md` and `src/**/*.rs`.
fn public_doc_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md")];
    walk(&root.join("docs"), "md", &mut files);
    let crates = std::fs::read_dir(root.join("crates")).into_iter().flatten();
    for entry in crates.flatten() {
        files.push(entry.path().join("README.md"));
        walk(&entry.path().join("src"), "rs", &mut files);
    }
    files.retain(|file| file.is_file());
    files.sort();
    files
}

fn walk(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, extension, out);
        } else if path.extension().is_some_and(|ext| ext == extension) {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_is_clean() {
        assert_eq!(run(&[]), Ok(()));
    }

    #[test]
    fn a_citation_in_rustdoc_is_reported_with_its_line() {
        let root = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
        let src = root.join("crates/demo/src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("lib.rs"), "//! Fine.\n//! Keys (WIRE.md §1).\n").unwrap();
        let result = check(&root);
        std::fs::remove_dir_all(&root).unwrap();
        let err = result.unwrap_err();
        assert!(err.contains("crates/demo/src/lib.rs:2: `WIRE.md`"), "{err}");
    }
}
