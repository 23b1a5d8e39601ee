//! The server's certificate (generated at start-up or loaded from PEM files) and its
//! rustls configuration. TLS 1.2 only: TDS 7.x carries the handshake inside PRELOGIN
//! packets, where clients (ODBC Driver 18, FreeTDS, python-tds) negotiate TLS 1.2.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate chain with its private key.
#[derive(Debug)]
pub struct TlsIdentity {
    /// The chain as PEM, for clients that must trust it (`--write-cert`).
    pub cert_pem: String,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// A self-signed certificate for `localhost` and `127.0.0.1`.
pub fn generate_self_signed() -> Result<TlsIdentity, String> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .map_err(|e| format!("cannot generate the self-signed certificate: {e}"))?;
    Ok(TlsIdentity {
        cert_pem: certified.cert.pem(),
        chain: vec![certified.cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into()),
    })
}

/// Loads a certificate chain and its private key from PEM files.
pub fn load_pem(cert_path: &str, key_path: &str) -> Result<TlsIdentity, String> {
    let cert_pem = std::fs::read_to_string(cert_path).map_err(|e| format!("cannot read {cert_path}: {e}"))?;
    let chain = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad certificate PEM in {cert_path}: {e}"))?;
    if chain.is_empty() {
        return Err(format!("no certificate in {cert_path}"));
    }
    let key_pem = std::fs::read(key_path).map_err(|e| format!("cannot read {key_path}: {e}"))?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| format!("bad key PEM in {key_path}: {e}"))?
        .ok_or_else(|| format!("no private key in {key_path}"))?;
    Ok(TlsIdentity { cert_pem, chain, key })
}

/// rustls server configuration with the `ring` provider chosen explicitly (the workspace
/// also builds aws-lc-rs, so the process-wide default provider is ambiguous).
pub fn server_config(identity: &TlsIdentity) -> Result<Arc<rustls::ServerConfig>, String> {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(|e| format!("TLS protocol versions: {e}"))?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(|e| format!("TLS certificate: {e}"))?;
    Ok(Arc::new(config))
}
