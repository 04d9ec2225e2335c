//! The JWT bearer assertion (`urn:ietf:params:oauth:grant-type:jwt-bearer`): parsing, RS256
//! signature check against the connected app's X.509 certificate, and claim rules.
//!
//! Pure functions (no I/O, the clock is a parameter) so every rule is unit-tested.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value as Json;

/// How far in the future `exp` may be (Salesforce: "within 3 minutes"), plus a few seconds of
/// slack for clock granularity between client and emulator.
pub const MAX_EXP_AHEAD_SECS: i64 = 180 + 5;

/// Claims Salesforce reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Consumer key of the connected app.
    pub iss: String,
    /// Username (`sub`, or the legacy `prn`).
    pub sub: String,
    /// Audiences (a string or an array in the token).
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch (a number or a string of digits in the token).
    pub exp: i64,
}

/// Why an assertion was refused. `oauth_error` maps each onto Salesforce's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("malformed assertion: {0}")]
    Malformed(&'static str),
    #[error("unsupported algorithm (only RS256)")]
    Algorithm,
    #[error("signature does not verify")]
    Signature,
    #[error("audience is invalid")]
    Audience,
    #[error("assertion expired")]
    Expired,
    #[error("exp is more than 3 minutes ahead")]
    TooFarAhead,
}

impl JwtError {
    /// `(error, error_description)` of the 400 answer.
    pub fn oauth_error(&self) -> (&'static str, &'static str) {
        match self {
            JwtError::Audience => ("invalid_grant", "audience is invalid"),
            JwtError::Expired => ("invalid_grant", "expired authorization code"),
            // UNCONFIRMED: Salesforce's wording for an `exp` too far ahead; "invalid assertion"
            // is its answer for other malformed assertions.
            _ => ("invalid_grant", "invalid assertion"),
        }
    }
}

/// A parsed, not yet verified assertion.
#[derive(Debug, Clone)]
pub struct Assertion {
    pub claims: Claims,
    /// `base64url(header) "." base64url(payload)`: the signed bytes.
    pub signing_input: String,
    pub signature: Vec<u8>,
}

fn decode_part(part: &str) -> Result<Vec<u8>, JwtError> {
    // Some encoders pad; strip it so the no-pad decoder accepts both.
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed("bad base64url"))
}

fn string_claim(obj: &Json, key: &str) -> Option<String> {
    obj.get(key).and_then(Json::as_str).map(str::to_string)
}

/// Splits and decodes `header.payload.signature`; checks `alg` is RS256.
pub fn parse(assertion: &str) -> Result<Assertion, JwtError> {
    let mut parts = assertion.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three dot-separated parts"));
    };
    let header: Json = serde_json::from_slice(&decode_part(h)?)
        .map_err(|_| JwtError::Malformed("header is not JSON"))?;
    if header.get("alg").and_then(Json::as_str) != Some("RS256") {
        return Err(JwtError::Algorithm);
    }
    let payload: Json = serde_json::from_slice(&decode_part(p)?)
        .map_err(|_| JwtError::Malformed("payload is not JSON"))?;
    let iss = string_claim(&payload, "iss").ok_or(JwtError::Malformed("iss missing"))?;
    let sub = string_claim(&payload, "sub")
        .or_else(|| string_claim(&payload, "prn"))
        .ok_or(JwtError::Malformed("sub missing"))?;
    let aud = match payload.get("aud") {
        Some(Json::String(a)) => vec![a.clone()],
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(Json::as_str)
            .map(str::to_string)
            .collect(),
        _ => return Err(JwtError::Audience),
    };
    let exp = match payload.get("exp") {
        Some(Json::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(Json::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
    .ok_or(JwtError::Malformed("exp missing or not a number"))?;
    Ok(Assertion {
        claims: Claims { iss, sub, aud, exp },
        signing_input: format!("{h}.{p}"),
        signature: decode_part(s)?,
    })
}

/// Verifies the RS256 signature with the public key of an X.509 certificate (DER).
pub fn verify_signature(assertion: &Assertion, cert_der: &[u8]) -> Result<(), JwtError> {
    let der = rustls_pki_types::CertificateDer::from(cert_der);
    let cert = webpki::EndEntityCert::try_from(&der).map_err(|_| JwtError::Signature)?;
    cert.verify_signature(
        webpki::ring::RSA_PKCS1_2048_8192_SHA256,
        assertion.signing_input.as_bytes(),
        &assertion.signature,
    )
    .map_err(|_| JwtError::Signature)
}

fn norm(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// Checks audience and expiry at `now` (seconds since the epoch).
pub fn check_claims(claims: &Claims, allowed_audiences: &[&str], now: i64) -> Result<(), JwtError> {
    if !claims.aud.iter().any(|a| {
        allowed_audiences
            .iter()
            .any(|ok| norm(ok).eq_ignore_ascii_case(norm(a)))
    }) {
        return Err(JwtError::Audience);
    }
    if claims.exp <= now {
        return Err(JwtError::Expired);
    }
    if claims.exp > now + MAX_EXP_AHEAD_SECS {
        return Err(JwtError::TooFarAhead);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &Json) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    fn token(payload: Json) -> String {
        format!(
            "{}.{}.{}",
            enc(&serde_json::json!({"alg":"RS256"})),
            enc(&payload),
            URL_SAFE_NO_PAD.encode(b"sig")
        )
    }

    #[test]
    fn parses_string_exp_prn_and_array_aud() {
        let a = parse(&token(serde_json::json!({"iss":"k","prn":"u@x","aud":["https://login.salesforce.com"],"exp":"1700000000"}))).unwrap();
        assert_eq!(
            a.claims,
            Claims {
                iss: "k".into(),
                sub: "u@x".into(),
                aud: vec!["https://login.salesforce.com".into()],
                exp: 1_700_000_000
            }
        );
        assert_eq!(a.signature, b"sig");
    }

    #[test]
    fn rejects_other_algorithms_and_garbage() {
        let none = format!(
            "{}.{}.",
            enc(&serde_json::json!({"alg":"none"})),
            enc(&serde_json::json!({}))
        );
        assert_eq!(parse(&none).unwrap_err(), JwtError::Algorithm);
        assert!(matches!(parse("a.b"), Err(JwtError::Malformed(_))));
        assert!(matches!(parse("!!.!!.!!"), Err(JwtError::Malformed(_))));
        let bad_exp = token(serde_json::json!({"iss":"k","sub":"u","aud":"a","exp":"12x"}));
        assert!(matches!(parse(&bad_exp), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn claim_rules() {
        let c = |aud: &str, exp| Claims {
            iss: "k".into(),
            sub: "u".into(),
            aud: vec![aud.into()],
            exp,
        };
        let ok = [
            "https://login.salesforce.com",
            "https://test.salesforce.com",
            "http://127.0.0.1:1",
        ];
        assert_eq!(
            check_claims(&c("https://login.salesforce.com/", 1100), &ok, 1000),
            Ok(())
        );
        assert_eq!(
            check_claims(&c("http://127.0.0.1:1", 1180), &ok, 1000),
            Ok(())
        );
        assert_eq!(
            check_claims(&c("https://evil.example", 1100), &ok, 1000),
            Err(JwtError::Audience)
        );
        assert_eq!(
            check_claims(&c("https://test.salesforce.com", 1000), &ok, 1000),
            Err(JwtError::Expired)
        );
        assert_eq!(
            check_claims(&c("https://test.salesforce.com", 1400), &ok, 1000),
            Err(JwtError::TooFarAhead)
        );
        assert_eq!(
            JwtError::Expired.oauth_error().1,
            "expired authorization code"
        );
    }
}
