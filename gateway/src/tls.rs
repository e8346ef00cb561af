//! Outbound TLS for config-server, the controller and backends (docs/protocols.md#config-server): the system roots plus
//! the configured CA bundle, hostname checks that can be switched off on their own, optional
//! client identity (mTLS) and minimum version. Also checks the HTTPS listener's files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::TlsVersion;

/// A TLS setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A configured file cannot be read.
    #[error("failed to read {what} {path}: {reason}")]
    File {
        /// Which file (CA bundle, client certificate, ...).
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// rustls refused the settings.
    #[error("failed to build TLS settings: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Outbound TLS settings, with paths already resolved.
#[derive(Debug, Clone)]
pub struct ClientTlsSettings {
    /// CA bundle added to the system roots.
    pub ca_cert_path: Option<PathBuf>,
    /// The config key that named the CA bundle, for error messages.
    pub ca_cert_key: &'static str,
    /// Whether the server name must match the certificate.
    pub verify_hostname: bool,
    /// Client certificate and key for mTLS.
    pub client_identity: Option<(PathBuf, PathBuf)>,
    /// What the certificate and key files are called in error messages (their config keys).
    pub identity_keys: [&'static str; 2],
    /// Minimum TLS version.
    pub min_version: Option<TlsVersion>,
}

/// The client identity's names when `client.yml` gives it.
pub const CLIENT_YML_IDENTITY: [&str; 2] = [
    "client certificate (client.yml tls.clientCertPath)",
    "client key (client.yml tls.clientKeyPath)",
];

/// Installs the ring crypto provider that pingora's rustls also uses; safe to call twice.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The system's CA certificates, read once: a start builds up to three client configs
/// (bootstrap, controller, backends) and reading the system store takes milliseconds each time.
fn system_roots() -> &'static [rustls::pki_types::CertificateDer<'static>] {
    static ROOTS: std::sync::OnceLock<Vec<rustls::pki_types::CertificateDer<'static>>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// Builds a rustls client config from `settings`.
///
/// # Errors
/// A CA, certificate or key file that cannot be read or holds nothing usable.
pub fn client_config(settings: &ClientTlsSettings) -> Result<rustls::ClientConfig, TlsError> {
    install_crypto_provider();
    let mut roots = RootCertStore::empty();
    // System roots first; unreadable system certs are skipped, as every TLS client does.
    for cert in system_roots() {
        let _ = roots.add(cert.clone());
    }
    if let Some(path) = &settings.ca_cert_path {
        for cert in read_certs(settings.ca_cert_key, path)? {
            roots.add(cert).map_err(|e| file_error(settings.ca_cert_key, path, e))?;
        }
    }
    let inner = WebPkiServerVerifier::builder(Arc::new(roots)).build().map_err(|e| {
        file_error(
            settings.ca_cert_key,
            settings.ca_cert_path.as_deref().unwrap_or(Path::new("<system>")),
            e,
        )
    })?;
    let verifier: Arc<dyn ServerCertVerifier> = if settings.verify_hostname {
        inner
    } else {
        Arc::new(AnyHostname(inner))
    };
    let versions: &[&rustls::SupportedProtocolVersion] = match settings.min_version {
        Some(TlsVersion::Tls13) => &[&rustls::version::TLS13],
        _ => rustls::DEFAULT_VERSIONS,
    };
    let builder = rustls::ClientConfig::builder_with_protocol_versions(versions)
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match &settings.client_identity {
        Some((cert, key)) => {
            let [cert_key, key_key] = settings.identity_keys;
            let chain = read_certs(cert_key, cert)?;
            builder.with_client_auth_cert(chain, read_key(key_key, key)?)?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(config)
}

/// Checks that the HTTPS listener's certificate chain and key can be read and parsed.
///
/// # Errors
/// A file that cannot be read or holds no certificate / key.
pub fn check_server_identity(cert: &Path, key: &Path) -> Result<(), TlsError> {
    read_certs("TLS certificate (server.yml tlsCertPath)", cert)?;
    read_key("TLS key (server.yml tlsKeyPath)", key)?;
    Ok(())
}

/// Reads every certificate of a PEM file; an empty bundle is an error.
///
/// # Errors
/// An unreadable file or one without certificates.
pub fn read_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    std::fs::metadata(path).map_err(|e| file_error(what, path, e))?;
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(what, path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(what, path, e))?;
    if certs.is_empty() {
        return Err(file_error(what, path, "no PEM certificate in the file"));
    }
    Ok(certs)
}

fn read_key(what: &'static str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    std::fs::metadata(path).map_err(|e| file_error(what, path, e))?;
    PrivateKeyDer::from_pem_file(path).map_err(|e| file_error(what, path, e))
}

fn file_error(what: &'static str, path: &Path, reason: impl ToString) -> TlsError {
    TlsError::File {
        what,
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Checks the chain and signatures like the inner verifier but accepts any server name
/// (`client.verifyHostname: false`): only the name check is skipped.
#[derive(Debug)]
struct AnyHostname(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostname {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ca: Option<PathBuf>, identity: Option<(PathBuf, PathBuf)>) -> ClientTlsSettings {
        ClientTlsSettings {
            ca_cert_path: ca,
            ca_cert_key: "CA bundle (client.yml tls.caCertPath)",
            verify_hostname: true,
            client_identity: identity,
            identity_keys: CLIENT_YML_IDENTITY,
            min_version: Some(TlsVersion::Tls13),
        }
    }

    fn identity(dir: &Path) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (c, k) = (dir.join("client.pem"), dir.join("client.key"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k)
    }

    #[test]
    fn client_identity_and_ca_are_loaded_for_mtls() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = identity(dir.path());
        let config = client_config(&settings(Some(cert.clone()), Some((cert, key)))).unwrap();
        assert!(config.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn unreadable_files_are_named_with_the_key_that_set_them() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let err = client_config(&settings(Some(missing.clone()), None))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("client.yml tls.caCertPath") && err.contains("nope.pem"),
            "{err}"
        );
        let (cert, _) = identity(dir.path());
        let err = client_config(&settings(None, Some((cert, missing))))
            .unwrap_err()
            .to_string();
        assert!(err.contains("tls.clientKeyPath"), "{err}");
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(&settings(Some(empty), None)).unwrap_err().to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
    }
}
