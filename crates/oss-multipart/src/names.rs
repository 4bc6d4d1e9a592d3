//! Validation of user-given names into the model's newtypes, with usage errors.

use oss_model::{BucketName, ObjectKey, PartNumber};

use crate::error::Error;

pub(crate) fn bucket_name(bucket: &str) -> Result<BucketName, Error> {
    BucketName::new(bucket).map_err(|e| Error::config("bucket", e.to_string()))
}

pub(crate) fn object_key(key: &str) -> Result<ObjectKey, Error> {
    ObjectKey::new(key).map_err(|e| Error::config("key", e.to_string()))
}

pub(crate) fn part_number(n: u32) -> Result<PartNumber, Error> {
    PartNumber::new(n).map_err(|e| Error::config("part_number", e.to_string()))
}
