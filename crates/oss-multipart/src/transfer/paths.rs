//! Keys and local paths: which key a file gets, which local path a key may become.

use std::path::{Component, Path, PathBuf};

/// The local path, relative to the target directory, for `rel` (a key minus the prefix), or
/// why it is refused. Only plain names separated by `/` pass: no `..` or `.` segment, no
/// empty segment (`a//b`, a leading `/`), no NUL, no backslash or drive prefix (which Windows
/// would read as separators or roots). So a joined path never leaves the target directory.
pub(crate) fn safe_relative_path(rel: &str) -> Result<PathBuf, &'static str> {
    if rel.is_empty() {
        return Err("the key names the prefix itself");
    }
    if rel.contains('\0') {
        return Err("the key contains a NUL character");
    }
    if rel.contains('\\') {
        return Err("the key contains a backslash");
    }
    let mut path = PathBuf::new();
    for segment in rel.split('/') {
        match segment {
            "" => return Err("the key has an empty path segment or is absolute"),
            "." | ".." => return Err("the key has a `.` or `..` segment"),
            s if s.contains(':') && cfg!(windows) => return Err("the key has a drive or stream"),
            s => path.push(s),
        }
    }
    // Belt and braces: what was pushed must be plain names only.
    if path.components().all(|c| matches!(c, Component::Normal(_))) {
        Ok(path)
    } else {
        Err("the key is not a plain relative path")
    }
}

/// Whether any existing directory between `root` and `path` (exclusive of `root`) is a symbolic
/// link: writing through one could land outside `root`.
pub(crate) fn crosses_symlink(root: &Path, rel: &Path) -> bool {
    let mut at = root.to_path_buf();
    let parents: Vec<_> = rel.components().collect();
    for c in parents.iter().take(parents.len().saturating_sub(1)) {
        at.push(c);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    // The file itself: replacing a link would write where it points.
    std::fs::symlink_metadata(root.join(rel)).is_ok_and(|m| m.file_type().is_symlink())
}

/// The key-side form of a relative local path: its segments joined with `/`, or `None` when a
/// segment is not UTF-8.
pub(crate) fn key_of(rel: &Path) -> Option<String> {
    let segments: Option<Vec<&str>> = rel
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    segments.map(|s| s.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_keys_become_paths() {
        assert_eq!(
            safe_relative_path("a/b c/ü.txt").unwrap(),
            Path::new("a").join("b c").join("ü.txt")
        );
        for bad in [
            "",
            "../x",
            "a/../../x",
            "a/./b",
            "/etc/passwd",
            "a//b",
            "a/",
            "a\0b",
            "a\\..\\b",
            "..",
        ] {
            assert!(safe_relative_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_use_slashes() {
        assert_eq!(
            key_of(&Path::new("a").join("b").join("c.txt")).unwrap(),
            "a/b/c.txt"
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_directories_are_detected() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
        std::fs::create_dir(root.path().join("real")).unwrap();
        assert!(crosses_symlink(root.path(), Path::new("link/f")));
        assert!(!crosses_symlink(root.path(), Path::new("real/f")));
        assert!(!crosses_symlink(root.path(), Path::new("new/f")));
    }
}
