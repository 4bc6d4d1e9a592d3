//! Human-friendly sizes (`8MiB`, `100KB`, `5G`), rates (`10MiB/s`) and durations (`7d`, `90m`, `1h30m`).
//!
//! Suffixes are case-insensitive. Both `KiB` and `KB` (and the bare `K`) mean 1024 bytes: people type `8MB`
//! meaning a part size of 8 MiB far more often than they mean 8,000,000 bytes, and OSS's own limits
//! (100 KB minimum part) are binary units too.

use std::fmt;
use std::time::Duration;

/// Why a size, rate or duration string was rejected.
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
/// assert_eq!(ossmp::units::parse_size("8MiB"), Ok(8 * 1024 * 1024));
/// assert_eq!(ossmp::units::parse_size("100k"), Ok(102_400));
/// assert!(ossmp::units::parse_size("8 parsecs").is_err());
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

/// Parses a transfer rate such as `10MiB/s`, `10MiB` (per second implied) or `500k`.
pub fn parse_rate(input: &str) -> Result<u64, UnitError> {
    let trimmed = input.trim();
    let body = trimmed
        .strip_suffix("/s")
        .or_else(|| trimmed.strip_suffix("/S"))
        .unwrap_or(trimmed);
    parse_size(body).map_err(|e| match e {
        UnitError::UnknownUnit { unit, .. } => UnitError::UnknownUnit {
            input: input.to_owned(),
            unit,
            expected: "B/s, KiB/s, MiB/s or GiB/s",
        },
        other => other,
    })
}

/// Parses a duration such as `7d`, `36h`, `90m`, `45s`, `1w` or a compound `1h30m`. A bare number is seconds.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(ossmp::units::parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
/// assert_eq!(ossmp::units::parse_duration("1h30m"), Ok(Duration::from_secs(5_400)));
/// ```
pub fn parse_duration(input: &str) -> Result<Duration, UnitError> {
    let mut rest = input.trim();
    if rest.is_empty() {
        return Err(UnitError::Empty);
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if end == 0 {
            return Err(UnitError::NotANumber(input.to_owned()));
        }
        let value: u64 = rest[..end]
            .parse()
            .map_err(|_| UnitError::Overflow(input.to_owned()))?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = rest[..unit_end].trim();
        rest = &rest[unit_end..];
        let seconds: u64 = match unit.to_ascii_lowercase().as_str() {
            "" | "s" | "sec" | "secs" => 1,
            "m" | "min" | "mins" => 60,
            "h" | "hr" | "hrs" => 3_600,
            "d" | "day" | "days" => 86_400,
            "w" | "week" | "weeks" => 604_800,
            _ => {
                return Err(UnitError::UnknownUnit {
                    input: input.to_owned(),
                    unit: unit.to_owned(),
                    expected: "s, m, h, d or w",
                });
            }
        };
        total = value
            .checked_mul(seconds)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| UnitError::Overflow(input.to_owned()))?;
    }
    Ok(Duration::from_secs(total))
}

/// Displays a byte count with a binary unit, e.g. `256.0 MiB`.
#[derive(Debug, Clone, Copy)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
        let mut value = self.0;
        let mut unit = 0;
        // Integer steps keep exact values exact ("8 MiB", not "8.0 MiB") when they divide evenly.
        while unit + 1 < UNITS.len() && value >= 1024 && value.is_multiple_of(1024) {
            value /= 1024;
            unit += 1;
        }
        if unit + 1 < UNITS.len() && value >= 1024 {
            #[allow(clippy::cast_precision_loss)]
            let mut v = value as f64;
            while unit + 1 < UNITS.len() && v >= 1024.0 {
                v /= 1024.0;
                unit += 1;
            }
            return write!(f, "{v:.1} {}", UNITS[unit]);
        }
        write!(f, "{value} {}", UNITS[unit])
    }
}

/// Displays a duration compactly, e.g. `3d 4h`, `12m 5s`, `850ms`.
#[derive(Debug, Clone, Copy)]
pub struct Ago(pub Duration);

impl fmt::Display for Ago {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs();
        match s {
            0 => write!(f, "{}ms", self.0.as_millis()),
            1..60 => write!(f, "{s}s"),
            60..3_600 => write!(f, "{}m {}s", s / 60, s % 60),
            3_600..86_400 => write!(f, "{}h {}m", s / 3_600, (s % 3_600) / 60),
            _ => write!(f, "{}d {}h", s / 86_400, (s % 86_400) / 3_600),
        }
    }
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
    fn rates() {
        assert_eq!(parse_rate("10MiB/s"), Ok(10 << 20));
        assert_eq!(parse_rate("500k"), Ok(500 << 10));
        assert!(parse_rate("10 parsec/s").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1w"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("90 min"), Ok(Duration::from_secs(5_400)));
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

    #[test]
    fn display() {
        assert_eq!(Bytes(0).to_string(), "0 B");
        assert_eq!(Bytes(8 << 20).to_string(), "8 MiB");
        assert_eq!(Bytes(1536).to_string(), "1.5 KiB");
        assert_eq!(Bytes(1000).to_string(), "1000 B");
        assert_eq!(
            Ago(Duration::from_secs(3 * 86_400 + 4 * 3_600)).to_string(),
            "3d 4h"
        );
        assert_eq!(Ago(Duration::from_millis(850)).to_string(), "850ms");
    }
}
