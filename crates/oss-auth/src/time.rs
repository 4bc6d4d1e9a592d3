//! Conversions between `SystemTime` and the two date formats OSS signs.
//!
//! Written by hand (civil-from-days) to keep the crate free of a date library: only
//! the ISO-8601 basic form `YYYYMMDDTHHMMSSZ` is needed besides RFC 1123 (`httpdate`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Largest instant we format: 9999-12-31T23:59:59Z (four-digit years only).
const MAX_UNIX: u64 = 253_402_300_799;

/// Seconds since the Unix epoch, or `None` before 1970 / after year 9999.
pub(crate) fn unix_seconds(t: SystemTime) -> Option<u64> {
    let secs = t.duration_since(UNIX_EPOCH).ok()?.as_secs();
    (secs <= MAX_UNIX).then_some(secs)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // d is in 1..=31 and m in 1..=12 by construction.
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Calendar fields of Unix seconds (`secs <= MAX_UNIX`, so the year has four digits).
struct Civil {
    year: u64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    /// Days since the epoch, for the weekday.
    days: u64,
}

impl Civil {
    fn new(secs: u64) -> Self {
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (y, month, day) = civil_from_days(i64::try_from(days).unwrap_or(0));
        Self {
            year: u64::try_from(y).unwrap_or(0),
            month,
            day,
            hour: rem / 3600,
            minute: (rem / 60) % 60,
            second: rem % 60,
            days,
        }
    }
}

/// Appends `value` as exactly `width` decimal digits (signing formats dates on every
/// request; `format!` was a visible share of a signature's cost).
fn push_digits(out: &mut String, value: u64, width: u32) {
    for place in (0..width).rev() {
        let digit = (value / 10u64.pow(place)) % 10;
        out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
    }
}

/// `YYYYMMDDTHHMMSSZ` for Unix seconds (caller guarantees `secs <= MAX_UNIX`).
pub(crate) fn iso8601_basic(secs: u64) -> String {
    let c = Civil::new(secs);
    let mut out = String::with_capacity(16);
    push_digits(&mut out, c.year, 4);
    push_digits(&mut out, u64::from(c.month), 2);
    push_digits(&mut out, u64::from(c.day), 2);
    out.push('T');
    push_digits(&mut out, c.hour, 2);
    push_digits(&mut out, c.minute, 2);
    push_digits(&mut out, c.second, 2);
    out.push('Z');
    out
}

/// RFC 1123 `Date` value for Unix seconds, e.g. `Sat, 16 Dec 2023 16:20:57 GMT`.
pub(crate) fn rfc1123(secs: u64) -> String {
    // 1970-01-01 was a Thursday.
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = Civil::new(secs);
    let mut out = String::with_capacity(29);
    out.push_str(WEEKDAYS[usize::try_from(c.days % 7).unwrap_or(0)]);
    out.push_str(", ");
    push_digits(&mut out, u64::from(c.day), 2);
    out.push(' ');
    let month = usize::try_from(c.month.saturating_sub(1)).unwrap_or(0);
    out.push_str(MONTHS[month.min(11)]);
    out.push(' ');
    push_digits(&mut out, c.year, 4);
    out.push(' ');
    push_digits(&mut out, c.hour, 2);
    out.push(':');
    push_digits(&mut out, c.minute, 2);
    out.push(':');
    push_digits(&mut out, c.second, 2);
    out.push_str(" GMT");
    out
}

/// Parses `YYYYMMDDTHHMMSSZ` strictly (the only form `x-oss-date` takes in V4).
pub(crate) fn parse_iso8601_basic(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &b[r];
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || d == 0 || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    // Reject day overflow such as 20250231 by round-tripping.
    if civil_from_days(days) != (i64::from(y), mo, d) {
        return None;
    }
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(se);
    u64::try_from(secs).ok()
}

/// Parses an RFC 1123 / HTTP date (V1 `Date` or `x-oss-date`).
pub(crate) fn parse_http_date(s: &str) -> Option<u64> {
    let t = httpdate::parse_http_date(s.trim()).ok()?;
    unix_seconds(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(iso8601_basic(1_702_743_657), "20231216T162057Z");
        assert_eq!(rfc1123(1_702_743_657), "Sat, 16 Dec 2023 16:20:57 GMT");
        assert_eq!(iso8601_basic(0), "19700101T000000Z");
        assert_eq!(iso8601_basic(MAX_UNIX), "99991231T235959Z");
        assert_eq!(parse_iso8601_basic("20231216T162057Z"), Some(1_702_743_657));
        assert_eq!(parse_iso8601_basic("20250231T000000Z"), None);
        assert_eq!(parse_iso8601_basic("2023121xT162057Z"), None);
        assert_eq!(
            parse_http_date("Wed, 01 Jan 2025 12:00:00 GMT"),
            Some(1_735_732_800)
        );
        for s in [0u64, 951_782_400, 1_735_689_599, 4_102_444_800] {
            assert_eq!(parse_iso8601_basic(&iso8601_basic(s)), Some(s));
        }
    }

    /// The hand-written RFC 1123 formatter against `httpdate`'s, across the whole range.
    #[test]
    fn rfc1123_matches_httpdate() {
        let mut secs = 0u64;
        while secs <= MAX_UNIX {
            let t = UNIX_EPOCH + std::time::Duration::from_secs(secs);
            assert_eq!(rfc1123(secs), httpdate::fmt_http_date(t), "at {secs}");
            // A prime stride visits every weekday, month, leap day and time of day.
            secs += 7_919_993;
        }
        assert_eq!(rfc1123(MAX_UNIX), "Fri, 31 Dec 9999 23:59:59 GMT");
    }
}
