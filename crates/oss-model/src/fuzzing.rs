//! Entry points for the `fuzz/` targets and for replaying their corpora in `cargo test`.
//!
//! Each function decodes `data` with one parser and, when decoding succeeds, checks that
//! writing the value and decoding it again gives the same value. A panic is a finding.
//! Not part of the supported API.

use http::StatusCode;

use crate::ServiceError;
use crate::ops::{
    CompleteMultipartUploadBody, CompleteMultipartUploadOutput, InitiateMultipartUploadOutput,
    ListMultipartUploadsOutput, ListObjectsV2Output, ListPartsOutput, UploadPartCopyOutput,
};

macro_rules! round_trip {
    ($name:ident, $ty:ty) => {
        #[doc = concat!("Fuzz [`", stringify!($ty), "::from_xml`] and its writer.")]
        pub fn $name(data: &[u8]) {
            if let Ok(value) = <$ty>::from_xml(data) {
                let again = <$ty>::from_xml(value.to_xml().as_bytes());
                assert_eq!(
                    again.as_ref(),
                    Ok(&value),
                    "write/read round trip changed the value"
                );
            }
        }
    };
}

round_trip!(xml_initiate, InitiateMultipartUploadOutput);
round_trip!(xml_complete_result, CompleteMultipartUploadOutput);
round_trip!(xml_copy_part, UploadPartCopyOutput);
round_trip!(xml_list_parts, ListPartsOutput);
round_trip!(xml_list_uploads, ListMultipartUploadsOutput);
round_trip!(xml_list_objects, ListObjectsV2Output);
round_trip!(xml_complete_body, CompleteMultipartUploadBody);

/// Fuzz [`ServiceError::from_xml`] and [`ServiceError::from_response`].
pub fn xml_error(data: &[u8]) {
    let status = StatusCode::BAD_REQUEST;
    if let Ok(err) = ServiceError::from_xml(status, data) {
        let again = ServiceError::from_xml(status, err.to_xml().as_bytes());
        let again = again
            .as_ref()
            .map(|e| (e.code(), e.message(), e.request_id(), e.host_id(), e.ec()));
        let expected = (
            err.code(),
            err.message(),
            err.request_id(),
            err.host_id(),
            err.ec(),
        );
        assert_eq!(
            again,
            Ok(expected),
            "error document round trip changed the value"
        );
    }
    let _ = ServiceError::from_response(status, &http::HeaderMap::new(), data);
}

/// Every target on the same input.
pub fn all(data: &[u8]) {
    for target in TARGETS {
        (target.1)(data);
    }
}

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// Target name (as in `fuzz/fuzz_targets/<name>.rs`) and function.
pub const TARGETS: &[(&str, Target)] = &[
    ("xml_initiate", xml_initiate),
    ("xml_complete_result", xml_complete_result),
    ("xml_copy_part", xml_copy_part),
    ("xml_list_parts", xml_list_parts),
    ("xml_list_uploads", xml_list_uploads),
    ("xml_list_objects", xml_list_objects),
    ("xml_complete_body", xml_complete_body),
    ("xml_error", xml_error),
];
