//! RS256 JWT assertions for the OAuth 2.0 JWT bearer flow, signed with ring.
//!
//! Salesforce verifies the signature with the X.509 certificate uploaded to the connected app;
//! the assertion names the app (`iss`), the user (`sub`), the login host (`aud`) and expires
//! within three minutes (`exp`).

use crate::error::SfError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use std::fmt;

/// How long an assertion is valid. Salesforce rejects `exp` more than 3 minutes ahead.
pub const ASSERTION_LIFETIME_SECS: i64 = 170;

/// An RSA private key ready to sign assertions. Never printed.
pub struct JwtSigner {
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSigner(***)")
    }
}

impl JwtSigner {
    /// Loads an RSA key from PEM: `BEGIN PRIVATE KEY` (PKCS#8) or `BEGIN RSA PRIVATE KEY`
    /// (PKCS#1), as `openssl genrsa`/`genpkey` write them.
    pub fn from_pem(pem: &[u8]) -> Result<Self, SfError> {
        let der = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| SfError::Config(format!("JWT key: no usable PEM private key ({e})")))?;
        let key = match &der {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            _ => {
                return Err(SfError::Config(
                    "JWT key: only RSA keys (PKCS#8 or PKCS#1) can sign RS256".into(),
                ));
            }
        }
        .map_err(|e| SfError::Config(format!("JWT key rejected: {e}")))?;
        Ok(JwtSigner {
            key,
            rng: SystemRandom::new(),
        })
    }

    /// Builds a signed assertion `header.claims.signature` valid until `now + 170 s`.
    pub fn assertion(
        &self,
        issuer: &str,
        subject: &str,
        audience: &str,
        now_secs: i64,
    ) -> Result<String, SfError> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#);
        let claims = serde_json::json!({
            "iss": issuer,
            "sub": subject,
            "aud": audience,
            "exp": now_secs + ASSERTION_LIFETIME_SECS,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| SfError::Config("JWT signing failed".into()))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    const KEY: &str = include_str!("../../tests/fixtures/jwt-key.pem");
    const KEY_PKCS1: &str = include_str!("../../tests/fixtures/jwt-key-pkcs1.pem");

    #[test]
    fn signs_a_verifiable_assertion() {
        let signer = JwtSigner::from_pem(KEY.as_bytes()).unwrap();
        let jwt = signer
            .assertion(
                "sfemu-client",
                "admin@sfemu.test",
                "https://login.example",
                1_700_000_000,
            )
            .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "sfemu-client");
        assert_eq!(claims["sub"], "admin@sfemu.test");
        assert_eq!(claims["aud"], "https://login.example");
        assert_eq!(claims["exp"], 1_700_000_170);
        let public = signer.key.public().as_ref().to_vec();
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .unwrap();
    }

    #[test]
    fn pkcs1_and_pkcs8_give_the_same_key() {
        let a = JwtSigner::from_pem(KEY.as_bytes()).unwrap();
        let b = JwtSigner::from_pem(KEY_PKCS1.as_bytes()).unwrap();
        assert_eq!(a.key.public().as_ref(), b.key.public().as_ref());
    }

    #[test]
    fn garbage_is_a_config_error_not_a_panic() {
        assert!(matches!(
            JwtSigner::from_pem(b"not a pem"),
            Err(SfError::Config(_))
        ));
        let cert = include_str!("../../tests/fixtures/jwt-cert.pem");
        assert!(matches!(
            JwtSigner::from_pem(cert.as_bytes()),
            Err(SfError::Config(_))
        ));
        assert!(!format!("{:?}", JwtSigner::from_pem(KEY.as_bytes()).unwrap()).contains("BEGIN"));
    }
}
