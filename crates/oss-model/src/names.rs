//! Validated newtypes for the names and numbers we send: once constructed they are valid.

use std::fmt;
use std::str::FromStr;

use crate::ValidationError;
use crate::limits::{MAX_KEY_LEN, MAX_PART_COUNT};

/// A part number, 1..=10000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartNumber(u16);

impl PartNumber {
    /// The first part.
    pub const MIN: Self = Self(1);
    /// The last possible part.
    pub const MAX: Self = Self(MAX_PART_COUNT as u16);

    /// Validates `value`.
    pub fn new(value: u32) -> Result<Self, ValidationError> {
        match u16::try_from(value) {
            Ok(n) if (1..=Self::MAX.0).contains(&n) => Ok(Self(n)),
            _ => Err(ValidationError::PartNumber {
                value: u64::from(value),
            }),
        }
    }

    /// The number as `u32`.
    pub const fn get(self) -> u32 {
        self.0 as u32
    }

    /// The next part number, if any.
    pub fn next(self) -> Option<Self> {
        Self::new(self.get() + 1).ok()
    }
}

impl fmt::Display for PartNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for PartNumber {
    type Err = ValidationError;

    /// Parses the decimal wire form; anything else (signs, spaces, overflow) is rejected.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::PartNumber {
                value: s.parse().unwrap_or(0),
            });
        }
        s.parse::<u32>()
            .map_err(|_| ValidationError::PartNumber { value: 0 })
            .and_then(Self::new)
    }
}

impl From<PartNumber> for u32 {
    fn from(n: PartNumber) -> Self {
        n.get()
    }
}

impl TryFrom<u32> for PartNumber {
    type Error = ValidationError;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

/// An object key: 1..=1023 bytes of UTF-8, not starting with `/` or `\`, as OSS requires.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Validates `key`.
    pub fn new(key: impl Into<String>) -> Result<Self, ValidationError> {
        let key = key.into();
        let reason = if key.is_empty() {
            "empty"
        } else if key.len() > MAX_KEY_LEN {
            "longer than 1023 bytes"
        } else if key.starts_with('/') || key.starts_with('\\') {
            "starts with `/` or `\\`"
        } else {
            return Ok(Self(key));
        };
        Err(ValidationError::ObjectKey { reason })
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for ObjectKey {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for ObjectKey {
    type Error = ValidationError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for ObjectKey {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

/// A bucket name: 3..=63 characters of `[a-z0-9-]`, not starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BucketName(String);

impl BucketName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, ValidationError> {
        let name = name.into();
        let reason = if !(3..=63).contains(&name.len()) {
            "length must be 3..=63"
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            "only lowercase letters, digits and `-` are allowed"
        } else if name.starts_with('-') || name.ends_with('-') {
            "must not start or end with `-`"
        } else {
            return Ok(Self(name));
        };
        Err(ValidationError::BucketName { reason })
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for BucketName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for BucketName {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for BucketName {
    type Error = ValidationError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_number_bounds() {
        assert!(PartNumber::new(0).is_err());
        assert_eq!(PartNumber::new(1).map(PartNumber::get), Ok(1));
        assert_eq!(PartNumber::new(10_000).map(PartNumber::get), Ok(10_000));
        assert!(PartNumber::new(10_001).is_err());
        assert!(PartNumber::new(u32::MAX).is_err());
        assert!("+1".parse::<PartNumber>().is_err());
        assert!("99999999999999999999".parse::<PartNumber>().is_err());
        assert_eq!("42".parse::<PartNumber>().map(PartNumber::get), Ok(42));
        assert_eq!(PartNumber::MAX.next(), None);
    }

    #[test]
    fn key_rules() {
        assert!(ObjectKey::new("").is_err());
        assert!(ObjectKey::new("/a").is_err());
        assert!(ObjectKey::new("\\a").is_err());
        assert!(ObjectKey::new("a".repeat(1023)).is_ok());
        assert!(ObjectKey::new("a".repeat(1024)).is_err());
        // 1023 bytes, not characters: 341 three-byte chars = 1023 bytes, 342 = 1026.
        assert!(ObjectKey::new("界".repeat(341)).is_ok());
        assert!(ObjectKey::new("界".repeat(342)).is_err());
        assert!(ObjectKey::new("a/\u{c}\n").is_ok());
    }

    #[test]
    fn bucket_rules() {
        assert!(BucketName::new("examplebucket").is_ok());
        assert!(BucketName::new("ab").is_err());
        assert!(BucketName::new("a".repeat(64)).is_err());
        assert!(BucketName::new("-abc").is_err());
        assert!(BucketName::new("abc-").is_err());
        assert!(BucketName::new("Abc").is_err());
        assert!(BucketName::new("a_c").is_err());
        assert!(BucketName::new("a-1-c").is_ok());
    }
}
