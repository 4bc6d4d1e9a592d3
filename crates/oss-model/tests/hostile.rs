//! Hostile bodies give typed errors, never panics, and never unbounded work.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use http::{HeaderMap, HeaderValue, StatusCode};
use oss_model::ops::{
    CompleteMultipartUploadBody, InitiateMultipartUploadOutput, ListMultipartUploadsOutput,
    ListObjectsV2Output, ListPartsOutput,
};
use oss_model::{DecodeError, ServiceError, limits};
use proptest::prelude::*;

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

fn list_parts(inner: &str) -> Result<ListPartsOutput, DecodeError> {
    ListPartsOutput::from_xml(
        format!("{HEAD}<ListPartsResult>{inner}</ListPartsResult>").as_bytes(),
    )
}

#[test]
fn invalid_utf8() {
    let mut body = b"<ListPartsResult><Key>".to_vec();
    body.extend_from_slice(&[0xff, 0xfe, 0x80]);
    body.extend_from_slice(b"</Key></ListPartsResult>");
    assert_eq!(
        ListPartsOutput::from_xml(&body),
        Err(DecodeError::InvalidUtf8)
    );
}

#[test]
fn ten_megabytes_of_nesting_is_refused_before_parsing() {
    let depth = 10 * 1024 * 1024 / 3;
    let body = "<a>".repeat(depth);
    assert!(matches!(
        ListPartsOutput::from_xml(body.as_bytes()),
        Err(DecodeError::TooLarge { .. })
    ));
}

#[test]
fn deep_nesting_within_the_size_limit_stops_at_the_depth_limit() {
    let body = format!("<ListPartsResult>{}", "<a>".repeat(1_000_000));
    assert_eq!(
        ListPartsOutput::from_xml(body.as_bytes()),
        Err(DecodeError::TooDeep {
            limit: limits::MAX_XML_DEPTH
        })
    );
    // Nested unknown elements below the limit are simply ignored.
    let ok =
        list_parts("<Unknown><Deeper><Deepest>x</Deepest></Deeper></Unknown><Key>k</Key>").unwrap();
    assert_eq!(ok.key, "k");
}

#[test]
fn doctype_and_entities_are_refused() {
    let xxe = format!(
        "{HEAD}<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><ListPartsResult><Key>&xxe;</Key></ListPartsResult>"
    );
    assert_eq!(
        ListPartsOutput::from_xml(xxe.as_bytes()),
        Err(DecodeError::Doctype)
    );
    let bomb = "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>\
                <Error><Code>&lol2;</Code></Error>";
    assert_eq!(
        ServiceError::from_xml(StatusCode::BAD_REQUEST, bomb.as_bytes()),
        Err(DecodeError::Doctype)
    );
    // An undeclared entity without a DTD is malformed, not expanded.
    assert!(matches!(
        list_parts("<Key>&xxe;</Key>"),
        Err(DecodeError::Malformed { .. })
    ));
}

#[test]
fn truncated_documents() {
    let full = format!(
        "{HEAD}<ListPartsResult><Key>k</Key><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></ListPartsResult>"
    );
    for cut in 0..full.len() {
        let result = ListPartsOutput::from_xml(&full.as_bytes()[..cut]);
        assert!(result.is_err(), "prefix of {cut} bytes parsed: {result:?}");
    }
    assert!(ListPartsOutput::from_xml(full.as_bytes()).is_ok());
}

#[test]
fn unknown_elements_are_ignored() {
    let out = list_parts("<NewField>1</NewField><Key>k</Key><Part><PartNumber>2</PartNumber><ETag>e</ETag><Future a=\"b\"/></Part>").unwrap();
    assert_eq!(out.key, "k");
    assert_eq!(out.parts.len(), 1);
    assert_eq!(out.parts[0].part_number.get(), 2);
}

#[test]
fn huge_and_bad_numbers() {
    for bad in ["99999999999999999999999", "-1", "1e3", "0x10", "١٢"] {
        let body =
            format!("<Part><PartNumber>1</PartNumber><ETag>e</ETag><Size>{bad}</Size></Part>");
        assert!(
            matches!(
                list_parts(&body),
                Err(DecodeError::InvalidValue { name: "Size", .. })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        list_parts("<MaxParts>4294967296</MaxParts>"),
        Err(DecodeError::InvalidValue {
            name: "MaxParts",
            ..
        })
    ));
    assert!(matches!(
        list_parts("<Part><PartNumber>10001</PartNumber><ETag>e</ETag></Part>"),
        Err(DecodeError::InvalidValue {
            name: "PartNumber",
            ..
        })
    ));
    assert!(matches!(
        list_parts("<Part><PartNumber>0</PartNumber><ETag>e</ETag></Part>"),
        Err(DecodeError::InvalidValue { .. })
    ));
    assert!(matches!(
        list_parts(
            "<Part><PartNumber>1</PartNumber><ETag>e</ETag><HashCrc64ecma>18446744073709551616</HashCrc64ecma></Part>"
        ),
        Err(DecodeError::InvalidValue { .. })
    ));
    assert!(matches!(
        list_parts("<IsTruncated>maybe</IsTruncated>"),
        Err(DecodeError::InvalidValue { .. })
    ));
}

#[test]
fn duplicate_singular_elements_are_errors() {
    assert_eq!(
        list_parts("<Key>a</Key><Key>b</Key>"),
        Err(DecodeError::DuplicateElement { name: "Key" })
    );
    assert_eq!(
        list_parts(
            "<Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber><ETag>e</ETag></Part>"
        ),
        Err(DecodeError::DuplicateElement { name: "PartNumber" })
    );
    let dup = b"<Error><Code>A</Code><Code>B</Code></Error>";
    assert_eq!(
        ServiceError::from_xml(StatusCode::BAD_REQUEST, dup),
        Err(DecodeError::DuplicateElement { name: "Code" })
    );
}

#[test]
fn structural_errors() {
    assert!(matches!(
        ListPartsOutput::from_xml(b""),
        Err(DecodeError::Malformed { .. })
    ));
    assert!(matches!(
        InitiateMultipartUploadOutput::from_xml(b"<Error><Code>x</Code></Error>"),
        Err(DecodeError::UnexpectedRoot {
            expected: "InitiateMultipartUploadResult",
            ..
        })
    ));
    assert_eq!(
        InitiateMultipartUploadOutput::from_xml(
            b"<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>"
        ),
        Err(DecodeError::MissingElement { name: "Key" })
    );
    assert!(matches!(
        ListPartsOutput::from_xml(b"<ListPartsResult></ListPartsResult><Again/>"),
        Err(DecodeError::Malformed { .. })
    ));
    assert!(matches!(
        ListPartsOutput::from_xml(b"<ListPartsResult></Other>"),
        Err(DecodeError::Malformed { .. })
    ));
    assert!(matches!(
        ListPartsOutput::from_xml(b"junk<ListPartsResult/>"),
        Err(DecodeError::Malformed { .. })
    ));
    assert!(matches!(
        ListMultipartUploadsOutput::from_xml(b"<ListMultipartUploadsResult><EncodingType>url</EncodingType><Prefix>%FF</Prefix></ListMultipartUploadsResult>"),
        Err(DecodeError::InvalidValue { .. })
    ));
    assert!(
        ListObjectsV2Output::from_xml(
            b"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>"
        )
        .is_err()
    );
}

#[test]
fn error_messages_quoting_non_ascii_input_do_not_panic() {
    // Found by the xml_list_objects fuzzer: the reader's message was cut mid-character.
    for pad in 0..4 {
        let body = format!(
            "<ListPartsResult>{}</{}{}>",
            "",
            "a".repeat(pad),
            "é".repeat(150)
        );
        assert!(matches!(
            ListPartsOutput::from_xml(body.as_bytes()),
            Err(DecodeError::Malformed { .. })
        ));
    }
}

#[test]
fn complete_body_limits() {
    let part = "<Part><PartNumber>1</PartNumber><ETag>\"e\"</ETag></Part>";
    let too_many = format!(
        "<CompleteMultipartUpload>{}</CompleteMultipartUpload>",
        part.repeat(10_001)
    );
    assert!(matches!(
        CompleteMultipartUploadBody::from_xml(too_many.as_bytes()),
        Err(DecodeError::InvalidValue { name: "Part", .. })
    ));
    let exactly = format!(
        "<CompleteMultipartUpload>{}</CompleteMultipartUpload>",
        part.repeat(10_000)
    );
    assert_eq!(
        CompleteMultipartUploadBody::from_xml(exactly.as_bytes())
            .unwrap()
            .parts
            .len(),
        10_000
    );
    let huge = vec![b' '; limits::MAX_COMPLETE_BODY + 1];
    assert!(matches!(
        CompleteMultipartUploadBody::from_xml(&huge),
        Err(DecodeError::TooLarge { .. })
    ));
    assert_eq!(
        CompleteMultipartUploadBody::from_xml(
            b"<CompleteMultipartUpload><Part><ETag>e</ETag></Part></CompleteMultipartUpload>"
        ),
        Err(DecodeError::MissingElement { name: "PartNumber" })
    );
}

#[test]
fn error_responses_without_a_document() {
    let mut headers = HeaderMap::new();
    headers.insert("x-oss-request-id", HeaderValue::from_static("ABC"));
    headers.insert("x-oss-ec", HeaderValue::from_static("0026-00000001"));
    let err = ServiceError::from_response(StatusCode::NOT_FOUND, &headers, b"");
    assert_eq!(err.code(), "NoSuchKey");
    assert_eq!(err.request_id(), "ABC");
    assert_eq!(err.ec(), Some("0026-00000001"));

    let err = ServiceError::from_response(
        StatusCode::BAD_GATEWAY,
        &HeaderMap::new(),
        b"<html>bad gateway</html>",
    );
    assert!(err.is_retryable());
    assert_eq!(err.status(), StatusCode::BAD_GATEWAY);

    // HEAD: the document travels base64-encoded in x-oss-err.
    let doc = ServiceError::new(
        StatusCode::NOT_FOUND,
        "NoSuchKey",
        "The specified key does not exist.",
    )
    .with_request_id("RID")
    .with_ec("0026-00000001");
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-oss-err",
        HeaderValue::from_str(&doc.to_header_value()).unwrap(),
    );
    let err = ServiceError::from_response(StatusCode::NOT_FOUND, &headers, b"");
    assert_eq!(err, doc);

    // A garbage x-oss-err falls back to the status.
    let mut headers = HeaderMap::new();
    headers.insert("x-oss-err", HeaderValue::from_static("!!!not base64"));
    assert_eq!(
        ServiceError::from_response(StatusCode::FORBIDDEN, &headers, b"").code(),
        "AccessDenied"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// No parser panics on arbitrary bytes.
    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        oss_model::fuzzing::all(&bytes);
    }

    /// Nor on arbitrary text that looks like XML.
    #[test]
    fn parsers_never_panic_on_xmlish(text in "(<[A-Za-z]{1,8}>|</[A-Za-z]{1,8}>|[a-z0-9&;#<>\"/ ]{0,6}){0,40}") {
        oss_model::fuzzing::all(text.as_bytes());
    }
}
