//! A minimal XML writer: compact output, deterministic, escaping only what XML requires.
//! Public so that a server writing response bodies this crate has no type for (oss-local's
//! bucket and tagging answers) writes them the same way.
//!
//! Quotes are written literally (as the Python SDK does) so a Complete body matches the
//! recorded wire bytes and its Content-MD5; `\r` and `\t` are written as character references
//! so that readers cannot normalise them away.

/// Appends `<name>escaped text</name>`.
pub fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_into(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Appends the element only when `text` is present.
pub fn opt_element(out: &mut String, name: &str, text: Option<&str>) {
    if let Some(text) = text {
        element(out, name, text);
    }
}

/// Appends `<name>` .
pub fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

/// Appends `</name>`.
pub fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// The XML declaration OSS puts in front of its responses.
pub const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

fn escape_into(out: &mut String, text: &str) {
    // Copy unescaped runs in one go; only the five special characters break a run.
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let replacement = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'\r' => "&#13;",
            b'\t' => "&#9;",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both slices end on character boundaries.
        out.push_str(&text[start..i]);
        out.push_str(replacement);
        start = i + 1;
    }
    out.push_str(&text[start..]);
}
