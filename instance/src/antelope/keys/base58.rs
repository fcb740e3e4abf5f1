//! Base58 (Bitcoin alphabet) with the four-byte checksums Antelope appends to keys and
//! signatures: RIPEMD-160 with a key-type suffix (`PUB_K1_`, `PVT_K1_`, `SIG_K1_`), plain
//! RIPEMD-160 (legacy `EOS` public keys) and double SHA-256 (WIF private keys).
//!
//! It never panics on bad text: every malformed input is a [`Base58Error`].

use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

/// Length of the checksum that follows the payload.
const CHECKSUM_LEN: usize = 4;

/// How the four checksum bytes are derived from the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// `ripemd160(payload ‖ suffix)[..4]`, the `PUB_K1_`/`PVT_K1_`/`SIG_K1_` rule.
    Ripemd160Suffixed(&'static [u8]),
    /// `ripemd160(payload)[..4]`, the legacy `EOS` public key rule.
    Ripemd160,
    /// `sha256(sha256(payload))[..4]`, the WIF rule.
    DoubleSha256,
}

/// Why a base58 string did not decode to a payload of the expected size.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Base58Error {
    #[error("invalid base58")]
    Alphabet(#[source] bs58::decode::Error),
    #[error("decoded to {actual} bytes, expected {expected}")]
    Length { expected: usize, actual: usize },
    #[error("checksum mismatch: stored {stored:?}, computed {computed:?}")]
    Checksum {
        stored: [u8; CHECKSUM_LEN],
        computed: [u8; CHECKSUM_LEN],
    },
}

impl Check {
    fn checksum(self, payload: &[u8]) -> [u8; CHECKSUM_LEN] {
        let full: Vec<u8> = match self {
            Self::Ripemd160Suffixed(suffix) => {
                let mut hasher = Ripemd160::new();
                hasher.update(payload);
                hasher.update(suffix);
                hasher.finalize().to_vec()
            }
            Self::Ripemd160 => Ripemd160::digest(payload).to_vec(),
            Self::DoubleSha256 => Sha256::digest(Sha256::digest(payload)).to_vec(),
        };
        let mut out = [0u8; CHECKSUM_LEN];
        out.copy_from_slice(&full[..CHECKSUM_LEN]);
        out
    }
}

/// Encodes `payload ‖ checksum(payload)` in base58.
pub(crate) fn encode(payload: &[u8], check: Check) -> String {
    let mut data = Vec::with_capacity(payload.len() + CHECKSUM_LEN);
    data.extend_from_slice(payload);
    data.extend_from_slice(&check.checksum(payload));
    bs58::encode(data).into_string()
}

/// Decodes base58 text into exactly `N` payload bytes and checks the trailing checksum.
pub(crate) fn decode<const N: usize>(text: &str, check: Check) -> Result<[u8; N], Base58Error> {
    let data = bs58::decode(text)
        .into_vec()
        .map_err(Base58Error::Alphabet)?;
    if data.len() != N + CHECKSUM_LEN {
        return Err(Base58Error::Length {
            expected: N + CHECKSUM_LEN,
            actual: data.len(),
        });
    }
    let (payload, stored) = data.split_at(N);
    let mut payload_array = [0u8; N];
    payload_array.copy_from_slice(payload);
    let mut stored_array = [0u8; CHECKSUM_LEN];
    stored_array.copy_from_slice(stored);
    let computed = check.checksum(payload);
    if computed != stored_array {
        return Err(Base58Error::Checksum {
            stored: stored_array,
            computed,
        });
    }
    Ok(payload_array)
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    const CHECKS: [Check; 3] = [
        Check::Ripemd160Suffixed(b"K1"),
        Check::Ripemd160,
        Check::DoubleSha256,
    ];

    #[test]
    fn rejects_bad_alphabet_length_and_checksum() {
        for check in CHECKS {
            assert!(matches!(
                decode::<4>("0OIl", check),
                Err(Base58Error::Alphabet(_))
            ));
            let short = encode(&[1, 2, 3], check);
            assert_eq!(
                decode::<4>(&short, check),
                Err(Base58Error::Length {
                    expected: 8,
                    actual: 7
                })
            );
        }
        let text = encode(&[9, 9, 9, 9], Check::Ripemd160);
        assert!(matches!(
            decode::<4>(&text, Check::DoubleSha256),
            Err(Base58Error::Checksum { .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trips(payload in any::<[u8; 33]>(), check_idx in 0usize..3) {
            let check = CHECKS[check_idx];
            let text = encode(&payload, check);
            prop_assert_eq!(decode::<33>(&text, check), Ok(payload));
        }
    }
}
