//! XML the server writes (result documents, errors). Reading the Complete body is
//! `oss-model`'s job (`CompleteMultipartUploadBody::from_xml`).

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
}
