//! Login challenges: the text the server asks an account to sign, and the check of the answer.
//!
//! The client signs the 32-byte digest sha256(UTF-8 bytes of the challenge) with the account's
//! active K1 key; the signature must recover to a key the account holds on chain. The text names
//! the cooperative and the account, so a signature given to one cooperative cannot log in to
//! another, and carries 128 random bits, so it is never issued twice. Pure but for the random
//! bits, which come in as an argument.

use sha2::{Digest, Sha256};

use crate::antelope::keys::PublicKey;
use crate::antelope::signature::Signature;

/// The challenge text for `username` of `coopname`, expiring at `expires_at`, with `nonce`.
pub fn text(coopname: &str, username: &str, expires_at: i64, nonce: &[u8; 16]) -> String {
    format!(
        "mono-login:{coopname}:{username}:{expires_at}:{}",
        hex::encode(nonce)
    )
}

/// Why an answer to a challenge is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The signature is not a `SIG_K1_` signature.
    #[error("the signature does not parse")]
    Malformed,
    /// The signature recovers to a key the account does not hold.
    #[error("the signature is not made by the account's active key")]
    WrongKey,
}

/// Checks that `signature` signs `challenge` with one of `keys`.
///
/// # Errors
/// [`Refusal`].
pub fn verify(challenge: &str, signature: &str, keys: &[PublicKey]) -> Result<(), Refusal> {
    let signature: Signature = signature.parse().map_err(|_| Refusal::Malformed)?;
    let digest: [u8; 32] = Sha256::digest(challenge.as_bytes()).into();
    if keys.iter().any(|key| signature.verify(&digest, key)) {
        Ok(())
    } else {
        Err(Refusal::WrongKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::antelope::keys::PrivateKey;

    #[test]
    fn only_the_accounts_key_answers() {
        let key = PrivateKey::from_bytes(&[3; 32]).expect("valid key");
        let other = PrivateKey::from_bytes(&[4; 32]).expect("valid key");
        let challenge = text("voskhod", "alice", 1_300, &[9; 16]);
        assert_eq!(
            challenge,
            format!("mono-login:voskhod:alice:1300:{}", "09".repeat(16))
        );
        let digest: [u8; 32] = Sha256::digest(challenge.as_bytes()).into();
        let signature = key.sign_digest(&digest).expect("signs").to_string();
        assert!(signature.starts_with("SIG_K1_"));
        assert_eq!(verify(&challenge, &signature, &[key.public_key()]), Ok(()));
        assert_eq!(
            verify(
                &challenge,
                &signature,
                &[other.public_key(), key.public_key()]
            ),
            Ok(())
        );
        assert_eq!(
            verify(&challenge, &signature, &[other.public_key()]),
            Err(Refusal::WrongKey)
        );
        assert_eq!(verify(&challenge, &signature, &[]), Err(Refusal::WrongKey));
        assert_eq!(
            verify(
                "mono-login:voskhod:alice:1300:00",
                &signature,
                &[key.public_key()]
            ),
            Err(Refusal::WrongKey)
        );
        assert_eq!(
            verify(&challenge, "SIG_K1_nonsense", &[key.public_key()]),
            Err(Refusal::Malformed)
        );
    }
}
