//! OSS multipart limits. Mirrors `oss_model::limits`; kept here so the planner is
//! usable on its own.

/// Smallest part except the last: 100 KiB.
pub const MIN_PART_SIZE: u64 = 102_400;
/// Largest part: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Most parts in one upload.
pub const MAX_PART_COUNT: u32 = 10_000;
/// Largest object a multipart upload can build: 10,000 × 5 GiB (≈ 48.8 TiB).
pub const MAX_OBJECT_SIZE: u64 = MAX_PART_COUNT as u64 * MAX_PART_SIZE;
/// Largest single PutObject body: 5 GiB.
pub const MAX_PUT_SIZE: u64 = MAX_PART_SIZE;
/// ListParts page size (default and maximum).
pub const MAX_LIST_PARTS: u32 = 1000;
/// Largest object one CopyObject may copy: 1 GiB; larger ones are copied part by part.
pub const MAX_COPY_OBJECT_SIZE: u64 = 1024 * 1024 * 1024;
