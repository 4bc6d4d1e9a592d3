//! XML the server writes (result documents, errors) and reads (the Complete body).
//!
//! Kept private and small: when `oss-model`'s server-side writers land, these can be swapped
//! for them without touching the handlers.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Writes an indented XML document without namespace, as OSS does.
pub(crate) struct XmlWriter {
    out: String,
    stack: Vec<&'static str>,
}

impl XmlWriter {
    pub(crate) fn new(root: &'static str) -> Self {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push('<');
        out.push_str(root);
        out.push_str(">\n");
        Self {
            out,
            stack: vec![root],
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.stack.len() {
            self.out.push_str("  ");
        }
    }

    pub(crate) fn elem(&mut self, name: &str, value: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        escape_into(&mut self.out, value);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    pub(crate) fn open(&mut self, name: &'static str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(">\n");
        self.stack.push(name);
    }

    pub(crate) fn close(&mut self) {
        if let Some(name) = self.stack.pop() {
            self.indent();
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push_str(">\n");
        }
    }

    pub(crate) fn finish(mut self) -> String {
        while self.stack.len() > 1 {
            self.close();
        }
        if let Some(root) = self.stack.pop() {
            self.out.push_str("</");
            self.out.push_str(root);
            self.out.push_str(">\n");
        }
        self.out
    }
}

fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters even escaped; OSS's answer is
            // encoding-type=url. Without it we drop them rather than emit an unparsable
            // document. `\r` is escaped because parsers would turn a literal one into `\n`.
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n') => {}
            c => out.push(c),
        }
    }
}

/// One `<Part>` of a CompleteMultipartUpload body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompletePart {
    pub(crate) part_number: String,
    pub(crate) etag: String,
}

/// Parses `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>...`. Any structural
/// problem is `None` (the caller answers MalformedXML). Part numbers stay strings so the caller
/// can report the exact invalid value.
pub(crate) fn parse_complete(body: &[u8]) -> Option<Vec<CompletePart>> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(true);
    let mut parts = Vec::new();
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut current: Option<(Option<String>, Option<String>)> = None;
    let mut text = String::new();
    let mut seen_root = false;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(start) => {
                let name = start.name().as_ref().to_vec();
                match (path.len(), name.as_slice()) {
                    (0, b"CompleteMultipartUpload") if !seen_root => seen_root = true,
                    (0, _) => return None,
                    (1, b"Part") => current = Some((None, None)),
                    (2, b"PartNumber" | b"ETag") => {}
                    // Unknown elements are tolerated (OSS ignores them) but not nested parts.
                    (1 | 2, _) => {}
                    _ => {}
                }
                text.clear();
                path.push(name);
            }
            Event::Empty(empty) => {
                if path.is_empty() {
                    // `<CompleteMultipartUpload/>`: an empty list, valid XML.
                    if empty.name().as_ref() != b"CompleteMultipartUpload" || seen_root {
                        return None;
                    }
                    seen_root = true;
                }
            }
            Event::Text(t) => {
                let unescaped = t.unescape().ok()?;
                text.push_str(&unescaped);
            }
            Event::CData(c) => {
                text.push_str(std::str::from_utf8(c.as_ref()).ok()?);
            }
            Event::End(_) => {
                let name = path.pop()?;
                match (path.len(), name.as_slice()) {
                    (2, b"PartNumber") => {
                        if let Some(part) = current.as_mut() {
                            part.0 = Some(text.trim().to_owned());
                        }
                    }
                    (2, b"ETag") => {
                        if let Some(part) = current.as_mut() {
                            part.1 = Some(text.trim().to_owned());
                        }
                    }
                    (1, b"Part") => {
                        let (number, etag) = current.take()?;
                        parts.push(CompletePart {
                            part_number: number?,
                            etag: etag?,
                        });
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
        buf.clear();
    }
    (seen_root && path.is_empty()).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_escapes_and_nests() {
        let mut w = XmlWriter::new("R");
        w.open("Part");
        w.elem("ETag", "\"A&B<\"");
        w.close();
        let xml = w.finish();
        assert!(
            xml.contains("<ETag>&quot;A&amp;B&lt;&quot;</ETag>"),
            "{xml}"
        );
        assert!(xml.ends_with("</R>\n"));
        assert_eq!(xml.matches("<Part>").count(), 1);
    }

    #[test]
    fn parses_complete_bodies() {
        let body = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>\
            <ETag>&#34;AB&#34;</ETag></Part><Part><ETag>\"CD\"</ETag><PartNumber>3</PartNumber>\
            </Part></CompleteMultipartUpload>";
        let parts = parse_complete(body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].etag, "\"AB\"");
        assert_eq!(parts[1].part_number, "3");
        assert!(parse_complete(b"<CompleteMultipartUpload><Part>").is_none());
        assert!(parse_complete(b"not xml").is_none());
        assert!(parse_complete(b"<Other/>").is_none());
        assert!(
            parse_complete(b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>")
                .is_none()
        );
        assert_eq!(parse_complete(b"<CompleteMultipartUpload/>"), Some(vec![]));
    }

    #[test]
    fn parses_shared_vectors() {
        for name in [
            "CompleteMultipartUpload-request.xml",
            "CompleteMultipartUpload-request-go-sdk-v2.xml",
        ] {
            let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
            let body = std::fs::read(&path).unwrap();
            let parts = parse_complete(&body).unwrap();
            assert!(!parts.is_empty(), "{name}");
            assert!(parts.iter().all(|p| p.etag.starts_with('"')), "{name}");
        }
    }
}
