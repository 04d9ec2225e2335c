//! The org's rolling-24-hour API request counter.
//!
//! PLACEHOLDER: the real implementation replaces this file; keep the public names.

/// API usage of one org.
#[derive(Debug, Default)]
pub struct Limits {}
