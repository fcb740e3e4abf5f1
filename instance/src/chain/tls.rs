//! TLS for the chain clients. Real endpoints sit behind TLS proxies (`https://`, `wss://`); the
//! Chain API and SHiP clients share one rustls configuration that trusts the operating system's
//! roots and, optionally, the certificates of a PEM file (a private CA).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

/// Why the trusted roots could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The CA file does not hold PEM certificates.
    #[error("reading CA certificates from {path}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// The CA file holds no certificate.
    #[error("{path} holds no PEM certificate")]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A certificate of the CA file is not a usable trust anchor.
    #[error("a certificate in {path} is not a usable CA")]
    InvalidCa {
        /// The file.
        path: PathBuf,
        /// Why rustls refused it.
        #[source]
        source: rustls::Error,
    },
    /// The TLS configuration could not be built.
    #[error("building the TLS configuration")]
    Config {
        /// rustls' reason.
        #[source]
        source: rustls::Error,
    },
}

/// The roots a client trusts; cheap to clone.
#[derive(Debug, Clone)]
pub struct TlsRoots {
    config: Arc<ClientConfig>,
}

impl TlsRoots {
    /// The operating system's roots, plus the PEM certificates of `ca_file` when given.
    ///
    /// # Errors
    /// [`TlsError`] when `ca_file` cannot be read or holds no usable certificate.
    pub fn new(ca_file: Option<&Path>) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        // Unreadable system certificates are skipped: a machine without any still reaches
        // endpoints signed by `ca_file`, and a failed handshake names the problem.
        let system = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(system.certs);
        if let Some(path) = ca_file {
            let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|certificates| certificates.collect())
                .map_err(|source| TlsError::CaFile {
                    path: path.to_owned(),
                    source,
                })?;
            if certificates.is_empty() {
                return Err(TlsError::NoCertificate {
                    path: path.to_owned(),
                });
            }
            for certificate in certificates {
                roots
                    .add(certificate)
                    .map_err(|source| TlsError::InvalidCa {
                        path: path.to_owned(),
                        source,
                    })?;
            }
        }
        let config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|source| TlsError::Config { source })?
                .with_root_certificates(roots)
                .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// The operating system's roots alone.
    ///
    /// # Errors
    /// [`TlsError::Config`] when rustls cannot build a configuration.
    pub fn system() -> Result<Self, TlsError> {
        Self::new(None)
    }

    /// The rustls configuration.
    pub fn client_config(&self) -> &Arc<ClientConfig> {
        &self.config
    }
}

/// Whether a connection error was a failed TLS handshake: rustls' error among its causes,
/// directly or inside an I/O error (how the TLS streams report it).
pub(crate) fn is_tls_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        let inside_io = error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        if error.is::<rustls::Error>() || inside_io.is_some_and(|inner| inner.is::<rustls::Error>())
        {
            return true;
        }
        cause = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").expect("written");
        assert!(matches!(
            TlsRoots::new(Some(&path)),
            Err(TlsError::NoCertificate { .. })
        ));
        assert!(matches!(
            TlsRoots::new(Some(&dir.path().join("missing.pem"))),
            Err(TlsError::CaFile { .. })
        ));
        TlsRoots::system().expect("the system roots load");
    }
}
