//! One access token per org, shared by all tasks, refreshed single-flight.
//!
//! Every request reads the current token and its generation. When a request is answered
//! `401 INVALID_SESSION_ID`, it asks for a refresh *of the generation it used*: the first such
//! caller runs the flow while holding the refresh lock; callers that were waiting find a newer
//! generation when they get the lock and reuse it. So however many requests fail at once,
//! exactly one refresh happens.

use super::{Authenticator, Token};
use crate::error::SfError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// A token with the generation it belongs to.
pub(crate) type Current = (u64, Arc<Token>);

#[derive(Debug)]
pub(crate) struct TokenCache {
    auth: Authenticator,
    current: RwLock<Option<Current>>,
    refresh_lock: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
}

impl TokenCache {
    pub fn new(auth: Authenticator) -> Self {
        TokenCache {
            auth,
            current: RwLock::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
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
    /// one, unless another task already did.
    pub async fn refresh(&self, stale: Option<u64>) -> Result<Current, SfError> {
        let _guard = self.refresh_lock.lock().await;
        if let Some((generation, token)) = self.read()
            && Some(generation) != stale
        {
            return Ok((generation, token));
        }
        let token = Arc::new(self.auth.fetch().await?);
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
}
