//! The OSS error document (`<Error>…</Error>`) as a value, read from a body, from the
//! base64 `x-oss-err` header of bodiless responses, or from the status line alone.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use http::{HeaderMap, StatusCode};

use crate::xml::{read, write};
use crate::{DecodeError, ErrorCode};

/// The troubleshooting link OSS appends after `EC`.
const RECOMMEND_DOC: &str = "RecommendDoc";

/// Largest error body we decode; real ones are well under 4 KiB.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// An error answered by OSS (or by a compatible server).
///
/// `Display` shows status, code, message and request id; the extra elements (which may echo
/// request details such as `StringToSign`) are only available through [`ServiceError::extra`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError(Box<Inner>);

/// Boxed so that `Result<_, ServiceError>` stays one pointer wide on the happy path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    status: StatusCode,
    code: String,
    message: String,
    request_id: String,
    host_id: String,
    ec: Option<String>,
    extras: Vec<(String, String)>,
}

impl ServiceError {
    /// An error with the given status, code and message; other fields empty.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            status,
            code: code.into(),
            message: message.into(),
            request_id: String::new(),
            host_id: String::new(),
            ec: None,
            extras: Vec::new(),
        }))
    }

    /// An error for a known code, with its table status.
    pub fn from_error_code(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(code.http_status(), code.as_str(), message)
    }

    /// Sets the request id.
    #[must_use]
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.0.request_id = request_id.into();
        self
    }

    /// Sets the host id.
    #[must_use]
    pub fn with_host_id(mut self, host_id: impl Into<String>) -> Self {
        self.0.host_id = host_id.into();
        self
    }

    /// Sets the EC (error-center id).
    #[must_use]
    pub fn with_ec(mut self, ec: impl Into<String>) -> Self {
        self.0.ec = Some(ec.into());
        self
    }

    /// Adds an operation-specific element (e.g. `UploadId`, `ArgumentName`). [`Self::to_xml`]
    /// writes them in the order added, before `EC`, except `RecommendDoc`, which OSS puts last.
    #[must_use]
    pub fn with_extra(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.extras.push((name.into(), value.into()));
        self
    }

    /// Builds the error a non-2xx response describes; never fails.
    ///
    /// Order: an XML error body; else the base64 `x-oss-err` header (HEAD responses); else the
    /// status alone, with the code guessed from the status (`x-oss-ec` and the request id header
    /// are used whenever present).
    pub fn from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let parsed = Self::from_xml(status, body).ok().or_else(|| {
            let header = headers.get("x-oss-err")?.to_str().ok()?;
            let xml = base64::engine::general_purpose::STANDARD
                .decode(header.trim())
                .ok()?;
            Self::from_xml(status, &xml).ok()
        });
        let mut err = parsed.unwrap_or_else(|| {
            let code = match status.as_u16() {
                404 => "NoSuchKey",
                403 => "AccessDenied",
                412 => "PreconditionFailed",
                416 => "InvalidRange",
                409 => "Conflict",
                503 => "ServiceUnavailable",
                s if s >= 500 => "InternalError",
                _ => "BadErrorResponse",
            };
            Self::new(status, code, "the response carried no OSS error document")
        });
        if err.0.request_id.is_empty() {
            err.0.request_id = header_str(headers, "x-oss-request-id")
                .unwrap_or_default()
                .to_owned();
        }
        if err.0.ec.is_none() {
            err.0.ec = header_str(headers, "x-oss-ec").map(str::to_owned);
        }
        err
    }

    /// Parses an `<Error>` document. Unknown child elements are kept as extras.
    pub fn from_xml(status: StatusCode, body: &[u8]) -> Result<Self, DecodeError> {
        let root = read::parse_root(body, "Error", MAX_ERROR_BODY)?;
        let mut err = Self::new(status, root.text("Code")?, root.string_or_empty("Message")?);
        err.0.request_id = root.string_or_empty("RequestId")?;
        err.0.host_id = root.string_or_empty("HostId")?;
        err.0.ec = root.opt_string("EC")?;
        for child in &root.children {
            if !matches!(
                child.name.as_str(),
                "Code" | "Message" | "RequestId" | "HostId" | "EC"
            ) {
                err.0.extras.push((child.name.clone(), child.text.clone()));
            }
        }
        Ok(err)
    }

    /// The `<Error>` document a server sends (with the XML declaration, no namespace).
    pub fn to_xml(&self) -> String {
        let mut out = String::from(write::DECLARATION);
        write::open(&mut out, "Error");
        write::element(&mut out, "Code", &self.0.code);
        write::element(&mut out, "Message", &self.0.message);
        write::element(&mut out, "RequestId", &self.0.request_id);
        write::element(&mut out, "HostId", &self.0.host_id);
        // OSS puts the operation-specific elements before `EC` and `RecommendDoc` after it.
        let (after_ec, before_ec): (Vec<_>, Vec<_>) = self
            .0
            .extras
            .iter()
            .filter(|(name, _)| is_xml_name(name))
            .partition(|(name, _)| name == RECOMMEND_DOC);
        for (name, value) in before_ec {
            write::element(&mut out, name, value);
        }
        write::opt_element(&mut out, "EC", self.0.ec.as_deref());
        for (name, value) in after_ec {
            write::element(&mut out, name, value);
        }
        write::close(&mut out, "Error");
        out
    }

    /// The base64 of [`Self::to_xml`], the `x-oss-err` header value for HEAD responses.
    pub fn to_header_value(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.to_xml())
    }

    /// HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// `<Code>` as sent.
    pub fn code(&self) -> &str {
        &self.0.code
    }

    /// `<Code>` as a known [`ErrorCode`], if it is one.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(&self.0.code)
    }

    /// `<Message>`.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// `<RequestId>` (or the `x-oss-request-id` header); empty when unknown.
    pub fn request_id(&self) -> &str {
        &self.0.request_id
    }

    /// `<HostId>`; empty when unknown.
    pub fn host_id(&self) -> &str {
        &self.0.host_id
    }

    /// `<EC>` (or the `x-oss-ec` header).
    pub fn ec(&self) -> Option<&str> {
        self.0.ec.as_deref()
    }

    /// The first extra element named `name` (e.g. `UploadId`, `StringToSign`).
    pub fn extra(&self, name: &str) -> Option<&str> {
        self.0
            .extras
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every extra element, in document order.
    pub fn extras(&self) -> &[(String, String)] {
        &self.0.extras
    }

    /// Whether sending the same request again may succeed: codes marked retryable in the
    /// generated table ([`ErrorCode::is_retryable`]); for codes the table does not know (or
    /// bodiless answers), the status decides: any 5xx, 429 throttling and 408 timeouts.
    pub fn is_retryable(&self) -> bool {
        match self.error_code() {
            Some(code) => code.is_retryable(),
            None => {
                self.0.status.is_server_error()
                    || self.0.status == StatusCode::TOO_MANY_REQUESTS
                    || self.0.status == StatusCode::REQUEST_TIMEOUT
            }
        }
    }

    /// Whether the credentials or the signature are at fault, as the generated table says
    /// ([`ErrorCode::is_auth`]).
    pub fn is_auth(&self) -> bool {
        self.error_code().is_some_and(ErrorCode::is_auth)
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OSS error {} {}", self.0.status.as_u16(), self.0.code)?;
        if !self.0.message.is_empty() {
            write!(f, ": {}", self.0.message)?;
        }
        if let Some(ec) = &self.0.ec {
            write!(f, " (EC {ec})")?;
        }
        if !self.0.request_id.is_empty() {
            write!(f, " [request id {}]", self.0.request_id)?;
        }
        Ok(())
    }
}

impl std::error::Error for ServiceError {}

impl ErrorCode {
    /// The HTTP status OSS answers this code with.
    pub fn http_status(self) -> StatusCode {
        StatusCode::from_u16(self.http_status_u16()).unwrap_or(StatusCode::BAD_REQUEST)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The code is not in the generated table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown OSS error code")]
#[non_exhaustive]
pub struct UnknownErrorCode;

impl FromStr for ErrorCode {
    type Err = UnknownErrorCode;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s).ok_or(UnknownErrorCode)
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// Extras come from parsed XML or from our own callers; only plain names are written back.
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}
