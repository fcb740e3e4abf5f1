//! K1 signatures as Antelope writes them: the 66-byte wire form, the `SIG_K1_…` text form,
//! the nodeos canonical rule, and public key recovery from a digest.
//!
//! The compact bytes are kept exactly as read, so chain data always round-trips; checks
//! happen when a signature is used. Recovery accepts high-S and non-canonical signatures,
//! as contracts' `assert_recover_key` does; nodeos' extra canonical rule for transactions is
//! [`Signature::is_canonical`], applied by whoever validates transactions.

use std::fmt;
use std::str::FromStr;

use k256::ecdsa::{RecoveryId, VerifyingKey};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};
use crate::antelope::keys::base58::{self, Base58Error, Check};
use crate::antelope::keys::{
    K1_SUFFIX, KeyError, KeyType, PublicKey, Tagged, check_k1_type_byte, tagged,
};

/// Why a signature could not be read or a key could not be recovered from it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// An R1 or WebAuthn signature: valid on Antelope, not supported by COOPOS tooling.
    #[error("{0} signatures are not supported, only K1")]
    UnsupportedType(KeyType),
    /// A wire type byte that names no key type.
    #[error("unknown signature type byte {0}")]
    UnknownTypeByte(u8),
    /// The wire form is not 66 bytes.
    #[error("signature wire form must be {expected} bytes, got {actual}")]
    WireLength {
        /// Always 66.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// Text that does not start with `SIG_K1_`.
    #[error("unknown signature prefix: expected SIG_K1_")]
    UnknownPrefix,
    /// The text after the prefix is not base58.
    #[error("SIG_K1 signature is not valid base58")]
    Base58(#[source] bs58::decode::Error),
    /// The base58 text decoded to the wrong number of bytes.
    #[error("SIG_K1 signature decodes to {actual} bytes, expected {expected}")]
    Length {
        /// Payload plus checksum bytes expected.
        expected: usize,
        /// Bytes decoded.
        actual: usize,
    },
    /// The checksum (RIPEMD-160 with the `K1` suffix) does not match.
    #[error(
        "SIG_K1 signature checksum mismatch (ripemd160 with K1 suffix): stored {stored:?}, computed {computed:?}"
    )]
    Checksum {
        /// Checksum bytes in the text.
        stored: [u8; 4],
        /// Checksum of the payload.
        computed: [u8; 4],
    },
    /// The header byte is outside 27..35, so it carries no recovery id.
    #[error("signature header {0} carries no recovery id (expected 27..=34)")]
    RecoveryHeader(u8),
    /// r or s is zero or not below the curve order.
    #[error("signature r or s is not a valid secp256k1 scalar")]
    InvalidScalars,
    /// No public key recovers from this signature and digest.
    #[error("no public key recovers from this signature and digest")]
    Unrecoverable,
}

/// A K1 signature: 65 compact bytes `header ‖ r ‖ s`, header = 27 + 4 + recovery id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature {
    compact: [u8; 65],
}

impl Signature {
    /// Size of the wire form: type byte plus compact signature.
    pub const WIRE_LEN: usize = 66;

    /// Wraps 65 compact bytes as a K1 signature, without checks.
    pub fn from_compact(compact: [u8; 65]) -> Self {
        Self { compact }
    }

    /// The 65 compact bytes `header ‖ r ‖ s`.
    pub fn compact(&self) -> &[u8; 65] {
        &self.compact
    }

    /// Reads the wire form: type byte 0 (K1) then the 65 compact bytes.
    ///
    /// # Errors
    /// [`SignatureError::WireLength`] unless exactly 66 bytes,
    /// [`SignatureError::UnsupportedType`] for R1/WebAuthn,
    /// [`SignatureError::UnknownTypeByte`] for other type bytes.
    pub fn from_wire(bytes: &[u8]) -> Result<Self, SignatureError> {
        let (&type_byte, compact) = bytes.split_first().ok_or(SignatureError::WireLength {
            expected: Self::WIRE_LEN,
            actual: 0,
        })?;
        check_k1_type_byte(type_byte).map_err(|err| match err {
            KeyError::UnsupportedType(key_type) => SignatureError::UnsupportedType(key_type),
            _ => SignatureError::UnknownTypeByte(type_byte),
        })?;
        let compact: [u8; 65] = compact.try_into().map_err(|_| SignatureError::WireLength {
            expected: Self::WIRE_LEN,
            actual: bytes.len(),
        })?;
        Ok(Self { compact })
    }

    /// The wire form: type byte 0 then the 65 compact bytes.
    pub fn to_wire(&self) -> [u8; 66] {
        let mut out = [0u8; 66];
        out[1..].copy_from_slice(&self.compact);
        out
    }

    /// The nodeos canonical rule (`fc` `is_canonical`): r and s each have the top bit of
    /// their first byte clear, and a zero first byte is followed by a byte with the top bit set.
    pub fn is_canonical(&self) -> bool {
        let c = &self.compact;
        c[1] & 0x80 == 0
            && !(c[1] == 0 && c[2] & 0x80 == 0)
            && c[33] & 0x80 == 0
            && !(c[33] == 0 && c[34] & 0x80 == 0)
    }

    /// Recovers the public key that signed `digest`.
    ///
    /// High-S signatures are normalised (s → n − s, recovery id parity flipped) first, and
    /// non-canonical ones are accepted, because contracts accept any such signature.
    ///
    /// # Errors
    /// [`SignatureError::RecoveryHeader`] for a header outside 27..=34,
    /// [`SignatureError::InvalidScalars`] for r or s out of range,
    /// [`SignatureError::Unrecoverable`] if no key matches.
    pub fn recover(&self, digest: &[u8; 32]) -> Result<PublicKey, SignatureError> {
        let header = self.compact[0];
        if !(27..35).contains(&header) {
            return Err(SignatureError::RecoveryHeader(header));
        }
        let recovery_byte = (header - 27) & 3;
        let signature = k256::ecdsa::Signature::from_slice(&self.compact[1..])
            .map_err(|_| SignatureError::InvalidScalars)?;
        let (signature, recovery_byte) = match signature.normalize_s() {
            Some(low) => (low, recovery_byte ^ 1),
            None => (signature, recovery_byte),
        };
        let recovery_id =
            RecoveryId::from_byte(recovery_byte).ok_or(SignatureError::RecoveryHeader(header))?;
        let verifying_key = VerifyingKey::recover_from_prehash(digest, &signature, recovery_id)
            .map_err(|_| SignatureError::Unrecoverable)?;
        let point = verifying_key.to_encoded_point(true);
        let mut compressed = [0u8; 33];
        compressed.copy_from_slice(point.as_bytes());
        Ok(PublicKey::from_compressed(compressed))
    }

    /// Whether `key` is the key that recovers from this signature over `digest`.
    pub fn verify(&self, digest: &[u8; 32], key: &PublicKey) -> bool {
        self.recover(digest)
            .is_ok_and(|recovered| recovered == *key)
    }

    /// Builds the compact form from a k256 signature and its recovery id.
    pub(crate) fn from_k256(signature: &k256::ecdsa::Signature, recovery_id: RecoveryId) -> Self {
        let mut compact = [0u8; 65];
        compact[0] = 27 + 4 + recovery_id.to_byte();
        compact[1..].copy_from_slice(&signature.to_bytes());
        Self { compact }
    }
}

impl FromStr for Signature {
    type Err = SignatureError;

    /// Accepts `SIG_K1_…`; `SIG_R1_`/`SIG_WA_` are unsupported.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let body = match tagged(text, "SIG_") {
            Tagged::K1(body) => body,
            Tagged::Unsupported(other) => return Err(SignatureError::UnsupportedType(other)),
            Tagged::Untagged | Tagged::UnknownTag => return Err(SignatureError::UnknownPrefix),
        };
        let compact = base58::decode::<65>(body, Check::Ripemd160Suffixed(K1_SUFFIX)).map_err(
            |err| match err {
                Base58Error::Alphabet(source) => SignatureError::Base58(source),
                Base58Error::Length { expected, actual } => {
                    SignatureError::Length { expected, actual }
                }
                Base58Error::Checksum { stored, computed } => {
                    SignatureError::Checksum { stored, computed }
                }
            },
        )?;
        Ok(Self { compact })
    }
}

impl fmt::Display for Signature {
    /// Writes the `SIG_K1_…` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SIG_K1_{}",
            base58::encode(&self.compact, Check::Ripemd160Suffixed(K1_SUFFIX))
        )
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(D::Error::custom)
    }
}

impl Encode for Signature {
    fn encode(&self, writer: &mut Writer) {
        writer.write_raw(&self.to_wire());
    }
}

impl Decode for Signature {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let position = reader.position();
        let wire = reader.read_array::<{ Self::WIRE_LEN }>()?;
        Self::from_wire(&wire).map_err(|err| binary::Error::InvalidValue {
            type_name: "signature",
            position,
            source: Box::new(err),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use k256::ecdsa::hazmat::SignPrimitive;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    use crate::antelope::keys::PrivateKey;

    /// Vector V3 (greymass/swift-eosio `Tests/EOSIOTests/CryptoTests.swift`): key K1 signs
    /// sha256("I like turtles") with plain RFC 6979.
    const V3_WIF: &str = "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zFu";
    const V3_PUBLIC: &str = "PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs";
    const V3_SIGNATURE: &str = "SIG_K1_K6PhJrD6wvjzVQRwTUd82fk3Z4jznnUszjeBH7xGCAsfByCunzSN2KQ2A9ALetFwLTqnK4xvES6Bstt6NNSvGgjgM1Tcxn";
    const V3_COMPACT: &str = "1f551f8b7cb5be8bcb261cd6bbc8338784cf87c90e76fcfa0095a630f2b6c6b7202f095449850a8d6c62814557d74142c9dbcc72bf7b5046a67af9333d901e7840";

    fn v3_digest() -> [u8; 32] {
        Sha256::digest(b"I like turtles").into()
    }

    fn v3_key() -> PrivateKey {
        V3_WIF.parse().expect("published WIF parses")
    }

    fn v3_public() -> PublicKey {
        V3_PUBLIC.parse().expect("published key parses")
    }

    #[test]
    fn v3_digest_matches_the_notes() {
        assert_eq!(
            hex::encode(v3_digest()),
            "e50da5010bca3f3ea824008ff6d885e7a877936c5834705e55c7fd0f1e0be47b"
        );
    }

    #[test]
    fn v3_signature_is_reproduced_byte_for_byte() {
        let signature = v3_key().sign_digest(&v3_digest()).expect("signs");
        assert_eq!(hex::encode(signature.compact()), V3_COMPACT);
        assert_eq!(signature.to_string(), V3_SIGNATURE);
        assert_eq!(V3_SIGNATURE.parse::<Signature>(), Ok(signature));
        assert!(signature.is_canonical());
        assert_eq!(signature.recover(&v3_digest()), Ok(v3_public()));
        assert!(signature.verify(&v3_digest(), &v3_public()));
        assert!(!signature.verify(&[0u8; 32], &v3_public()));
    }

    /// Vector S8 (wharfkit/antelope `test/serializer.ts`, 'signature').
    #[test]
    fn signature_wire_vector() {
        let signature: Signature = "SIG_K1_KfPLgpw35iX8nfDzhbcmSBCr7nEGNEYXgmmempQspDJYBCKuAEs5rm3s4ZuLJY428Ca8ZhvR2Dkwu118y3NAoMDxhicRj9"
            .parse()
            .expect("published signature parses");
        let wire = hex::decode("00205150a67288c3b393fdba9061b05019c54b12bdac295fc83bebad7cd63c7bb67d5cb8cc220564da006240a58419f64d06a5c6e1fc62889816a6c3dfdd231ed389")
            .expect("vector hex");
        assert_eq!(signature.to_wire().as_slice(), wire.as_slice());
        assert_eq!(Signature::from_wire(&wire), Ok(signature));
        assert_eq!(binary::to_bytes(&signature), wire);
        assert_eq!(binary::from_bytes::<Signature>(&wire).ok(), Some(signature));
        assert!(matches!(
            binary::from_bytes::<Signature>(&wire[..65]),
            Err(binary::Error::UnexpectedEnd { .. })
        ));
        let mut r1 = wire.clone();
        r1[0] = 1;
        assert!(matches!(
            binary::from_bytes::<Signature>(&r1),
            Err(binary::Error::InvalidValue {
                type_name: "signature",
                ..
            })
        ));
    }

    #[test]
    fn high_s_signature_recovers_the_same_key() {
        let low = v3_key().sign_digest(&v3_digest()).expect("signs");
        let parsed = k256::ecdsa::Signature::from_slice(&low.compact()[1..]).expect("valid");
        let (r, s) = parsed.split_scalars();
        let high = k256::ecdsa::Signature::from_scalars(r, -s).expect("valid scalars");
        let mut compact = [0u8; 65];
        compact[0] = 31 + ((low.compact()[0] - 31) ^ 1);
        compact[1..].copy_from_slice(&high.to_bytes());
        let high = Signature::from_compact(compact);
        assert!(!high.is_canonical());
        assert_eq!(high.recover(&v3_digest()), Ok(v3_public()));
    }

    #[test]
    fn non_canonical_signature_recovers() {
        // RFC 6979 with additional data [1] on the V3 digest gives an r whose top bit is set:
        // the first nonce wharfkit and eosjs try, which they then reject as non-canonical.
        let scalar = *v3_key_scalar();
        let prehash = k256::FieldBytes::from(v3_digest());
        let (signature, recovery_id) = scalar
            .try_sign_prehashed_rfc6979::<Sha256>(&prehash, &[1])
            .expect("signs");
        let signature =
            Signature::from_k256(&signature, recovery_id.expect("k256 returns a recovery id"));
        assert_eq!(signature.compact()[1], 0xab);
        assert!(!signature.is_canonical());
        assert_eq!(signature.recover(&v3_digest()), Ok(v3_public()));
    }

    fn v3_key_scalar() -> Box<k256::Scalar> {
        let mut secret = [0u8; 32];
        hex::decode_to_slice(
            "d25968ebfce6e617bdb839b5a66cfc1fdd051d79a91094f7baceded449f84333",
            &mut secret,
        )
        .expect("vector hex");
        let scalar = k256::NonZeroScalar::try_from(secret.as_slice()).expect("valid scalar");
        Box::new(*scalar)
    }

    fn check_canonical(r: [u8; 2], s: [u8; 2], expected: bool) {
        let mut compact = [0x11u8; 65];
        compact[0] = 31;
        compact[1..3].copy_from_slice(&r);
        compact[33..35].copy_from_slice(&s);
        assert_eq!(
            Signature::from_compact(compact).is_canonical(),
            expected,
            "r {r:?} s {s:?}"
        );
    }

    #[test]
    fn canonical_rule() {
        check_canonical([0x7f, 0x00], [0x7f, 0x00], true);
        check_canonical([0x80, 0x00], [0x01, 0x00], false);
        check_canonical([0x01, 0x00], [0x80, 0x00], false);
        check_canonical([0x00, 0x7f], [0x01, 0x00], false);
        check_canonical([0x00, 0x80], [0x01, 0x00], true);
        check_canonical([0x01, 0x00], [0x00, 0x7f], false);
        check_canonical([0x01, 0x00], [0x00, 0x80], true);
    }

    #[test]
    fn recovery_errors() {
        let valid = v3_key().sign_digest(&v3_digest()).expect("signs");
        for header in [0u8, 26, 35, 255] {
            let mut compact = *valid.compact();
            compact[0] = header;
            assert_eq!(
                Signature::from_compact(compact).recover(&v3_digest()),
                Err(SignatureError::RecoveryHeader(header))
            );
        }
        // Uncompressed-key headers (27..=30) carry the same recovery id.
        let mut compact = *valid.compact();
        compact[0] -= 4;
        assert_eq!(
            Signature::from_compact(compact).recover(&v3_digest()),
            Ok(v3_public())
        );
        let mut zero_r = *valid.compact();
        zero_r[1..33].fill(0);
        assert_eq!(
            Signature::from_compact(zero_r).recover(&v3_digest()),
            Err(SignatureError::InvalidScalars)
        );
        let mut all_ones = [0xffu8; 65];
        all_ones[0] = 31;
        assert_eq!(
            Signature::from_compact(all_ones).recover(&v3_digest()),
            Err(SignatureError::InvalidScalars)
        );
    }

    #[test]
    fn text_and_wire_errors() {
        let cases: &[(&str, SignatureError)] = &[
            ("garbage", SignatureError::UnknownPrefix),
            ("SIG_K1", SignatureError::UnknownPrefix),
            ("SIG_XY_5EL7pLoLEPEMJ3Qr4", SignatureError::UnknownPrefix),
            (
                "SIG_R1_5EL7pLoLEPEMJ3Qr4",
                SignatureError::UnsupportedType(KeyType::R1),
            ),
            (
                "SIG_WA_5EL7pLoLEPEMJ3Qr4",
                SignatureError::UnsupportedType(KeyType::WebAuthn),
            ),
            (
                "SIG_K1_5EL7pLoLEPEMJ3Qr4",
                SignatureError::Length {
                    expected: 69,
                    actual: 12,
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<Signature>().as_ref(), Err(expected), "{text}");
        }
        assert!(matches!(
            "SIG_K1_0OIl".parse::<Signature>(),
            Err(SignatureError::Base58(_))
        ));
        let mut tampered = V3_SIGNATURE.to_owned();
        tampered.pop();
        tampered.push('o');
        assert!(matches!(
            tampered.parse::<Signature>(),
            Err(SignatureError::Checksum { .. })
        ));

        let wire_cases: &[(&[u8], SignatureError)] = &[
            (
                &[],
                SignatureError::WireLength {
                    expected: 66,
                    actual: 0,
                },
            ),
            (
                &[0u8; 65],
                SignatureError::WireLength {
                    expected: 66,
                    actual: 65,
                },
            ),
            (
                &[0u8; 67],
                SignatureError::WireLength {
                    expected: 66,
                    actual: 67,
                },
            ),
            (&[1u8; 66], SignatureError::UnsupportedType(KeyType::R1)),
            (&[9u8; 66], SignatureError::UnknownTypeByte(9)),
        ];
        for (bytes, expected) in wire_cases {
            assert_eq!(Signature::from_wire(bytes).as_ref(), Err(expected));
        }
    }

    #[test]
    fn serde_uses_the_text_form() {
        let signature: Signature = V3_SIGNATURE.parse().expect("published signature parses");
        let json = serde_json::to_string(&signature).expect("serialises");
        assert_eq!(json, format!("\"{V3_SIGNATURE}\""));
        assert_eq!(
            serde_json::from_str::<Signature>(&json).ok(),
            Some(signature)
        );
        assert!(serde_json::from_str::<Signature>("\"SIG_K1_1\"").is_err());
    }

    proptest! {
        #[test]
        fn text_and_wire_round_trip(compact in prop::array::uniform32(any::<u8>()).prop_flat_map(|head| {
            prop::array::uniform32(any::<u8>()).prop_map(move |tail| {
                let mut compact = [0u8; 65];
                compact[1..33].copy_from_slice(&head);
                compact[33..].copy_from_slice(&tail);
                compact[0] = 31 + (head[0] & 3);
                compact
            })
        })) {
            let signature = Signature::from_compact(compact);
            prop_assert_eq!(signature.to_string().parse::<Signature>(), Ok(signature));
            prop_assert_eq!(Signature::from_wire(&signature.to_wire()), Ok(signature));
        }
    }
}
