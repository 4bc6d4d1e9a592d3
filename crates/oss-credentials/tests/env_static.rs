//! The static and environment providers work without a runtime or the process env (moved here
//! from oss-auth, unchanged in what they assert).
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::collections::HashMap;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use oss_credentials::{Credentials, EnvProvider, ProvideCredentials, StaticProvider};

fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("provider future was not ready"),
    }
}

fn env(vars: &[(&str, &str)]) -> EnvProvider {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    EnvProvider::with_lookup(move |k| map.get(k).cloned())
}

#[test]
fn env_provider_families_and_priority() {
    let c = env(&[
        ("OSS_ACCESS_KEY_ID", "a"),
        ("OSS_ACCESS_KEY_SECRET", "b"),
        ("OSS_SESSION_TOKEN", "t"),
    ])
    .load()
    .unwrap();
    assert_eq!(
        (c.access_key_id(), c.access_key_secret(), c.security_token()),
        ("a", "b", Some("t"))
    );

    let c = env(&[
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "x"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "y"),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", "z"),
    ])
    .load()
    .unwrap();
    assert_eq!((c.access_key_id(), c.security_token()), ("x", Some("z")));

    // OSS_* wins; families are not mixed (OSS id without its secret falls through).
    let c = env(&[
        ("OSS_ACCESS_KEY_ID", "a"),
        ("OSS_ACCESS_KEY_SECRET", "b"),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "x"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "y"),
    ])
    .load()
    .unwrap();
    assert_eq!(c.access_key_id(), "a");
    let c = env(&[
        ("OSS_ACCESS_KEY_ID", "a"),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "x"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "y"),
        ("OSS_SESSION_TOKEN", "t"),
    ])
    .load()
    .unwrap();
    assert_eq!((c.access_key_id(), c.security_token()), ("x", None));

    let e = env(&[("OSS_ACCESS_KEY_ID", "a"), ("OSS_ACCESS_KEY_SECRET", "")])
        .load()
        .unwrap_err();
    assert!(e.is_not_found());
}

#[test]
fn providers_are_async_and_object_safe() {
    let providers: Vec<Box<dyn ProvideCredentials>> = vec![
        Box::new(StaticProvider::new(Credentials::new("s", "k"))),
        Box::new(env(&[
            ("OSS_ACCESS_KEY_ID", "e"),
            ("OSS_ACCESS_KEY_SECRET", "k"),
        ])),
    ];
    let ids: Vec<String> = providers
        .iter()
        .map(|p| {
            ready(p.provide_credentials())
                .unwrap()
                .access_key_id()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["s", "e"]);
    let p = StaticProvider::new(Credentials::new("s", "Hidden-Secret"));
    assert!(!format!("{p:?}").contains("Hidden-Secret"));
}
