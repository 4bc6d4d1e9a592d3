//! Caching and refreshing temporary credentials: ahead of expiry, one refresh at a time, never
//! past expiry, and still-valid credentials kept when a refresh fails.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use oss_auth::{Credentials, CredentialsError, CredentialsFuture, ProvideCredentials};

/// When to refresh, as plain durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshPolicy {
    /// Refresh once the credentials have less than this left (default 3 min, as the Alibaba
    /// Cloud tools do). Until they expire, requests keep using them while the refresh runs.
    pub refresh_ahead: Duration,
    /// After a failed refresh, wait this long before trying again while the old credentials
    /// are still valid (default 10 s). Expired credentials are never used: once they expire,
    /// every request tries to refresh.
    pub retry_after_failure: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            refresh_ahead: Duration::from_secs(180),
            retry_after_failure: Duration::from_secs(10),
        }
    }
}

impl RefreshPolicy {
    /// A policy with these two durations.
    pub fn new(refresh_ahead: Duration, retry_after_failure: Duration) -> Self {
        Self {
            refresh_ahead,
            retry_after_failure,
        }
    }
}

/// What to do with the cache at `now` (pure, so the rules are unit-tested without a clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// The cached credentials are good: use them.
    Use,
    /// Refresh, but the cached ones stay usable meanwhile (and if the refresh fails).
    RefreshKeeping,
    /// Nothing usable is cached: refresh and wait.
    Refresh,
}

pub(crate) fn plan(
    cached: Option<&Credentials>,
    retry_not_before: Option<SystemTime>,
    now: SystemTime,
    policy: RefreshPolicy,
) -> Plan {
    let Some(c) = cached else {
        return Plan::Refresh;
    };
    let Some(expiry) = c.expiration() else {
        return Plan::Use;
    };
    if now >= expiry {
        return Plan::Refresh;
    }
    let left = expiry.duration_since(now).unwrap_or(Duration::ZERO);
    if left >= policy.refresh_ahead || retry_not_before.is_some_and(|t| now < t) {
        Plan::Use
    } else {
        Plan::RefreshKeeping
    }
}

/// A source of temporary credentials that [`Refreshing`] caches: one fetch per call.
pub trait Fetch: Send + Sync + fmt::Debug {
    /// Fetches fresh credentials (with their expiration, if they have one).
    fn fetch(&self) -> CredentialsFuture<'_>;
    /// Short name of the source (`ecs_ram_role`, `oidc_role_arn`...).
    fn name(&self) -> String;
}

#[derive(Default)]
struct State {
    cached: Option<Credentials>,
    retry_not_before: Option<SystemTime>,
    /// Counts finished refresh attempts, so that callers who waited for one use its result.
    attempts: u64,
}

/// Wraps a [`Fetch`] into a [`ProvideCredentials`] that caches its answer.
///
/// * Credentials are reused until [`RefreshPolicy::refresh_ahead`] before they expire.
/// * One refresh at a time: callers that need fresh credentials wait for the refresh in
///   flight instead of starting their own; callers that still hold valid ones do not wait.
/// * A failed refresh keeps the old credentials while they are valid and retries after
///   [`RefreshPolicy::retry_after_failure`]; expired credentials are never returned.
pub struct Refreshing<F> {
    fetch: F,
    policy: RefreshPolicy,
    state: Mutex<State>,
    gate: tokio::sync::Mutex<()>,
}

impl<F: Fetch> fmt::Debug for Refreshing<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refreshing")
            .field("fetch", &self.fetch)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<F: Fetch> Refreshing<F> {
    /// Caches `fetch` with the default [`RefreshPolicy`].
    pub fn new(fetch: F) -> Self {
        Self::with_policy(fetch, RefreshPolicy::default())
    }

    /// Caches `fetch` with `policy`.
    pub fn with_policy(fetch: F, policy: RefreshPolicy) -> Self {
        Self {
            fetch,
            policy,
            state: Mutex::new(State::default()),
            gate: tokio::sync::Mutex::new(()),
        }
    }

    fn look(&self, now: SystemTime) -> (Plan, Option<Credentials>, u64) {
        let state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let plan = plan(
            state.cached.as_ref(),
            state.retry_not_before,
            now,
            self.policy,
        );
        (plan, state.cached.clone(), state.attempts)
    }

    async fn get(&self) -> Result<Credentials, CredentialsError> {
        let (first, cached, attempts_seen) = self.look(SystemTime::now());
        let _gate = match (first, cached) {
            (Plan::Use, Some(c)) => return Ok(c),
            // Someone else is already refreshing and ours are still valid: do not wait.
            (Plan::RefreshKeeping, Some(c)) => match self.gate.try_lock() {
                Ok(gate) => gate,
                Err(_) => return Ok(c),
            },
            _ => self.gate.lock().await,
        };
        // A refresh may have finished while we waited for the gate: use what it got.
        let now = SystemTime::now();
        let cached = match self.look(now) {
            (Plan::Use, Some(c), _) => return Ok(c),
            (_, Some(c), attempts) if attempts != attempts_seen && !c.is_expired(now) => {
                return Ok(c);
            }
            (_, cached, _) => cached,
        };
        match self.fetch.fetch().await {
            Ok(fresh) if fresh.is_expired(SystemTime::now()) => {
                Err(CredentialsError::provider(format!(
                    "{}: returned credentials that have already expired",
                    self.fetch.name()
                )))
            }
            Ok(fresh) => {
                let mut state = self
                    .state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                state.cached = Some(fresh.clone());
                state.retry_not_before = None;
                state.attempts += 1;
                Ok(fresh)
            }
            Err(e) => {
                let now = SystemTime::now();
                let mut state = self
                    .state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                state.retry_not_before = Some(now + self.policy.retry_after_failure);
                state.attempts += 1;
                match cached.filter(|c| !c.is_expired(now)) {
                    Some(still_valid) => {
                        tracing::warn!(
                            source = %self.fetch.name(),
                            error = %e,
                            "credential refresh failed; using the current credentials until they expire"
                        );
                        Ok(still_valid)
                    }
                    None => Err(e),
                }
            }
        }
    }
}

impl<F: Fetch> ProvideCredentials for Refreshing<F> {
    fn provide_credentials(&self) -> CredentialsFuture<'_> {
        Box::pin(self.get())
    }

    fn source(&self) -> Option<String> {
        Some(self.fetch.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Duration = Duration::from_secs(1_800_000_000);

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + T0 + Duration::from_secs(secs)
    }

    fn expiring(secs: u64) -> Credentials {
        Credentials::new("a", "b").with_expiration(at(secs))
    }

    #[test]
    fn plan_rules() {
        let p = RefreshPolicy::new(Duration::from_secs(60), Duration::from_secs(5));
        assert_eq!(plan(None, None, at(0), p), Plan::Refresh);
        let long_term = Credentials::new("a", "b");
        assert_eq!(plan(Some(&long_term), None, at(0), p), Plan::Use);
        let c = expiring(100);
        assert_eq!(plan(Some(&c), None, at(0), p), Plan::Use);
        assert_eq!(plan(Some(&c), None, at(40), p), Plan::Use);
        assert_eq!(plan(Some(&c), None, at(41), p), Plan::RefreshKeeping);
        // After a failure, wait before retrying while still valid...
        assert_eq!(plan(Some(&c), Some(at(45)), at(44), p), Plan::Use);
        assert_eq!(
            plan(Some(&c), Some(at(45)), at(45), p),
            Plan::RefreshKeeping
        );
        // ...but expired credentials are never used, whatever the back-off says.
        assert_eq!(plan(Some(&c), Some(at(500)), at(100), p), Plan::Refresh);
    }
}
