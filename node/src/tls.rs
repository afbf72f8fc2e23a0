//! Certificates for a testnet's client TLS listeners: one private CA, and a certificate per
//! validator for its host name or address. Real deployments bring their own certificates (for
//! example from cert-manager); this is for local clusters and tests.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TlsFileError {
    #[error("generating a certificate: {0}")]
    Generate(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// A private certificate authority for one testnet.
pub struct TestnetCa {
    key: rcgen::KeyPair,
    cert: rcgen::Certificate,
}

fn generate_error(e: rcgen::Error) -> TlsFileError {
    TlsFileError::Generate(e.to_string())
}

impl TestnetCa {
    pub fn new(chain_id: &str) -> Result<Self, TlsFileError> {
        let key = rcgen::KeyPair::generate().map_err(generate_error)?;
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(generate_error)?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("votegraph {chain_id} CA"),
        );
        let cert = params.self_signed(&key).map_err(generate_error)?;
        Ok(TestnetCa { key, cert })
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// Writes `cert` and `key` (mode 0600) for `host` (a DNS name or an IP address; `localhost`
    /// is always included).
    pub fn issue(&self, host: &str, cert: &Path, key: &Path) -> Result<(), TlsFileError> {
        let mut names = vec!["localhost".to_string()];
        if host != "localhost" {
            names.push(host.to_string());
        }
        let params = rcgen::CertificateParams::new(names).map_err(generate_error)?;
        let server_key = rcgen::KeyPair::generate().map_err(generate_error)?;
        let issued = params
            .signed_by(&server_key, &self.cert, &self.key)
            .map_err(generate_error)?;
        write(cert, issued.pem().as_bytes(), 0o644)?;
        write(key, server_key.serialize_pem().as_bytes(), 0o600)
    }
}

pub fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsFileError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let error = |source| TlsFileError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(error)?;
    file.write_all(bytes).map_err(error)?;
    file.sync_all().map_err(error)
}
