//! Builds the library client from the [`Settings`]: profile file, then the environment, then the flags, each
//! layer handed to the library's builder so that its one resolution rule decides the endpoint, region and
//! addressing, as it does for `Client::from_env`.

use oss_multipart::{ChainConfig, Client, ClientBuilder, ConfigKey, Credentials, SignatureVersion};

use crate::config::{Layer, Settings};
use crate::exit::{CliError, display_chain};

fn apply(mut builder: ClientBuilder, layer: &Layer) -> ClientBuilder {
    if let Some(e) = &layer.endpoint {
        builder = builder.endpoint(e.clone());
    }
    if let Some(r) = &layer.region {
        builder = builder.region(r.clone());
    }
    if let Some(a) = layer.addressing {
        builder = builder.addressing(a);
    }
    if layer.v1_signature {
        builder = builder.signature_version(SignatureVersion::V1);
    }
    builder
}

/// A client for the configured endpoint: exit 2 without an endpoint or region (or with a non-standard endpoint
/// and no region for V4). Without fixed keys the credential chain runs at the first request; finding nothing
/// there is exit 3, with the list of sources tried.
pub(crate) fn build(settings: &Settings, extra: &[(String, String)]) -> Result<Client, CliError> {
    let mut builder = apply(Client::builder(), &settings.profile).with_env(settings.env.clone());
    builder = apply(builder, &settings.flags);
    if let Some(proxy) = &settings.proxy {
        builder = builder.proxy(proxy.clone());
    }
    if let Some(file) = &settings.ca_bundle {
        builder = builder.ca_bundle(file.clone());
    }
    builder = match &settings.creds {
        Some(creds) => {
            let mut c =
                Credentials::new(creds.access_key_id.clone(), creds.access_key_secret.clone());
            if let Some(token) = &creds.session_token {
                c = c.with_security_token(token.clone());
            }
            builder.credentials(c)
        }
        None => {
            let mut chain = ChainConfig::default().env(settings.env.clone());
            if let Some(p) = &settings.chain_profile {
                chain = chain.profile(p.clone());
            }
            builder.credentials_chain(chain)
        }
    };
    for (key, value) in extra {
        let key: ConfigKey = key.parse().map_err(|e: oss_multipart::ConfigError| {
            CliError::usage(format!("--config {key}: {}", display_chain(&e)))
        })?;
        builder = builder.config(key, value);
    }
    builder.build().map_err(|e| {
        CliError::usage(display_chain(&e))
            .hint("check --endpoint, --region, --addressing, --proxy, --ca-bundle and --config")
    })
}
