//! OSS error documents the server answers with (codes, HTTP statuses and EC detail codes as OSS documents them).
//!
//! An EC is set only where the OSS documentation or an official sample names one; none is invented.

use http::StatusCode;
use oss_model::ServiceError;

/// One OSS error the server answers with: the `oss-model` error document (code, HTTP status,
/// message, operation-specific elements, optional EC) plus how to close the exchange.
#[derive(Debug, Clone)]
pub(crate) struct OssError {
    doc: ServiceError,
    /// Answer with `Connection: close` (the request body was left unread).
    pub(crate) close_connection: bool,
    /// Response headers beside the error document (e.g. `x-oss-next-append-position`).
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl OssError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            doc: ServiceError::new(status, code, message),
            close_connection: false,
            headers: Vec::new(),
        }
    }

    pub(crate) fn closing(mut self) -> Self {
        self.close_connection = true;
        self
    }

    /// Sets the EC and, like OSS, the troubleshooting link that goes with it.
    pub(crate) fn ec(mut self, ec: &'static str) -> Self {
        self.doc = self.doc.with_ec(ec).with_extra(
            "RecommendDoc",
            format!("https://api.aliyun.com/troubleshoot?q={ec}"),
        );
        self
    }

    /// Adds an operation-specific element (written after HostId, before EC, in call order).
    pub(crate) fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.doc = self.doc.with_extra(name, value);
        self
    }

    /// Adds a response header.
    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.doc.status()
    }

    pub(crate) fn code(&self) -> &str {
        self.doc.code()
    }

    pub(crate) fn ec_value(&self) -> Option<&str> {
        self.doc.ec()
    }

    /// The error document for one response; `oss-model` writes it (`to_xml`, or
    /// `to_header_value` for the `x-oss-err` header of HEAD responses).
    pub(crate) fn document(&self, request_id: &str, host_id: &str) -> ServiceError {
        self.doc
            .clone()
            .with_request_id(request_id)
            .with_host_id(host_id)
    }

    // --- constructors, one per code the server emits ---

    pub(crate) fn invalid_argument(message: impl Into<String>, name: &str, value: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidArgument", message)
            .with("ArgumentName", name)
            .with("ArgumentValue", value)
    }

    pub(crate) fn invalid_part_number(value: &str) -> Self {
        Self::invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive.",
            "PartNumber",
            value,
        )
        .ec("0017-00000220")
    }

    pub(crate) fn no_such_bucket(bucket: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist.",
        )
        .with("BucketName", bucket)
        .ec("0015-00000101")
    }

    pub(crate) fn bucket_not_empty(bucket: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "BucketNotEmpty",
            "The bucket you tried to delete is not empty: delete its objects and abort its \
             multipart uploads first.",
        )
        .with("BucketName", bucket)
        .ec("0015-00000301")
    }

    pub(crate) fn object_not_appendable() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "ObjectNotAppendable",
            "The object was not created by AppendObject, so it cannot be appended to.",
        )
    }

    pub(crate) fn position_not_equal_to_length(length: u64) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "PositionNotEqualToLength",
            "Position is not equal to file length: append at x-oss-next-append-position.",
        )
        .with_header("x-oss-next-append-position", length.to_string())
    }

    pub(crate) fn invalid_tag(message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidTag", message.to_owned())
    }

    pub(crate) fn no_such_key(key: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
        .with("Key", key)
    }

    pub(crate) fn no_such_upload(upload_id: &str, ec: &'static str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload \
             may have been aborted or completed.",
        )
        .with("UploadId", upload_id)
        .ec(ec)
    }

    pub(crate) fn invalid_part(upload_id: &str, part_number: u32, etag: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidPart",
            "One or more of the specified parts could not be found or the specified entity tag \
             might not have matched the part's entity tag.",
        )
        .with("ETag", etag)
        .with("PartNumber", part_number.to_string())
        .with("UploadId", upload_id)
    }

    pub(crate) fn invalid_part_order(upload_id: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidPartOrder",
            "The list of parts was not in ascending order. Parts list must be specified in \
             order by part number.",
        )
        .with("UploadId", upload_id)
        .ec("0042-00000209")
    }

    pub(crate) fn entity_too_small() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "EntityTooSmall",
            "Your proposed upload smaller than the minimum allowed size.",
        )
        .ec("0042-00000213")
    }

    pub(crate) fn invalid_digest(malformed: bool) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidDigest",
            if malformed {
                "The Content-MD5 you specified is not valid."
            } else {
                "The Content-MD5 you specified did not match what we received."
            },
        )
        .ec(if malformed {
            "0017-00000502"
        } else {
            "0017-00000503"
        })
    }

    pub(crate) fn malformed_xml() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our \
             published schema.",
        )
        .ec("0042-00000205")
    }

    pub(crate) fn file_already_exists(ec: &'static str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "FileAlreadyExists",
            "The object you specified already exists and can not be overwritten.",
        )
        .ec(ec)
    }

    pub(crate) fn invalid_object_name(ec: &'static str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidObjectName",
            "The specified object is not valid.",
        )
        .ec(ec)
    }

    pub(crate) fn part_not_sequential() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "PartNotSequential",
            "For sequential multipart upload, you must upload or complete parts with \
             sequential part number.",
        )
    }

    pub(crate) fn entity_too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            format!("Your proposed upload exceeds the maximum allowed size ({limit} bytes)."),
        )
    }

    pub(crate) fn invalid_bucket_name(bucket: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidBucketName",
            "The specified bucket is not valid.",
        )
        .with("BucketName", bucket)
    }

    pub(crate) fn missing_content_length() -> Self {
        Self::new(
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        )
    }

    pub(crate) fn precondition_failed(condition: &str) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold.",
        )
        .with("Condition", condition)
    }

    pub(crate) fn invalid_range() -> Self {
        Self::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            "The requested range cannot be satisfied.",
        )
    }

    pub(crate) fn not_implemented(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            format!("{what} is not implemented by oss-local."),
        )
    }

    pub(crate) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        )
    }

    pub(crate) fn invalid_security_token(missing: bool) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "InvalidSecurityToken",
            if missing {
                "This access key id belongs to temporary credentials: send its security token \
                 (x-oss-security-token)."
            } else {
                "The security token you provided is invalid."
            },
        )
    }

    /// The object was stored but no callback URL answered `200` with JSON.
    pub(crate) fn callback_failed(reason: &str) -> Self {
        Self::new(
            StatusCode::NON_AUTHORITATIVE_INFORMATION,
            "CallbackFailed",
            format!("The object was stored, but its upload callback failed: {reason}"),
        )
        .ec("0007-00000203")
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", message)
    }

    pub(crate) fn service_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "Please reduce your request rate.",
        )
    }
}

impl From<std::io::Error> for OssError {
    fn from(err: std::io::Error) -> Self {
        Self::internal(format!("storage error: {}", err.kind()))
    }
}
