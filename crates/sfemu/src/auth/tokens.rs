//! Issued access and refresh tokens of one org (in memory; a restart logs everyone out, as a
//! Salesforce session timeout would).
//!
//! Access tokens expire after the configured TTL of *inactivity* (Salesforce's session timeout
//! is idle-based, default 2 hours): each successful use extends the deadline. Refresh tokens do
//! not expire; revoking one also revokes the access tokens issued from it.

use parking_lot::Mutex;
use rand::Rng;
use rand::distr::Alphanumeric;
use sfemu_org::User;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Who a token was issued to.
#[derive(Debug, Clone)]
pub struct Grant {
    pub user: User,
    /// Consumer key of the connected app (empty for a SOAP login).
    pub client_id: String,
}

#[derive(Debug)]
struct Access {
    grant: Grant,
    expires_at: Instant,
    /// The refresh token this access token came from (or was issued with).
    refresh: Option<String>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Never issued, revoked, or expired.
    Invalid,
}

/// Token store of one org.
#[derive(Debug)]
pub struct TokenStore {
    org_id15: String,
    ttl: Mutex<Duration>,
    access: Mutex<HashMap<String, Access>>,
    refresh: Mutex<HashMap<String, Grant>>,
}

fn random_chars(n: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

impl TokenStore {
    /// A store for the org `org_id` (tokens start with its 15-char id, as Salesforce's do).
    pub fn new(org_id: &str, ttl: Duration) -> Self {
        TokenStore {
            org_id15: org_id.chars().take(15).collect(),
            ttl: Mutex::new(ttl),
            access: Mutex::new(HashMap::new()),
            refresh: Mutex::new(HashMap::new()),
        }
    }

    /// Inactivity timeout of access tokens.
    pub fn ttl(&self) -> Duration {
        *self.ttl.lock()
    }

    /// Issues an access token (`00D…!AQ…`).
    pub fn issue_access(&self, grant: Grant, refresh: Option<String>) -> String {
        let token = format!("{}!AQ{}", self.org_id15, random_chars(94));
        let now = Instant::now();
        let expires_at = now + self.ttl();
        let mut map = self.access.lock();
        if map.len() >= 4096 && map.len().is_power_of_two() {
            map.retain(|_, a| a.expires_at > now);
        }
        map.insert(
            token.clone(),
            Access {
                grant,
                expires_at,
                refresh,
            },
        );
        token
    }

    /// Issues a refresh token.
    pub fn issue_refresh(&self, grant: Grant) -> String {
        let token = format!("5Aep861{}", random_chars(80));
        self.refresh.lock().insert(token.clone(), grant);
        token
    }

    /// The grant behind a live access token; extends its idle deadline.
    pub fn check_access(&self, token: &str) -> Result<Grant, TokenError> {
        let now = Instant::now();
        let ttl = self.ttl();
        let mut map = self.access.lock();
        match map.get_mut(token) {
            Some(a) if a.expires_at > now => {
                a.expires_at = now + ttl;
                Ok(a.grant.clone())
            }
            Some(_) => {
                map.remove(token);
                Err(TokenError::Invalid)
            }
            None => Err(TokenError::Invalid),
        }
    }

    /// The grant behind a refresh token.
    pub fn check_refresh(&self, token: &str) -> Result<Grant, TokenError> {
        self.refresh
            .lock()
            .get(token)
            .cloned()
            .ok_or(TokenError::Invalid)
    }

    /// Revokes an access or refresh token (a refresh token takes its access tokens with it).
    /// False when the token is unknown.
    pub fn revoke(&self, token: &str) -> bool {
        if self.access.lock().remove(token).is_some() {
            return true;
        }
        if self.refresh.lock().remove(token).is_some() {
            self.access
                .lock()
                .retain(|_, a| a.refresh.as_deref() != Some(token));
            return true;
        }
        false
    }

    /// Expires every access token now (refresh tokens stay valid).
    pub fn expire_all(&self) {
        self.access.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Grant {
        Grant {
            user: User {
                id: "005000000000001AAA".into(),
                username: "u@x".into(),
                password: "p".into(),
                first_name: "F".into(),
                last_name: "L".into(),
                email: "u@x".into(),
                profile_id: "00e000000000001AAA".into(),
                profile_name: "System Administrator".into(),
            },
            client_id: "c".into(),
        }
    }

    #[test]
    fn lifecycle() {
        let s = TokenStore::new("00D000000000001AAA", Duration::from_secs(60));
        let r = s.issue_refresh(grant());
        let a = s.issue_access(grant(), Some(r.clone()));
        assert!(a.starts_with("00D000000000001!AQ"));
        assert!(s.check_access(&a).is_ok());
        assert!(s.revoke(&r));
        assert_eq!(s.check_access(&a).err(), Some(TokenError::Invalid));
        assert!(!s.revoke(&r));
        let b = s.issue_access(grant(), None);
        s.expire_all();
        assert!(s.check_access(&b).is_err());
    }

    #[test]
    fn zero_ttl_expires_at_once() {
        let s = TokenStore::new("00D000000000001AAA", Duration::ZERO);
        let a = s.issue_access(grant(), None);
        assert!(s.check_access(&a).is_err());
    }
}
