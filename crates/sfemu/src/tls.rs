//! HTTPS: a self-signed certificate generated at start (rcgen on ring) and its rustls server
//! configuration; `conn.rs` accepts the connections.
//!
//! Some clients (simple-salesforce) only speak `https://`, so TLS is a first-class mode. The
//! certificate names `localhost`, `127.0.0.1` and `::1`; tests and tools trust it through its PEM
//! (`RunningOrg::ca_pem`, `sfemu --cert-out`).

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;

/// Installs rustls's ring provider as the process default (once; later calls are no-ops).
pub fn install_ring_provider() {
    // An error only means a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A generated certificate and its key.
#[derive(Debug)]
pub struct SelfSigned {
    pub cert_pem: String,
    pub cert_der: CertificateDer<'static>,
    pub key_der: PrivatePkcs8KeyDer<'static>,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot build the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A fresh self-signed certificate for `localhost`, `127.0.0.1` and `::1`.
pub fn self_signed() -> Result<SelfSigned, TlsError> {
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let ck = rcgen::generate_simple_self_signed(names)?;
    Ok(SelfSigned {
        cert_pem: ck.cert.pem(),
        cert_der: ck.cert.der().clone(),
        key_der: PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()),
    })
}

/// A rustls server configuration for the certificate (ALPN: h2, http/1.1).
pub fn server_config(cert: &SelfSigned) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    install_ring_provider();
    let mut cfg = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.cert_der.clone()],
            PrivateKeyDer::Pkcs8(cert.key_der.clone_key()),
        )?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
