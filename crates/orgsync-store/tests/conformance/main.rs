//! Conformance suite: the same tests against every Store implementation.
