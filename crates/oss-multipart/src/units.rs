//! Human-friendly sizes (`8MiB`, `100KB`, `5G`) and durations (`7d`, `90m`, `1h30m`, `250ms`),
//! as [`ConfigKey`](crate::ConfigKey) values and the `ossmp` command line accept them.
//!
//! One parser for the workspace: the client's configuration, the CLI and the benchmark tools all
//! call these, so `30s` or `8MiB` means the same everywhere. (`xtask` keeps a small copy: it may
//! not depend on workspace crates, so that it still builds when they do not.)
//!
//! Suffixes are case-insensitive. Both `KiB` and `KB` (and the bare `K`) mean 1024 bytes: people
//! type `8MB` meaning a part size of 8 MiB far more often than they mean 8,000,000 bytes, and
//! OSS's own limits (100 KB minimum part) are binary units too.

use std::time::Duration;

/// Why a size or duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnitError {
    /// The string was empty.
    #[error("empty value")]
    Empty,
    /// The number part was missing or not a number.
    #[error("`{0}` does not start with a number")]
    NotANumber(String),
    /// The unit suffix is not one we know.
    #[error("unknown unit `{unit}` in `{input}` (use {expected})")]
    UnknownUnit {
        /// The whole input.
        input: String,
        /// The suffix we could not read.
        unit: String,
        /// The units that would have been accepted.
        expected: &'static str,
    },
    /// The value does not fit in 64 bits.
    #[error("`{0}` is too large")]
    Overflow(String),
}

/// Splits `"8.5MiB"` into (`8.5`, `"MiB"`), rejecting anything without a leading number.
fn split_number(input: &str) -> Result<(f64, &str), UnitError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(UnitError::Empty);
    }
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, rest) = s.split_at(end);
    // `f64::from_str` accepts "inf"/"nan"; we only ever hand it digits and dots, so those cannot sneak in.
    let value: f64 = num
        .parse()
        .map_err(|_| UnitError::NotANumber(input.to_owned()))?;
    Ok((value, rest.trim()))
}

fn to_u64(value: f64, input: &str) -> Result<u64, UnitError> {
    // 2^64 as f64; anything at or above it (or not finite) does not fit.
    if !value.is_finite() || value >= 18_446_744_073_709_551_616.0 {
        return Err(UnitError::Overflow(input.to_owned()));
    }
    // Truncation is intended: "1.5KiB" is 1536 bytes exactly, and sub-byte fractions have no meaning.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(value as u64)
}

/// Parses a byte size such as `8MiB`, `100KB`, `5G`, `1.5GiB` or a plain number of bytes.
///
/// ```
/// use oss_multipart::units::parse_size;
/// assert_eq!(parse_size("8MiB"), Ok(8 * 1024 * 1024));
/// assert_eq!(parse_size("100k"), Ok(102_400));
/// assert!(parse_size("8 parsecs").is_err());
/// ```
pub fn parse_size(input: &str) -> Result<u64, UnitError> {
    let (value, unit) = split_number(input)?;
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => {
            return Err(UnitError::UnknownUnit {
                input: input.to_owned(),
                unit: unit.to_owned(),
                expected: "B, KiB, MiB, GiB or TiB",
            });
        }
    };
    #[allow(clippy::cast_precision_loss)]
    to_u64(value * multiplier as f64, input)
}

/// Parses a duration such as `7d`, `36h`, `90m`, `45s`, `250ms`, `1w`, `1.5h` or a compound
/// `1h30m`. A bare number is seconds.
///
/// ```
/// use std::time::Duration;
/// use oss_multipart::units::parse_duration;
/// assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
/// assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5_400)));
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// ```
pub fn parse_duration(input: &str) -> Result<Duration, UnitError> {
    let mut rest = input.trim();
    if rest.is_empty() {
        return Err(UnitError::Empty);
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        // `f64::from_str` accepts "inf"/"nan"; we only ever hand it digits and dots.
        let value: f64 = rest[..end]
            .parse()
            .map_err(|_| UnitError::NotANumber(input.to_owned()))?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = rest[..unit_end].trim();
        rest = &rest[unit_end..];
        let seconds: f64 = match unit.to_ascii_lowercase().as_str() {
            "ms" | "msec" | "msecs" => 0.001,
            "" | "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hr" | "hrs" => 3_600.0,
            "d" | "day" | "days" => 86_400.0,
            "w" | "week" | "weeks" => 604_800.0,
            _ => {
                return Err(UnitError::UnknownUnit {
                    input: input.to_owned(),
                    unit: unit.to_owned(),
                    expected: "ms, s, m, h, d or w",
                });
            }
        };
        total = Duration::try_from_secs_f64(value * seconds)
            .ok()
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| UnitError::Overflow(input.to_owned()))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("8 mb"), Ok(8 << 20));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_size("5G"), Ok(5 << 30));
        assert_eq!(parse_size("2TiB"), Ok(2 << 40));
        assert_eq!(parse_size(""), Err(UnitError::Empty));
        assert!(matches!(parse_size("MiB"), Err(UnitError::NotANumber(_))));
        assert!(matches!(parse_size("1.2.3"), Err(UnitError::NotANumber(_))));
        assert!(matches!(
            parse_size("8 furlongs"),
            Err(UnitError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_size("99999999999999999999TiB"),
            Err(UnitError::Overflow(_))
        ));
        assert!(matches!(parse_size("-5"), Err(UnitError::NotANumber(_))));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1w"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("90 min"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert!(matches!(
            parse_duration("-1s"),
            Err(UnitError::NotANumber(_))
        ));
        assert!(matches!(
            parse_duration("NaN"),
            Err(UnitError::NotANumber(_))
        ));
        assert_eq!(parse_duration(""), Err(UnitError::Empty));
        assert!(matches!(parse_duration("d"), Err(UnitError::NotANumber(_))));
        assert!(matches!(
            parse_duration("3 fortnights"),
            Err(UnitError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_duration("99999999999999999999d"),
            Err(UnitError::Overflow(_))
        ));
        assert!(matches!(
            parse_duration("999999999999999999w"),
            Err(UnitError::Overflow(_))
        ));
    }
}
