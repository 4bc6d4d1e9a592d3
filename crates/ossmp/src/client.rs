//! Builds the library client from the layered [`Settings`].

use oss_multipart::{Addressing, Client, ConfigKey, Credentials, SignatureVersion};

use crate::config::Settings;
use crate::exit::{CliError, display_chain};

/// A client for the configured endpoint. Fails with exit 3 without credentials (the library would otherwise
/// fall back to the environment at request time, which we have already consulted) and with exit 2 without an
/// endpoint or region.
pub(crate) fn build(settings: &Settings, extra: &[(String, String)]) -> Result<Client, CliError> {
    let creds = settings.require_creds()?;
    let endpoint = settings.require_endpoint()?;
    let mut credentials =
        Credentials::new(creds.access_key_id.clone(), creds.access_key_secret.clone());
    if let Some(token) = &creds.session_token {
        credentials = credentials.with_security_token(token.clone());
    }
    let mut builder = Client::builder()
        .endpoint(endpoint.clone())
        .credentials(credentials);
    if let Some(region) = settings.effective_region() {
        builder = builder.region(region);
    } else if !settings.v1_signature {
        return Err(
            CliError::usage("no region configured (signature V4 needs one)")
                .hint("set OSS_REGION or pass --region, e.g. cn-hangzhou"),
        );
    }
    if settings.use_path_style(&endpoint) {
        builder = builder.addressing(Addressing::Path);
    }
    if settings.v1_signature {
        builder = builder.signature_version(SignatureVersion::V1);
    }
    for (key, value) in extra {
        let key: ConfigKey = key.parse().map_err(|e: oss_multipart::ConfigError| {
            CliError::usage(format!("--config {key}: {}", display_chain(&e)))
        })?;
        builder = builder.config(key, value);
    }
    builder.build().map_err(|e| {
        CliError::usage(display_chain(&e)).hint("check --endpoint, --region and --config")
    })
}
