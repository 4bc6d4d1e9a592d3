//! Where Alibaba Cloud credentials come from: the default chain of the official Credentials
//! tools, for `oss-multipart` (and anything else that signs with `oss-auth`).
//!
//! # What this crate does
//!
//! * [`DefaultChain`]: environment, OIDC role ARN (RRSA on ACK), the aliyun CLI's
//!   `~/.aliyun/config.json`, `~/.alibabacloud/credentials`, the ECS RAM role from the instance
//!   metadata service, and a credentials URI, in that order. When nothing is found, the error
//!   lists every source and why it gave nothing.
//! * The sources one by one: [`StaticProvider`], [`EnvProvider`], [`EcsRamRole`],
//!   [`CredentialsUri`], [`AssumeRole`] (RAM role ARN, RPC-signed) and [`AssumeRoleWithOidc`].
//! * [`Refreshing`]: caches temporary credentials and refreshes them ahead of expiry, one
//!   refresh at a time, keeping still-valid credentials when a refresh fails and never
//!   returning expired ones.
//! * Short timeouts ([`Timeouts`]): an absent metadata service costs at most about a second.
//!
//! # What it does not do
//!
//! No signing of OSS requests (that is `oss-auth`, which stays pure: this crate depends on it
//! for the [`Credentials`] type and the [`ProvideCredentials`] trait), no RSA key pair, Cloud
//! SSO, OAuth or external-process credentials, no proxy for credential services (the
//! metadata service must never be proxied). Every endpoint can be overridden, so tests run
//! against fakes on `127.0.0.1`.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use oss_credentials::{ChainConfig, DefaultChain, Env, ProvideCredentials};
//!
//! let env = Env::from_pairs([
//!     ("ALIBABA_CLOUD_ACCESS_KEY_ID", "AKID"),
//!     ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "SECRET"),
//! ]);
//! let chain = DefaultChain::new(ChainConfig::default().env(env));
//! let creds = chain.provide_credentials().await?;
//! assert_eq!(creds.access_key_id(), "AKID");
//! assert_eq!(chain.source().as_deref(), Some("env"));
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

mod chain;
mod ecs;
mod env;
mod http;
mod profile;
mod refresh;
mod static_env;
mod sts;
mod uri;
mod wire;

pub use chain::{ChainConfig, DefaultChain};
pub use ecs::{DEFAULT_METADATA_ENDPOINT, EcsRamRole};
pub use env::Env;
pub use http::Timeouts;
pub use oss_auth::{Credentials, CredentialsError, CredentialsFuture, ProvideCredentials};
pub use refresh::{Fetch, RefreshPolicy, Refreshing};
pub use static_env::{EnvProvider, StaticProvider};
pub use sts::{AssumeRole, AssumeRoleWithOidc, rpc_signature, sts_endpoint};
pub use uri::CredentialsUri;
