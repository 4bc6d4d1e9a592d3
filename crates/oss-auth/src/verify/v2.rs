//! Verification of V2 (`OSS2`, HMAC-SHA256) signatures: `Authorization: OSS2
//! AccessKeyId:AK,AdditionalHeaders:a;b,Signature:SIG`, or a URL presigned with
//! `x-oss-signature-version=OSS2`. OSS still accepts them and the `oss2` SDK can send them;
//! this crate verifies them for servers and does not sign them (V4 is the default, V1 the
//! fallback).

use super::{
    AuthLocation, Presigned, SignatureVersion, VerifiedIdentity, Verifier, VerifyError,
    VerifyErrorKind, VerifyRequest, first, first_str,
};
use crate::canon;
use crate::encode::RawPair;
use crate::header_map::HeaderMap;
use crate::time::{iso8601_basic, parse_http_date};

/// `AccessKeyId:…,AdditionalHeaders:…,Signature:…` split; `None` when malformed.
fn parse_header(rest: &str) -> Option<(&str, Option<&str>, &str)> {
    let (mut ak, mut additional, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once(':')?;
        let slot = match name.trim() {
            "AccessKeyId" => &mut ak,
            "AdditionalHeaders" => &mut additional,
            "Signature" => &mut signature,
            _ => return None,
        };
        if slot.replace(value.trim()).is_some() {
            return None;
        }
    }
    Some((
        ak.filter(|a| !a.is_empty())?,
        additional,
        signature.filter(|s| !s.is_empty())?,
    ))
}

/// The additional header names as signed: lower case, sorted, each once.
fn additional_names(list: Option<&str>) -> Vec<String> {
    let mut names: Vec<String> = list
        .unwrap_or_default()
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

impl Verifier {
    pub(super) fn verify_v2_header<F>(
        &self,
        req: &VerifyRequest<'_>,
        headers: &HeaderMap<'_>,
        query: &[RawPair<'_>],
        rest: &str,
        secret_for: F,
        now: u64,
    ) -> Result<VerifiedIdentity, VerifyError>
    where
        F: FnOnce(&str) -> Option<String>,
    {
        let (ak, additional, provided) = parse_header(rest)
            .ok_or_else(|| VerifyError::invalid("Authorization header is invalid."))?;
        // The string to sign carries `Date`; the request time is `x-oss-date` when sent.
        let date_line = headers.get("date").unwrap_or_default();
        let time_header = headers
            .get("x-oss-date")
            .filter(|v| !v.is_empty())
            .unwrap_or(date_line);
        let req_time = parse_http_date(time_header).ok_or_else(|| {
            VerifyError::new(VerifyErrorKind::AccessDenied, None, "Invalid Date header.")
        })?;
        if req_time.abs_diff(now) > self.max_skew.as_secs() {
            return Err(Self::skew_error(&iso8601_basic(req_time), now));
        }
        let secret = Self::lookup(ak, secret_for)?;
        let sts = canon::v2_string_to_sign(
            req.method,
            headers,
            date_line,
            &additional_names(additional),
            req.bucket,
            req.key,
            query.iter().map(|(n, v)| (n.as_ref(), v.as_ref())),
        );
        Self::v2_compare(ak, &secret, &sts, provided)?;
        Ok(VerifiedIdentity {
            access_key_id: ak.to_owned(),
            security_token: headers.get("x-oss-security-token").map(str::to_owned),
            version: SignatureVersion::V2,
            location: AuthLocation::Header,
        })
    }

    pub(super) fn verify_v2_query<F>(
        &self,
        req: &VerifyRequest<'_>,
        headers: &HeaderMap<'_>,
        query: &[RawPair<'_>],
        secret_for: F,
        now: u64,
    ) -> Result<VerifiedIdentity, VerifyError>
    where
        F: FnOnce(&str) -> Option<String>,
    {
        let Presigned {
            ak,
            expires: expires_str,
            signature: provided,
        } = Presigned::read(
            query,
            ["x-oss-access-key-id", "x-oss-expires", "x-oss-signature"],
            now,
        )?;
        let secret = Self::lookup(ak, secret_for)?;
        // Everything in the query was signed but the signature itself.
        let signed = query
            .iter()
            .filter(|(n, _)| n.as_ref() != b"x-oss-signature")
            .map(|(n, v)| (n.as_ref(), v.as_ref()));
        let sts = canon::v2_string_to_sign(
            req.method,
            headers,
            expires_str,
            &additional_names(first_str(query, "x-oss-additional-headers")?),
            req.bucket,
            req.key,
            signed,
        );
        Self::v2_compare(ak, &secret, &sts, provided)?;
        let token = first(query, "security-token").map(|t| String::from_utf8_lossy(t).into_owned());
        Ok(VerifiedIdentity {
            access_key_id: ak.to_owned(),
            security_token: token,
            version: SignatureVersion::V2,
            location: AuthLocation::Query,
        })
    }

    fn v2_compare(ak: &str, secret: &str, sts: &[u8], provided: &str) -> Result<(), VerifyError> {
        // OSS documents no EC for a V2 mismatch.
        Self::compare_signed(&canon::v2_signature(secret, sts), provided, ak, sts, None)
    }
}
