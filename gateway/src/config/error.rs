//! Errors of the config module: each names the file and, where there is one, the key.

use std::path::PathBuf;

/// A problem with the gateway's configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A config file exists but could not be read.
    #[error("failed to read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A config file is not valid YAML (or not the shape the file must have).
    #[error("failed to parse {file}: {message}")]
    Parse {
        /// The file, as shown to the operator (for example `config/server.yml`).
        file: String,
        /// What the parser said, with line and column.
        message: String,
    },
    /// A placeholder names a key that no source has, and it gives no default.
    #[error(
        "failed to resolve {file}: key '{key}': placeholder ${{{placeholder}}} has no value in the environment or values.yml and no default"
    )]
    Unresolved {
        /// The file holding the placeholder.
        file: String,
        /// The key whose value holds the placeholder.
        key: String,
        /// The placeholder's key.
        placeholder: String,
    },
    /// Placeholders refer to each other in a loop, or nest deeper than the limit.
    #[error("failed to resolve {file}: key '{key}': {reason}")]
    PlaceholderLoop {
        /// The file holding the placeholder.
        file: String,
        /// The key being resolved.
        key: String,
        /// The cycle (`a -> b -> a`) or the depth reached.
        reason: String,
    },
    /// A `CRYPT:` value could not be decrypted.
    #[error("failed to decrypt {file}: key '{key}': {reason}")]
    Decrypt {
        /// The file holding the value.
        file: String,
        /// The key holding the value.
        key: String,
        /// Why (no password, bad format, wrong password).
        reason: String,
    },
    /// A value has the wrong type, an unknown key is present, or a rule is broken.
    #[error("invalid {file}: key '{key}': {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// The key (a dotted path inside the file).
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl ConfigError {
    /// Shorthand for [`ConfigError::Invalid`].
    pub fn invalid(file: &str, key: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            file: file.to_string(),
            key: key.to_string(),
            reason: reason.into(),
        }
    }
}
