//! The server's certificate (generated at start-up or loaded from PEM files) and its two
//! rustls configurations, as SQL Server 2022 offers them: TLS 1.2 for TDS 7.x, whose handshake
//! travels inside PRELOGIN packets, and TLS 1.3 or 1.2 with the ALPN protocol `tds/8.0` for
//! TDS 8.0 strict encryption, whose handshake comes first on the bare connection (SQL Server
//! supports TLS 1.3 only with TDS 8.0).

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

/// The ALPN protocol id of TDS 8.0 (MS-TDS 1.9).
pub const TDS_8_ALPN: &[u8] = b"tds/8.0";

/// The configuration of TDS 7.x's handshake inside PRELOGIN packets: TLS 1.2 only.
pub fn prelogin_config(identity: &TlsIdentity) -> Result<Arc<rustls::ServerConfig>, String> {
    Ok(Arc::new(config(identity, &[&rustls::version::TLS12])?))
}

/// The configuration of TDS 8.0 strict encryption: TLS 1.3 or 1.2, ALPN `tds/8.0` (a client
/// that offers ALPN without it is refused; one that offers no ALPN is taken for TDS 8.0, as
/// MS-TDS 1.9 says).
pub fn strict_config(identity: &TlsIdentity) -> Result<Arc<rustls::ServerConfig>, String> {
    let mut config = config(identity, &[&rustls::version::TLS13, &rustls::version::TLS12])?;
    config.alpn_protocols = vec![TDS_8_ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// rustls server configuration with the `ring` provider chosen explicitly (the workspace
/// also builds aws-lc-rs, so the process-wide default provider is ambiguous).
fn config(
    identity: &TlsIdentity,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<rustls::ServerConfig, String> {
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .map_err(|e| format!("TLS protocol versions: {e}"))?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(|e| format!("TLS certificate: {e}"))
}
