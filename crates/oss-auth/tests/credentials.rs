//! Credentials never leak and know when they expire.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use oss_auth::Credentials;

#[test]
fn debug_and_display_hide_secret_and_token() {
    let c = Credentials::new("AKID", "s3cr3t-value").with_security_token("T0K3N-value");
    for text in [format!("{c:?}"), format!("{c}"), format!("{c:#?}")] {
        assert!(text.contains("AKID"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(!text.contains("T0K3N"), "{text}");
    }
    assert_eq!(c.access_key_secret(), "s3cr3t-value");
    assert_eq!(c.security_token(), Some("T0K3N-value"));
}

#[test]
fn expiration() {
    use std::time::{Duration, UNIX_EPOCH};
    let exp = UNIX_EPOCH + Duration::from_secs(100);
    let c = Credentials::new("a", "b").with_expiration(exp);
    assert!(!c.is_expired(UNIX_EPOCH + Duration::from_secs(99)));
    assert!(c.is_expired(exp));
    assert!(!Credentials::new("a", "b").is_expired(exp));
}
