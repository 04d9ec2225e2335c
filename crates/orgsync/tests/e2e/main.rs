//! End-to-end tests of the orgsync binary.
