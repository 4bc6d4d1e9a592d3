//! The default chain against fakes of the metadata service, STS and a credentials URI on
//! 127.0.0.1: no test contacts 100.100.100.200 or an STS host (every endpoint is overridden).
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Fake, closed_url, session_json, sts_json};
use oss_credentials::{
    AssumeRole, ChainConfig, Credentials, DefaultChain, Env, ProvideCredentials, RefreshPolicy,
    Refreshing, StaticProvider, rpc_signature,
};

/// An environment with an empty home directory and the given variables.
fn env(home: &std::path::Path, vars: &[(&str, &str)]) -> Env {
    let mut pairs: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    pairs.push(("HOME".to_owned(), home.display().to_string()));
    Env::from_pairs(pairs)
}

async fn chain_at(home: &std::path::Path, vars: &[(&str, &str)], metadata: &str) -> DefaultChain {
    DefaultChain::new(
        ChainConfig::default()
            .env(env(home, vars))
            .metadata_endpoint(metadata),
    )
}

#[tokio::test]
async fn nothing_found_lists_every_source_and_why() {
    let home = tempfile::tempdir().unwrap();
    let chain = chain_at(home.path(), &[], &closed_url().await).await;
    let err = chain.provide_credentials().await.unwrap_err();
    let msg = err.to_string();
    assert!(err.is_not_found());
    for part in [
        "env: OSS_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_ID unset",
        "OIDC: ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE unset",
        ".aliyun/config.json: absent",
        ".alibabacloud/credentials: absent",
        "ECS metadata:",
        "credentials URI: ALIBABA_CLOUD_CREDENTIALS_URI unset",
    ] {
        assert!(msg.contains(part), "{part:?} missing in {msg}");
    }

    let disabled = DefaultChain::new(
        ChainConfig::default()
            .env(env(
                home.path(),
                &[("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")],
            ))
            .metadata_endpoint(closed_url().await),
    );
    let msg = disabled
        .provide_credentials()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("ECS metadata: disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED"),
        "{msg}"
    );
}

#[tokio::test]
async fn ecs_ram_role_uses_the_imdsv2_token_and_discovers_the_role() {
    let fake = Fake::start(|req| match (req.method.as_str(), req.path()) {
        ("PUT", "/latest/api/token") => {
            assert_eq!(
                req.headers
                    .get("x-aliyun-ecs-metadata-token-ttl-seconds")
                    .map(String::as_str),
                Some("21600")
            );
            (200, "tok-123".to_owned())
        }
        _ if req
            .headers
            .get("x-aliyun-ecs-metadata-token")
            .map(String::as_str)
            != Some("tok-123") =>
        {
            (401, "no token".to_owned())
        }
        ("GET", "/latest/meta-data/ram/security-credentials/") => (200, "MyRole".to_owned()),
        ("GET", "/latest/meta-data/ram/security-credentials/MyRole") => {
            (200, session_json("ECSKEY", Duration::from_secs(3600)))
        }
        _ => (404, String::new()),
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let chain = chain_at(home.path(), &[], &fake.url).await;
    let c = chain.provide_credentials().await.unwrap();
    assert_eq!(c.access_key_id(), "ECSKEY");
    assert_eq!(c.security_token(), Some("token-ECSKEY"));
    assert!(c.expiration().is_some());
    assert_eq!(chain.source().as_deref(), Some("ecs_ram_role"));
    // Cached: a second call asks nothing.
    let before = fake.seen().len();
    chain.provide_credentials().await.unwrap();
    assert_eq!(fake.seen().len(), before);
    assert_eq!(before, 3);

    // A named role skips discovery.
    let named = chain_at(
        home.path(),
        &[("ALIBABA_CLOUD_ECS_METADATA", "MyRole")],
        &fake.url,
    )
    .await;
    named.provide_credentials().await.unwrap();
    let paths: Vec<String> = fake.seen()[3..]
        .iter()
        .map(|s| s.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/latest/api/token",
            "/latest/meta-data/ram/security-credentials/MyRole"
        ]
    );
}

#[tokio::test]
async fn oidc_rereads_the_token_file_on_each_refresh() {
    let fake = Fake::start(|req| {
        let p = req.params();
        assert_eq!(p["Action"], "AssumeRoleWithOIDC");
        assert_eq!(p["RoleArn"], "acs:ram::1:role/pod");
        assert_eq!(p["OIDCProviderArn"], "acs:ram::1:oidc-provider/ack");
        (
            200,
            sts_json(
                &format!("STS-{}", p["OIDCToken"]),
                Duration::from_secs(3600),
            ),
        )
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let token = home.path().join("token");
    std::fs::write(&token, "first\n").unwrap();
    let token_path = token.display().to_string();
    let vars = [
        ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1:role/pod"),
        (
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "acs:ram::1:oidc-provider/ack",
        ),
        ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", token_path.as_str()),
    ];
    // Refresh ahead by more than the lifetime: every call refreshes.
    let chain = DefaultChain::new(
        ChainConfig::default()
            .env(env(home.path(), &vars))
            .metadata_endpoint(closed_url().await)
            .sts_endpoint(fake.url.clone())
            .refresh(RefreshPolicy::new(
                Duration::from_secs(7200),
                Duration::ZERO,
            )),
    );
    assert_eq!(
        chain.provide_credentials().await.unwrap().access_key_id(),
        "STS-first"
    );
    assert_eq!(chain.source().as_deref(), Some("oidc_role_arn"));
    std::fs::write(&token, "second").unwrap();
    assert_eq!(
        chain.provide_credentials().await.unwrap().access_key_id(),
        "STS-second"
    );

    // An unreadable token file is an error that names the file, not a fall-through.
    std::fs::remove_file(&token).unwrap();
    let broken = DefaultChain::new(
        ChainConfig::default()
            .env(env(home.path(), &vars))
            .sts_endpoint(fake.url.clone()),
    );
    let msg = broken.provide_credentials().await.unwrap_err().to_string();
    assert!(
        msg.contains(&token_path) && msg.contains("ALIBABA_CLOUD_OIDC_TOKEN_FILE"),
        "{msg}"
    );
}

#[tokio::test]
async fn sts_error_documents_surface_code_message_and_request_id() {
    let fake = Fake::start(|_| {
        (
            403,
            r#"{"RequestId":"7AB1-REQ","HostId":"sts.aliyuncs.com","Code":"NoPermission","Message":"You are not authorized to do this action."}"#
                .to_owned(),
        )
    })
    .await;
    let role = AssumeRole::new(
        Arc::new(StaticProvider::new(Credentials::new("ak", "sk"))),
        "acs:ram::1:role/r",
        fake.url.clone(),
    )
    .unwrap();
    let msg = Refreshing::new(role)
        .provide_credentials()
        .await
        .unwrap_err()
        .to_string();
    for part in [
        "HTTP 403",
        "NoPermission",
        "You are not authorized",
        "7AB1-REQ",
    ] {
        assert!(msg.contains(part), "{part:?} missing in {msg}");
    }
}

#[tokio::test]
async fn assume_role_is_signed_and_carries_its_options() {
    let fake = Fake::start(|req| {
        let mut p = req.params();
        let signature = p.remove("Signature").unwrap();
        let pairs: Vec<(String, String)> = p.clone().into_iter().collect();
        let ok = signature == rpc_signature("POST", &pairs, "caller-secret");
        let ok = ok
            && p["Action"] == "AssumeRole"
            && p["AccessKeyId"] == "caller"
            && p["SecurityToken"] == "caller-token"
            && p["ExternalId"] == "ext-1"
            && p["RoleSessionName"] == "my-session"
            && p["DurationSeconds"] == "900"
            && p["Policy"] == r#"{"Version":"1"}"#;
        if ok {
            (200, sts_json("ROLE", Duration::from_secs(900)))
        } else {
            (
                400,
                r#"{"Code":"SignatureDoesNotMatch","Message":"m","RequestId":"r"}"#.to_owned(),
            )
        }
    })
    .await;
    let caller = Credentials::new("caller", "caller-secret").with_security_token("caller-token");
    let role = AssumeRole::new(
        Arc::new(StaticProvider::new(caller)),
        "acs:ram::1:role/r",
        fake.url.clone(),
    )
    .unwrap()
    .session_name("my-session")
    .duration(Duration::from_secs(900))
    .policy(r#"{"Version":"1"}"#)
    .external_id("ext-1");
    let c = Refreshing::new(role).provide_credentials().await.unwrap();
    assert_eq!(c.access_key_id(), "ROLE");
    let seen = &fake.seen()[0];
    assert_eq!(seen.method, "POST");
    // The role options travel in the form body, the signature in the query.
    assert!(
        seen.body.contains("RoleArn=acs%3Aram%3A%3A1%3Arole%2Fr"),
        "{}",
        seen.body
    );
    assert!(seen.target.contains("Signature="));
}

#[tokio::test]
async fn refresh_is_single_flight_and_keeps_valid_credentials_on_failure() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    // First answer: valid for 60 s; then the service fails.
    let fake = Fake::start(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(200));
            (200, session_json("FIRST", Duration::from_secs(60)))
        } else {
            (500, "down".to_owned())
        }
    })
    .await;
    let uri = oss_credentials::CredentialsUri::new(fake.url.clone()).unwrap();
    // Refresh when less than 120 s are left (so at once), retry 1 s after a failure.
    let p = Arc::new(Refreshing::with_policy(
        uri,
        RefreshPolicy::new(Duration::from_secs(120), Duration::from_secs(1)),
    ));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let p = Arc::clone(&p);
            tokio::spawn(async move { p.provide_credentials().await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().access_key_id(), "FIRST");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one fetch for 16 concurrent callers"
    );

    // Next call wants a refresh (60 s left < 120 s); it fails, the valid ones are kept...
    assert_eq!(
        p.provide_credentials().await.unwrap().access_key_id(),
        "FIRST"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // ...and no new attempt is made before the retry delay.
    assert_eq!(
        p.provide_credentials().await.unwrap().access_key_id(),
        "FIRST"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn expired_credentials_are_never_used() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let fake = Fake::start(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            (200, session_json("SHORT", Duration::from_secs(1)))
        } else {
            (500, "down".to_owned())
        }
    })
    .await;
    let uri = oss_credentials::CredentialsUri::new(fake.url.clone()).unwrap();
    let p = Refreshing::with_policy(
        uri,
        RefreshPolicy::new(Duration::ZERO, Duration::from_secs(60)),
    );
    assert_eq!(
        p.provide_credentials().await.unwrap().access_key_id(),
        "SHORT"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let err = p.provide_credentials().await.unwrap_err();
    assert!(err.to_string().contains("HTTP 500"), "{err}");
}

#[tokio::test]
async fn profile_files_are_read_with_alibaba_cloud_profile() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".alibabacloud")).unwrap();
    std::fs::write(
        home.path().join(".alibabacloud/credentials"),
        "[default]\ntype = access_key\naccess_key_id = ini-default\naccess_key_secret = s\n\n\
         [work]\ntype = access_key\naccess_key_id = ini-work\naccess_key_secret = s\n",
    )
    .unwrap();
    let closed = closed_url().await;
    let c = chain_at(home.path(), &[], &closed).await;
    assert_eq!(
        c.provide_credentials().await.unwrap().access_key_id(),
        "ini-default"
    );
    let c = chain_at(home.path(), &[("ALIBABA_CLOUD_PROFILE", "work")], &closed).await;
    assert_eq!(
        c.provide_credentials().await.unwrap().access_key_id(),
        "ini-work"
    );
    assert!(
        c.source()
            .unwrap()
            .contains(".alibabacloud/credentials [work]")
    );

    // The aliyun CLI file comes first in the chain.
    std::fs::create_dir_all(home.path().join(".aliyun")).unwrap();
    std::fs::write(
        home.path().join(".aliyun/config.json"),
        r#"{"current":"work","profiles":[{"name":"work","mode":"StsToken","access_key_id":"cli-work","access_key_secret":"s","sts_token":"t"}]}"#,
    )
    .unwrap();
    let c = chain_at(home.path(), &[], &closed).await;
    let creds = c.provide_credentials().await.unwrap();
    assert_eq!(
        (creds.access_key_id(), creds.security_token()),
        ("cli-work", Some("t"))
    );

    // Malformed files stop the chain with file and line.
    std::fs::write(
        home.path().join(".aliyun/config.json"),
        "{\n  \"profiles\": [\n    {,}\n]}",
    )
    .unwrap();
    let msg = chain_at(home.path(), &[], &closed)
        .await
        .provide_credentials()
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains(".aliyun/config.json:3:"), "{msg}");
}

#[test]
fn rpc_signature_matches_the_official_python_package() {
    let doc: serde_json::Value =
        serde_json::from_str(&oss_test_vectors::text("rpc_signature.json")).unwrap();
    assert!(
        doc["source"]
            .as_str()
            .unwrap()
            .contains("alibabacloud_credentials")
    );
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let params: Vec<(String, String)> = case["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let got = rpc_signature(
            case["method"].as_str().unwrap(),
            &params,
            case["access_key_secret"].as_str().unwrap(),
        );
        assert_eq!(got, case["signature"].as_str().unwrap(), "{}", case["name"]);
    }
}
