//! The only place that writes to stdout: human lines, tables and `--json` documents.
//!
//! Human lines may quote names from the user or the server (object keys, paths, service
//! messages); control characters in them are escaped here, so nothing printed can move the
//! cursor, recolour or retitle the terminal. JSON is escaped by its encoder.

use std::borrow::Cow;

use crate::cli::GlobalArgs;

/// `text` with every control character (ESC, BEL, CR, LF, DEL, C1...) written as a Rust
/// escape (`\u{1b}`, `\r`), so a key holding them is shown, not obeyed, by the terminal.
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.contains(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A warning on stderr: `warning: <text>`, escaped.
pub(crate) fn warn(text: &str) {
    eprintln!("warning: {}", escape_controls(text));
}

/// Something the run did that the user did not ask for in so many words, on stderr:
/// `note: <text>`, escaped.
pub(crate) fn note(text: &str) {
    eprintln!("note: {}", escape_controls(text));
}

/// Where results go: human lines (silenced by `--quiet`) or one JSON document (`--json`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Out {
    pub(crate) json: bool,
    pub(crate) quiet: bool,
}

impl Out {
    pub(crate) fn new(global: &GlobalArgs) -> Self {
        Self {
            json: global.json,
            quiet: global.quiet,
        }
    }

    /// A human-readable line on stdout (nothing in `--json` or `--quiet` mode).
    pub(crate) fn info(&self, line: impl AsRef<str>) {
        if !self.json && !self.quiet {
            print_line(&escape_controls(line.as_ref()));
        }
    }

    /// A result line that is the point of the command (a URL, a table row): printed even with `--quiet`.
    pub(crate) fn result(&self, line: impl AsRef<str>) {
        if !self.json {
            print_line(&escape_controls(line.as_ref()));
        }
    }

    /// A JSON document asked for by the command itself (e.g. a presigned manifest), printed as
    /// is, even with `--quiet`: its encoder already escaped every string in it.
    pub(crate) fn document(&self, json_text: &str) {
        print_line(json_text);
    }

    /// The `--json` document (one line, so it can be piped into `jq` or parsed line by line).
    pub(crate) fn json_line(&self, value: &serde_json::Value) {
        print_line(&value.to_string());
    }
}

/// One line on stdout. A reader that went away (`ossmp serve | head -1`, a closed pipe) is not
/// an error of ours: the line is dropped instead of panicking the way `println!` does.
fn print_line(line: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert!(matches!(escape_controls("a/b é.txt"), Cow::Borrowed(_)));
        assert_eq!(
            escape_controls("k\u{1b}[31m\u{7}\r\n\u{7f}\u{9b}é"),
            "k\\u{1b}[31m\\u{7}\\r\\n\\u{7f}\\u{9b}é"
        );
    }
}
