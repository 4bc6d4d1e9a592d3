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
    // Copy unescaped runs in one go; only special characters break a run.
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let replacement = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'\r' => "&#13;",
            b'\t' => "&#9;",
            // Other control characters (object keys may hold them) cannot appear raw in XML;
            // OSS writes them as hexadecimal character references, and so do we.
            0x00..=0x1f if b != b'\n' => CONTROL_REFS[usize::from(b)],
            _ => continue,
        };
        // `i` is at an ASCII byte, so both slices end on character boundaries.
        out.push_str(&text[start..i]);
        out.push_str(replacement);
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

/// `&#xN;` for each byte below 0x20 (the entries for `\t`, `\n` and `\r` are not used).
const CONTROL_REFS: [&str; 32] = [
    "&#x0;", "&#x1;", "&#x2;", "&#x3;", "&#x4;", "&#x5;", "&#x6;", "&#x7;", "&#x8;", "&#x9;",
    "&#xA;", "&#xB;", "&#xC;", "&#xD;", "&#xE;", "&#xF;", "&#x10;", "&#x11;", "&#x12;", "&#x13;",
    "&#x14;", "&#x15;", "&#x16;", "&#x17;", "&#x18;", "&#x19;", "&#x1A;", "&#x1B;", "&#x1C;",
    "&#x1D;", "&#x1E;", "&#x1F;",
];

#[cfg(test)]
mod tests {
    use super::element;

    #[test]
    fn control_characters_become_character_references() {
        let mut out = String::new();
        element(&mut out, "Key", "a\u{1}b\u{1f}\n\r\t<&>");
        assert_eq!(out, "<Key>a&#x1;b&#x1F;\n&#13;&#9;&lt;&amp;&gt;</Key>");
    }

    #[test]
    fn control_characters_round_trip_through_the_reader() {
        let key: String = (1u8..0x20).map(char::from).collect();
        let mut out = String::new();
        element(&mut out, "Key", &key);
        let doc =
            crate::xml::read::parse(out.as_bytes(), 4096).expect("well-formed for our reader");
        assert_eq!(doc.text, key);
    }
}
