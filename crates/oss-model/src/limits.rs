//! Limits OSS enforces on multipart uploads plus the decoding bounds this crate applies to hostile input.

/// Smallest size of every part except the last (100 KiB), checked by OSS at Complete.
pub const MIN_PART_SIZE: u64 = 102_400;
/// Largest size of one part (5 GiB).
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Most parts in one upload; also the largest part number.
pub const MAX_PART_COUNT: u32 = 10_000;
/// Largest object a multipart upload can produce.
pub const MAX_OBJECT_SIZE: u64 = MAX_PART_COUNT as u64 * MAX_PART_SIZE;
/// Longest object key, in bytes of UTF-8.
pub const MAX_KEY_LEN: usize = 1023;
/// Largest (and default) `max-parts` of ListParts.
pub const MAX_LIST_PARTS: u32 = 1000;
/// Largest (and default) `max-uploads` of ListMultipartUploads.
pub const MAX_LIST_UPLOADS: u32 = 1000;
/// Largest (and default) `max-keys` of ListObjectsV2.
pub const MAX_LIST_KEYS: u32 = 1000;

/// Largest XML body we decode. A full ListObjectsV2 page of 1000 longest keys, URL-encoded,
/// stays under 4 MiB; twice that leaves room without letting a hostile peer exhaust memory.
pub const MAX_XML_BODY: usize = 8 * 1024 * 1024;
/// Deepest element nesting we decode; OSS documents nest at most 3 levels.
pub const MAX_XML_DEPTH: usize = 8;
/// Largest Complete request body a server accepts: 10,000 pretty-printed parts take about
/// 1.2 MB, so 4 MiB is generous while still bounded.
pub const MAX_COMPLETE_BODY: usize = 4 * 1024 * 1024;
