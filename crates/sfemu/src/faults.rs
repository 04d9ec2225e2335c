//! Fault injection, configurable at start (config file) and at run time (`/__sfemu/faults`).
//!
//! Faults let a client's retry, back-off and partial-failure handling be tested against the
//! emulator: whole-call errors at a rate per error code, per-record errors inside collections
//! calls (collections, composite, single-record writes, SOAP `undelete`), added latency, and an
//! offline switch (which also ends open Pub/Sub streams). A seed makes the random draws
//! reproducible.

use crate::error::ApiError;
use axum::http::StatusCode;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sfemu_org::SfError;
use std::collections::BTreeMap;
use std::time::Duration;

/// The faults of one org, as `/__sfemu/faults` shows and accepts them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultConfig {
    /// Whole-call error rate per code: an error code (`UNABLE_TO_LOCK_ROW`) or an HTTP status
    /// (`"503"`, `"500"`). Rates are in 0..=1 and their sum must not exceed 1.
    #[serde(default)]
    pub error_rate: BTreeMap<String, f64>,
    /// Per-record error rate per code, for every record a write touches: collections and
    /// composite records, single-record writes, SOAP `undelete` ids.
    #[serde(default)]
    pub record_error_rate: BTreeMap<String, f64>,
    /// Added latency before every request except the control surface.
    #[serde(default)]
    pub latency_ms: u64,
    /// When true every request except the control surface answers 503.
    #[serde(default)]
    pub offline: bool,
    /// Seed of the random draws (reproducible tests); random when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl FaultConfig {
    /// Checks rates and codes; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        for (what, map) in [
            ("errorRate", &self.error_rate),
            ("recordErrorRate", &self.record_error_rate),
        ] {
            let mut sum = 0.0;
            for (code, rate) in map {
                if !(0.0..=1.0).contains(rate) {
                    return Err(format!("{what}.{code}: rate {rate} is not between 0 and 1"));
                }
                if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!(
                        "{what}: '{code}' is not an error code or HTTP status"
                    ));
                }
                if let Ok(n) = code.parse::<u16>()
                    && !(400..=599).contains(&n)
                {
                    return Err(format!("{what}.{code}: an HTTP status must be 400..=599"));
                }
                sum += rate;
            }
            if sum > 1.0 + 1e-9 {
                return Err(format!("{what}: the rates add up to {sum}, more than 1"));
            }
        }
        Ok(())
    }
}

/// The error an injected code stands for: status and Salesforce error.
pub fn injected_error(code: &str) -> ApiError {
    if let Ok(n) = code.parse::<u16>() {
        let status = StatusCode::from_u16(n).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let (code, message) = match n {
            500 => (
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-123456789)",
            ),
            401 => ("INVALID_SESSION_ID", "Session expired or invalid"),
            403 => ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
            404 => ("NOT_FOUND", "The requested resource does not exist"),
            n if n >= 500 => (
                "SERVER_UNAVAILABLE",
                "Server temporarily unavailable, please try again later",
            ),
            _ => ("BAD_REQUEST", "Injected error"),
        };
        return ApiError::new(status, code, message);
    }
    ApiError::from(sf_error(code))
}

fn sf_error(code: &str) -> SfError {
    let message = match code {
        "UNABLE_TO_LOCK_ROW" => "unable to obtain exclusive access to this record",
        "REQUEST_LIMIT_EXCEEDED" => "TotalRequests Limit exceeded.",
        "SERVER_UNAVAILABLE" => "Server temporarily unavailable, please try again later",
        "UNKNOWN_EXCEPTION" => "An unexpected error occurred.",
        "INVALID_SESSION_ID" => "Session expired or invalid",
        _ => "Injected error",
    };
    SfError::new(code, message)
}

/// Picks one code of `rates` for the draw `u` in [0,1), or none (codes in sorted order, each
/// owning a slice of [0,1) as wide as its rate).
fn pick(rates: &BTreeMap<String, f64>, u: f64) -> Option<&str> {
    let mut acc = 0.0;
    for (code, rate) in rates {
        acc += rate;
        if u < acc {
            return Some(code);
        }
    }
    None
}

#[derive(Debug)]
struct Inner {
    config: FaultConfig,
    rng: StdRng,
}

/// The faults currently injected into one org.
#[derive(Debug)]
pub struct Faults {
    inner: Mutex<Inner>,
    /// Follows `offline`, so open streams (Pub/Sub Subscribe) end when the org goes offline.
    offline_tx: tokio::sync::watch::Sender<bool>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults::new(FaultConfig::default())
    }
}

fn rng_for(seed: Option<u64>) -> StdRng {
    match seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => StdRng::from_os_rng(),
    }
}

impl Faults {
    /// Faults as configured (the caller validated `config`).
    pub fn new(config: FaultConfig) -> Self {
        let rng = rng_for(config.seed);
        let offline_tx = tokio::sync::watch::channel(config.offline).0;
        Faults {
            inner: Mutex::new(Inner { config, rng }),
            offline_tx,
        }
    }

    /// Replaces the configuration (and reseeds).
    pub fn set(&self, config: FaultConfig) {
        let offline = config.offline;
        let mut g = self.inner.lock();
        g.rng = rng_for(config.seed);
        g.config = config;
        drop(g);
        self.offline_tx
            .send_if_modified(|o| std::mem::replace(o, offline) != offline);
    }

    /// A receiver whose value is true while the org plays offline.
    pub fn watch_offline(&self) -> tokio::sync::watch::Receiver<bool> {
        self.offline_tx.subscribe()
    }

    /// The current configuration.
    pub fn config(&self) -> FaultConfig {
        self.inner.lock().config.clone()
    }

    /// True when the org plays offline.
    pub fn offline(&self) -> bool {
        self.inner.lock().config.offline
    }

    /// The injected latency, if any.
    pub fn latency(&self) -> Option<Duration> {
        let ms = self.inner.lock().config.latency_ms;
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    /// A whole-call error at the configured rates, or `None`.
    pub fn call_error(&self) -> Option<ApiError> {
        let mut g = self.inner.lock();
        if g.config.error_rate.is_empty() {
            return None;
        }
        let u: f64 = g.rng.random();
        pick(&g.config.error_rate, u).map(injected_error)
    }

    /// For one record of a collections or composite call: an injected per-record error (for
    /// example `UNABLE_TO_LOCK_ROW` at the configured rate), or `None`.
    pub fn record_error(&self) -> Option<SfError> {
        let mut g = self.inner.lock();
        if g.config.record_error_rate.is_empty() {
            return None;
        }
        let u: f64 = g.rng.random();
        pick(&g.config.record_error_rate, u).map(|code| {
            match injected_error(code).errors.into_iter().next() {
                Some(e) => e,
                None => sf_error(code),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rates: &[(&str, f64)], seed: u64) -> FaultConfig {
        FaultConfig {
            error_rate: rates.iter().map(|(c, r)| (c.to_string(), *r)).collect(),
            record_error_rate: rates.iter().map(|(c, r)| (c.to_string(), *r)).collect(),
            seed: Some(seed),
            ..Default::default()
        }
    }

    #[test]
    fn seeded_draws_repeat_and_rates_hold() {
        let draw = || {
            let f = Faults::new(cfg(&[("UNABLE_TO_LOCK_ROW", 0.3)], 42));
            (0..1000)
                .map(|_| f.record_error().is_some())
                .collect::<Vec<_>>()
        };
        let a = draw();
        assert_eq!(a, draw());
        let hits = a.iter().filter(|x| **x).count();
        assert!((200..400).contains(&hits), "{hits}");
    }

    #[test]
    fn rate_one_always_and_zero_never() {
        let f = Faults::new(cfg(&[("503", 1.0)], 1));
        let e = f.call_error().unwrap();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.errors[0].code, "SERVER_UNAVAILABLE");
        let f = Faults::new(cfg(&[("UNABLE_TO_LOCK_ROW", 0.0)], 1));
        assert!((0..100).all(|_| f.call_error().is_none()));
    }

    #[test]
    fn lock_row_is_a_400_with_salesforce_wording() {
        let e = injected_error("UNABLE_TO_LOCK_ROW");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            e.errors[0].message,
            "unable to obtain exclusive access to this record"
        );
        assert_eq!(injected_error("500").errors[0].code, "UNKNOWN_EXCEPTION");
    }

    #[test]
    fn validation_rejects_bad_rates() {
        assert!(cfg(&[("X", 1.5)], 1).validate().is_err());
        assert!(cfg(&[("A", 0.6), ("B", 0.6)], 1).validate().is_err());
        assert!(cfg(&[("200", 0.1)], 1).validate().is_err());
        assert!(cfg(&[("bad code", 0.1)], 1).validate().is_err());
        assert!(
            cfg(&[("UNABLE_TO_LOCK_ROW", 0.2), ("503", 0.1)], 1)
                .validate()
                .is_ok()
        );
    }
}
