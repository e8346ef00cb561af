//! `CRYPT:<hexSalt>:<hexCipher>` values (docs/protocols.md#bootstrap-config): AES-256-CBC with a zero IV and
//! PKCS7 padding, the key derived with PBKDF2-HMAC-SHA256 (65,536 iterations, 32 bytes) from
//! the password in `light_4j_config_password`.

use aes::Aes256;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use sha2::Sha256;

/// Marks an encrypted value.
pub const PREFIX: &str = "CRYPT:";
/// The environment variable holding the password (exact, lower-case name).
pub const PASSWORD_ENV: &str = "light_4j_config_password";
const ITERATIONS: u32 = 65_536;
const ZERO_IV: [u8; 16] = [0; 16];

/// Why a `CRYPT:` value could not be decrypted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptError {
    /// The password variable is not set.
    #[error("failed to decrypt: {PASSWORD_ENV} is not set")]
    NoPassword,
    /// The value is not `CRYPT:<hex salt>:<hex cipher text>`.
    #[error("failed to decrypt: value is not CRYPT:<hex salt>:<hex cipher text>")]
    Format,
    /// Padding or UTF-8 check failed: the password is wrong or the value is corrupt.
    #[error("failed to decrypt: wrong password or corrupt cipher text")]
    Cipher,
}

fn key(password: &str, salt: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, ITERATIONS, &mut key);
    key
}

/// Decrypts a `CRYPT:` value.
///
/// # Errors
/// No password, a malformed value, or a wrong password.
pub fn decrypt(value: &str, password: Option<&str>) -> Result<String, CryptError> {
    let password = password.filter(|p| !p.is_empty()).ok_or(CryptError::NoPassword)?;
    let rest = value.strip_prefix(PREFIX).ok_or(CryptError::Format)?;
    let (salt, cipher) = rest.split_once(':').ok_or(CryptError::Format)?;
    let salt = hex::decode(salt).map_err(|_| CryptError::Format)?;
    let cipher = hex::decode(cipher).map_err(|_| CryptError::Format)?;
    if salt.is_empty() || cipher.is_empty() || cipher.len() % 16 != 0 {
        return Err(CryptError::Format);
    }
    let plain = cbc::Decryptor::<Aes256>::new(&key(password, &salt).into(), &ZERO_IV.into())
        .decrypt_padded_vec_mut::<Pkcs7>(&cipher)
        .map_err(|_| CryptError::Cipher)?;
    String::from_utf8(plain).map_err(|_| CryptError::Cipher)
}

/// Encrypts `plain` into a `CRYPT:` value with the given salt (used by tests and operators).
pub fn encrypt(plain: &str, password: &str, salt: &[u8]) -> String {
    let cipher = cbc::Encryptor::<Aes256>::new(&key(password, salt).into(), &ZERO_IV.into())
        .encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes());
    format!("{PREFIX}{}:{}", hex::encode(salt), hex::encode(cipher))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_the_right_password() {
        let value = encrypt("s3cret", "pw", b"saltsalt");
        assert_eq!(decrypt(&value, Some("pw")).unwrap(), "s3cret");
    }

    #[test]
    fn wrong_password_is_an_error_not_ciphertext() {
        let value = encrypt("s3cret", "pw", b"saltsalt");
        assert_eq!(decrypt(&value, Some("other")), Err(CryptError::Cipher));
    }

    #[test]
    fn missing_password_is_an_error() {
        let value = encrypt("s3cret", "pw", b"saltsalt");
        assert_eq!(decrypt(&value, None), Err(CryptError::NoPassword));
    }

    #[test]
    fn malformed_value_is_a_format_error() {
        assert_eq!(decrypt("CRYPT:zz:00", Some("pw")), Err(CryptError::Format));
        assert_eq!(decrypt("CRYPT:abcd", Some("pw")), Err(CryptError::Format));
    }
}
