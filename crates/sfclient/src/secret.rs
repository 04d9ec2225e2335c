//! Secrets (passwords, client secrets, tokens, private keys) wrapped so they never print.
//!
//! Logs and error messages of a sync service end up in dashboards and bug reports; a token that
//! leaks there is a credential leak. `Secret` makes printing impossible by accident: `Debug` and
//! `Display` show `***`, and the value is reached only through [`Secret::expose`].

use std::fmt;

/// A value that must not appear in logs. `Debug`/`Display` print `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret itself; call only where it is put on the wire.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::from("hunter2-token");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:#?}", Some(s.clone())), "Some(\n    ***,\n)");
        assert_eq!(s.expose(), "hunter2-token");
    }

    #[test]
    fn struct_debug_redacts_nested_secret() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Creds {
            user: String,
            password: Secret<String>,
        }
        let c = Creds {
            user: "a@b.c".into(),
            password: "pw-123".into(),
        };
        let printed = format!("{c:?}");
        assert!(printed.contains("a@b.c"));
        assert!(!printed.contains("pw-123"));
    }
}
