//! Clock skew: OSS refuses requests signed more than 15 minutes away from its clock
//! (`RequestTimeTooSkewed`). The error says the server's time (`ServerTime`, else the `Date`
//! header); the client learns the offset from it, signs every later request (and presigned
//! URL) with the corrected time, and the request is retried.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

/// The learned offset between the server's clock and ours, in milliseconds (server − local).
#[derive(Debug, Default)]
pub(crate) struct ClockSkew {
    offset_ms: AtomicI64,
}

impl ClockSkew {
    /// `local` moved by the learned offset.
    pub(crate) fn correct(&self, local: SystemTime) -> SystemTime {
        let ms = self.offset_ms.load(Ordering::Relaxed);
        let d = Duration::from_millis(ms.unsigned_abs());
        if ms >= 0 {
            local.checked_add(d).unwrap_or(local)
        } else {
            local.checked_sub(d).unwrap_or(local)
        }
    }

    /// Learns the offset from a `RequestTimeTooSkewed` answer received at `local`; returns
    /// whether it did (any other answer, or one without a readable server time, is ignored).
    pub(crate) fn observe(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        local: SystemTime,
    ) -> bool {
        if status != StatusCode::FORBIDDEN {
            return false;
        }
        let err = oss_model::ServiceError::from_response(status, headers, body);
        if err.code() != "RequestTimeTooSkewed" {
            return false;
        }
        let server = err
            .extra("ServerTime")
            .and_then(parse_server_time)
            .or_else(|| {
                headers
                    .get(http::header::DATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|d| httpdate::parse_http_date(d).ok())
            });
        let Some(server) = server else {
            return false;
        };
        let offset_ms = match server.duration_since(local) {
            Ok(ahead) => i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX),
            Err(behind) => -i64::try_from(behind.duration().as_millis()).unwrap_or(i64::MAX),
        };
        tracing::warn!(
            offset_ms,
            "the local clock differs from the server's; signing with the server's time"
        );
        self.offset_ms.store(offset_ms, Ordering::Relaxed);
        true
    }
}

/// `2025-01-01T12:00:00.000Z` (what OSS sends) or `20250101T120000Z` (the `x-oss-date` form).
fn parse_server_time(text: &str) -> Option<SystemTime> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim();
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t.into());
    }
    let compact = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(text, &compact)
        .ok()
        .map(|t| t.assume_utc().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKEWED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>RequestTimeTooSkewed</Code>\
        <Message>The difference between the request time and the current time is too large.</Message>\
        <RequestId>R</RequestId><HostId>h</HostId><MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>\
        <RequestTime>2025-01-01T11:00:00.000Z</RequestTime><ServerTime>2025-01-01T12:00:00.000Z</ServerTime></Error>";

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn learns_the_offset_from_server_time_and_corrects_later_times() {
        let skew = ClockSkew::default();
        let local = at(1_735_732_800 - 3600);
        assert!(skew.observe(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            SKEWED.as_bytes(),
            local
        ));
        assert_eq!(skew.correct(local), at(1_735_732_800));
        assert_eq!(skew.correct(at(100)), at(3700));
    }

    #[test]
    fn ignores_other_errors_and_falls_back_to_date() {
        let skew = ClockSkew::default();
        let denied = SKEWED.replace("RequestTimeTooSkewed", "AccessDenied");
        assert!(!skew.observe(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            denied.as_bytes(),
            at(0)
        ));
        assert_eq!(skew.correct(at(50)), at(50));
        let no_time = SKEWED.replace("<ServerTime>2025-01-01T12:00:00.000Z</ServerTime>", "");
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::DATE,
            "Wed, 01 Jan 2025 12:00:00 GMT".parse().unwrap(),
        );
        assert!(skew.observe(
            StatusCode::FORBIDDEN,
            &headers,
            no_time.as_bytes(),
            at(1_735_732_900)
        ));
        assert_eq!(skew.correct(at(1_000)), at(900));
        assert_eq!(
            parse_server_time("20250101T120000Z"),
            Some(at(1_735_732_800))
        );
    }
}
