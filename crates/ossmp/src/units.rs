//! Human-friendly sizes, rates (`10MiB/s`) and durations for the command line: parsing is the
//! client library's ([`oss_multipart::units`], one parser for the workspace); display is ours.

use std::fmt;
use std::time::Duration;

pub use oss_multipart::units::{UnitError, parse_duration, parse_size};

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
    fn rates() {
        assert_eq!(parse_rate("10MiB/s"), Ok(10 << 20));
        assert_eq!(parse_rate("500k"), Ok(500 << 10));
        assert!(parse_rate("10 parsec/s").is_err());
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
