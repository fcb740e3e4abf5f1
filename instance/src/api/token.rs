//! Credentials the API hands out: HS256 access tokens (JWT) naming an account for a few minutes,
//! and opaque refresh tokens, random 32 bytes of which only the SHA-256 is stored.
//!
//! An access token carries no role: the role is read from chain state at every request, so a
//! council member who leaves the board loses council access at once, not at token expiry.

use std::fmt;
use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `typ` claim of access tokens, so no other token signed with the key passes for one.
const ACCESS: &str = "access";

/// Bytes that must not be printed: a key or a bearer credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Reads a secret from `path`, trimming the final line break a text editor or a mounted
    /// Secret may add.
    ///
    /// # Errors
    /// [`SecretError`] when the file cannot be read or holds fewer than 32 bytes.
    pub fn from_file(path: &Path) -> Result<Self, SecretError> {
        let mut bytes = std::fs::read(path).map_err(|source| SecretError::Read {
            path: path.display().to_string(),
            source,
        })?;
        while bytes
            .last()
            .is_some_and(|byte| *byte == b'\n' || *byte == b'\r')
        {
            bytes.pop();
        }
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort {
                path: path.display().to_string(),
                len: bytes.len(),
            });
        }
        Ok(Self(bytes))
    }

    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether `candidate` is this secret, compared through hashes so the time taken does not
    /// depend on where the first differing byte is.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        Sha256::digest(&self.0) == Sha256::digest(candidate)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Fewest bytes a secret file must hold.
pub const MIN_SECRET_BYTES: usize = 32;

/// Why a secret file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file cannot be read.
    #[error("reading the secret file {path}")]
    Read {
        /// The file.
        path: String,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// The file is too short to be a key.
    #[error("the secret file {path} holds {len} bytes, at least {MIN_SECRET_BYTES} are needed")]
    TooShort {
        /// The file.
        path: String,
        /// Its length.
        len: usize,
    },
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Claims {
    /// The account.
    sub: String,
    /// The cooperative that issued it.
    iss: String,
    /// Always [`ACCESS`].
    typ: String,
    /// Issued at, seconds since 1970.
    iat: i64,
    /// Expires at, seconds since 1970.
    exp: i64,
}

/// Why an access token is refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Signature, shape, issuer, type or expiry is wrong.
    #[error("the access token is invalid or expired")]
    Invalid,
    /// The token could not be signed.
    #[error("signing an access token")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

/// Issues an access token for `username` of `issuer`, valid from `now` for `ttl_secs`.
///
/// # Errors
/// [`TokenError::Sign`] when signing fails.
pub fn issue_access(
    secret: &Secret,
    issuer: &str,
    username: &str,
    now: i64,
    ttl_secs: i64,
) -> Result<String, TokenError> {
    let claims = Claims {
        sub: username.to_owned(),
        iss: issuer.to_owned(),
        typ: ACCESS.to_owned(),
        iat: now,
        exp: now.saturating_add(ttl_secs),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose()),
    )
    .map_err(TokenError::Sign)
}

/// What a valid access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The account.
    pub username: String,
    /// When the token expires, seconds since 1970.
    pub expires: i64,
}

/// The account an access token of `issuer` names, if it is valid at `now`.
///
/// # Errors
/// [`TokenError::Invalid`].
pub fn verify_access(
    secret: &Secret,
    issuer: &str,
    token: &str,
    now: i64,
) -> Result<Access, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    // Expiry is checked below against the caller's clock, not the library's, with no leeway.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.set_issuer(&[issuer]);
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.expose()),
        &validation,
    )
    .map_err(|_| TokenError::Invalid)?;
    if data.claims.typ != ACCESS || data.claims.exp <= now {
        return Err(TokenError::Invalid);
    }
    Ok(Access {
        username: data.claims.sub,
        expires: data.claims.exp,
    })
}

/// A new refresh token: 32 random bytes, URL-safe base64.
pub fn new_refresh_token() -> String {
    let mut bytes = [0_u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// What the store keeps of a refresh token.
pub fn refresh_token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new(vec![7; 32])
    }

    #[test]
    fn access_tokens_name_the_account_until_they_expire() {
        let token = issue_access(&secret(), "voskhod", "alice", 1_000, 900).expect("signs");
        let check = |token: &str, issuer: &str, now: i64, key: &Secret| {
            verify_access(key, issuer, token, now)
                .ok()
                .map(|access| access.username)
        };
        assert_eq!(
            check(&token, "voskhod", 1_000, &secret()).as_deref(),
            Some("alice")
        );
        assert_eq!(
            check(&token, "voskhod", 1_899, &secret()).as_deref(),
            Some("alice")
        );
        assert_eq!(check(&token, "voskhod", 1_900, &secret()), None);
        assert_eq!(check(&token, "othercoop", 1_000, &secret()), None);
        assert_eq!(
            check(&token, "voskhod", 1_000, &Secret::new(vec![8; 32])),
            None
        );
        let mut tampered = token.clone();
        tampered.insert(tampered.len() / 2, 'x');
        assert_eq!(check(&tampered, "voskhod", 1_000, &secret()), None);
    }

    #[test]
    fn secrets_do_not_print_and_files_must_be_long_enough() {
        assert_eq!(format!("{:?}", secret()), "***");
        assert!(secret().matches(&[7; 32]));
        assert!(!secret().matches(&[7; 31]));
        let dir = tempfile::tempdir().expect("temporary directory");
        let short = dir.path().join("short");
        std::fs::write(&short, "tooshort\n").expect("writes");
        assert!(matches!(
            Secret::from_file(&short),
            Err(SecretError::TooShort { len: 8, .. })
        ));
        let good = dir.path().join("good");
        std::fs::write(&good, format!("{}\n", "k".repeat(40))).expect("writes");
        assert_eq!(Secret::from_file(&good).expect("reads").expose().len(), 40);
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (one, two) = (new_refresh_token(), new_refresh_token());
        assert_ne!(one, two);
        assert_eq!(one.len(), 43);
        assert_ne!(refresh_token_hash(&one), refresh_token_hash(&two));
    }
}
