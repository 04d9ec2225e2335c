//! Fault injection (runtime-configurable through the control surface).
//!
//! PLACEHOLDER: the real implementation replaces this file; keep the public names.

use sfemu_org::SfError;

/// The faults currently injected into one org.
#[derive(Debug, Default)]
pub struct Faults {}

impl Faults {
    /// For one record of a collections or composite call: an injected per-record error (for
    /// example `UNABLE_TO_LOCK_ROW` at the configured rate), or `None`.
    pub fn record_error(&self) -> Option<SfError> {
        None
    }
}
