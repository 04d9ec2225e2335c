//! One access token per org, shared by all tasks, refreshed single-flight.
//!
//! Every request reads the current token and its generation. When a request is answered
//! `401 INVALID_SESSION_ID`, it asks for a refresh *of the generation it used*: the first such
//! caller runs the flow while holding the refresh lock; callers that were waiting find a newer
//! generation when they get the lock and reuse it. So however many requests fail at once,
//! exactly one refresh happens. A refresh that *fails* is shared the same way: callers that
//! waited for it get its error instead of each running the flow again, and a rejection of the
//! credentials (an auth error such as `invalid_grant`) is answered from memory for
//! [`AUTH_FAILURE_HOLD`] so a burst of calls cannot hammer the token endpoint (where repeated
//! failures may lock the user out); after that the flow is tried again, so a fixed credential
//! is picked up without rebuilding the client.

use super::{Authenticator, Token};
use crate::error::{ErrorKind, SfError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a rejected credential is answered from memory.
pub const AUTH_FAILURE_HOLD: Duration = Duration::from_secs(10);

/// A token with the generation it belongs to.
pub(crate) type Current = (u64, Arc<Token>);

#[derive(Debug)]
pub(crate) struct TokenCache {
    auth: Authenticator,
    current: RwLock<Option<Current>>,
    /// Guards the flow; holds the number of attempts so far and the last failure.
    refresh_lock: tokio::sync::Mutex<Attempts>,
    /// Copy of the attempt count, readable without the lock.
    attempts_seen: AtomicU64,
    fetches: AtomicU64,
}

#[derive(Debug, Default)]
struct Attempts {
    count: u64,
    last_error: Option<(SfError, Instant)>,
}

impl TokenCache {
    pub fn new(auth: Authenticator) -> Self {
        TokenCache {
            auth,
            current: RwLock::new(None),
            refresh_lock: tokio::sync::Mutex::new(Attempts::default()),
            attempts_seen: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
        }
    }

    fn read(&self) -> Option<Current> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The token to use now, fetching the first one if there is none yet.
    pub async fn get(&self) -> Result<Current, SfError> {
        match self.read() {
            Some(c) => Ok(c),
            None => self.refresh(None).await,
        }
    }

    /// Replaces the token of generation `stale` (or the missing token when `None`) with a fresh
    /// one, unless another task already did (or already failed to while we waited).
    pub async fn refresh(&self, stale: Option<u64>) -> Result<Current, SfError> {
        let attempts_before = self.attempts_seen.load(Ordering::Acquire);
        let mut attempts = self.refresh_lock.lock().await;
        if let Some((generation, token)) = self.read()
            && Some(generation) != stale
        {
            return Ok((generation, token));
        }
        if let Some((e, at)) = &attempts.last_error
            && (attempts.count != attempts_before
                || (e.kind() == ErrorKind::Auth && at.elapsed() < AUTH_FAILURE_HOLD))
        {
            return Err(e.clone());
        }
        attempts.count += 1;
        self.attempts_seen.store(attempts.count, Ordering::Release);
        let token = match self.auth.fetch().await {
            Ok(t) => Arc::new(t),
            Err(e) => {
                attempts.last_error = Some((e.clone(), Instant::now()));
                return Err(e);
            }
        };
        attempts.last_error = None;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let mut slot = self.current.write().unwrap_or_else(|p| p.into_inner());
        let generation = slot.as_ref().map_or(1, |(g, _)| g + 1);
        *slot = Some((generation, token.clone()));
        Ok((generation, token))
    }

    /// How many tokens have been obtained so far (the first one included).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// How many times the flow has run (failures included).
    pub fn attempts(&self) -> u64 {
        self.attempts_seen.load(Ordering::Acquire)
    }
}
