//! A bounded XML reader that builds a tiny element tree from quick-xml events. Public so that
//! a server reads request bodies this crate has no type for (oss-local's Delete and Tagging
//! bodies) with the same limits.
//!
//! Why not serde: quick-xml's serde deserializer trims text, which would silently change keys
//! with leading or trailing spaces when `encoding-type=url` is off, and it gives us no hook for
//! the depth and DOCTYPE checks. The tree keeps text verbatim and lets each body say exactly
//! which elements are singular (duplicates are an error) and which repeat; unknown elements are
//! ignored so that new OSS fields never break old clients.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::DecodeError;
use crate::limits::{MAX_XML_BODY, MAX_XML_DEPTH};

/// One element: its local name, its concatenated text, and its child elements.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Element {
    /// Local name.
    pub name: String,
    /// Concatenated text content, verbatim.
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Self>,
}

/// Parses `body` (at most `limit` bytes) and checks that the root element is `root`.
pub fn parse_root(body: &[u8], root: &'static str, limit: usize) -> Result<Element, DecodeError> {
    let element = parse(body, limit)?;
    if element.name != root {
        return Err(DecodeError::UnexpectedRoot {
            expected: root,
            found: truncate(&element.name),
        });
    }
    Ok(element)
}

/// Parses `body` with the size limit applied before any parsing.
pub fn parse(body: &[u8], limit: usize) -> Result<Element, DecodeError> {
    let limit = limit.min(MAX_XML_BODY);
    if body.len() > limit {
        return Err(DecodeError::TooLarge {
            len: body.len(),
            limit,
        });
    }
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::InvalidUtf8)?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().check_end_names = true;

    // `stack` holds the open elements; its length is the nesting depth.
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader.read_event().map_err(malformed)?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(DecodeError::Malformed {
                        message: "content after the root element".into(),
                    });
                }
                if stack.len() >= MAX_XML_DEPTH {
                    return Err(DecodeError::TooDeep {
                        limit: MAX_XML_DEPTH,
                    });
                }
                let name = std::str::from_utf8(start.local_name().into_inner())
                    .map_err(|_| DecodeError::InvalidUtf8)?
                    .to_owned();
                stack.push(Element {
                    name,
                    ..Element::default()
                });
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(DecodeError::Malformed {
                        message: "unbalanced end tag".into(),
                    });
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let unescaped = t.unescape().map_err(malformed)?;
                match stack.last_mut() {
                    Some(open) => open.text.push_str(&unescaped),
                    None if unescaped.trim().is_empty() => {}
                    None => {
                        return Err(DecodeError::Malformed {
                            message: "text outside the root element".into(),
                        });
                    }
                }
            }
            Event::CData(c) => {
                let raw = std::str::from_utf8(c.as_ref()).map_err(|_| DecodeError::InvalidUtf8)?;
                match stack.last_mut() {
                    Some(open) => open.text.push_str(raw),
                    None => {
                        return Err(DecodeError::Malformed {
                            message: "CDATA outside the root element".into(),
                        });
                    }
                }
            }
            Event::DocType(_) => return Err(DecodeError::Doctype),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::Empty(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(DecodeError::Malformed {
            message: "truncated document".into(),
        });
    }
    root.ok_or(DecodeError::Malformed {
        message: "no root element".into(),
    })
}

fn malformed(err: quick_xml::Error) -> DecodeError {
    // Bounded, and cut on a character boundary: the message may quote non-ASCII input.
    let message = err.to_string().chars().take(200).collect();
    DecodeError::Malformed { message }
}

fn truncate(name: &str) -> String {
    name.chars().take(64).collect()
}

impl Element {
    /// The only child named `name`, if any; a second one is an error.
    pub fn child(&self, name: &'static str) -> Result<Option<&Self>, DecodeError> {
        let mut found = None;
        for child in self.children.iter().filter(|c| c.name == name) {
            if found.is_some() {
                return Err(DecodeError::DuplicateElement { name });
            }
            found = Some(child);
        }
        Ok(found)
    }

    /// Every child named `name`, in document order.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Self> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Text of the optional singular child `name`.
    pub fn opt_text(&self, name: &'static str) -> Result<Option<&str>, DecodeError> {
        Ok(self.child(name)?.map(|c| c.text.as_str()))
    }

    /// Text of the required singular child `name`.
    pub fn text(&self, name: &'static str) -> Result<&str, DecodeError> {
        self.opt_text(name)?
            .ok_or(DecodeError::MissingElement { name })
    }

    /// Owned text of the optional child, with empty text treated as absent.
    pub fn opt_string(&self, name: &'static str) -> Result<Option<String>, DecodeError> {
        Ok(self
            .opt_text(name)?
            .filter(|t| !t.is_empty())
            .map(str::to_owned))
    }

    /// Owned text of the optional child, or empty.
    pub fn string_or_empty(&self, name: &'static str) -> Result<String, DecodeError> {
        Ok(self.opt_text(name)?.unwrap_or_default().to_owned())
    }

    /// The optional child parsed as an unsigned decimal number.
    pub fn opt_u64(&self, name: &'static str) -> Result<Option<u64>, DecodeError> {
        match self.opt_text(name)? {
            None => Ok(None),
            Some(t) if t.trim().is_empty() => Ok(None),
            Some(t) => parse_u64(name, t).map(Some),
        }
    }

    /// The optional child parsed as a `u32` (absent or empty = 0).
    pub fn u32_or_zero(&self, name: &'static str) -> Result<u32, DecodeError> {
        match self.opt_u64(name)? {
            None => Ok(0),
            Some(v) => u32::try_from(v).map_err(|_| DecodeError::InvalidValue {
                name,
                reason: "number too large",
            }),
        }
    }

    /// The optional child parsed as `true`/`false` (absent = false).
    pub fn bool_or_false(&self, name: &'static str) -> Result<bool, DecodeError> {
        match self.opt_text(name)?.map(str::trim) {
            None | Some("" | "false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(DecodeError::InvalidValue {
                name,
                reason: "expected true or false",
            }),
        }
    }
}

/// Parses an unsigned decimal (surrounding whitespace allowed, nothing else).
pub fn parse_u64(name: &'static str, text: &str) -> Result<u64, DecodeError> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::InvalidValue {
            name,
            reason: "expected an unsigned decimal number",
        });
    }
    t.parse().map_err(|_| DecodeError::InvalidValue {
        name,
        reason: "number too large",
    })
}
