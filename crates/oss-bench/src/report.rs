//! The `key=value` lines the tools print on stdout and `xtask` parses.
//!
//! One record per line, starting with a tag (`result`, `rusage`, `timing`) followed by
//! space-separated `key=value` pairs; values never contain spaces. Keeping the format this
//! small lets the std-only `xtask` parse it without a JSON library.

use std::fmt::Write as _;
use std::io::Write as _;

/// A record under construction.
#[derive(Debug, Clone)]
pub struct Record {
    line: String,
}

impl Record {
    /// A record tagged `tag`.
    pub fn new(tag: &str) -> Self {
        Self {
            line: tag.to_owned(),
        }
    }

    /// Appends `key=value` (`value` is rendered with `Display`; spaces become `_`).
    #[must_use]
    pub fn field(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        let value = value.to_string().replace(' ', "_");
        let _ = write!(self.line, " {key}={value}");
        self
    }

    /// The line without its newline.
    pub fn as_str(&self) -> &str {
        &self.line
    }

    /// Writes the line to stdout and flushes (the parent reads it through a pipe).
    ///
    /// # Errors
    /// When stdout is closed.
    pub fn emit(&self) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", self.line)?;
        out.flush()
    }
}

/// The value of `key` in a record line, if present.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ')
        .skip(1)
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let r = Record::new("result").field("bytes", 42).field("who", "a b");
        assert_eq!(r.as_str(), "result bytes=42 who=a_b");
        assert_eq!(field(r.as_str(), "bytes"), Some("42"));
        assert_eq!(field(r.as_str(), "who"), Some("a_b"));
        assert_eq!(field(r.as_str(), "byte"), None);
        assert_eq!(field(r.as_str(), "result"), None);
    }
}
