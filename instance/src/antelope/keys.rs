//! K1 (secp256k1) keys as Antelope writes them: public keys in the `PUB_K1_…` and legacy
//! `EOS…` text forms and the 34-byte wire form, private keys in the `PVT_K1_…` and WIF forms,
//! and deterministic canonical signing.
//!
//! R1 and WebAuthn keys exist on Antelope chains but COOPOS documents and accounts use K1 only,
//! so they are rejected with [`KeyError::UnsupportedType`] rather than half supported.
//! Nothing here does I/O: key generation takes its random source as an argument.
//! Private keys never show up in `Debug` output or in error messages.

pub(crate) mod base58;

use std::fmt;
use std::str::FromStr;

use k256::ecdsa::SigningKey;
use k256::ecdsa::hazmat::SignPrimitive;
use rand_core::CryptoRngCore;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;

use crate::antelope::binary::{self, Decode, Encode, Reader, Writer};
use crate::antelope::signature::Signature;
use base58::{Base58Error, Check};

/// Checksum suffix of every `…_K1_…` text form.
pub(crate) const K1_SUFFIX: &[u8] = b"K1";

/// Version byte that starts every WIF private key payload.
const WIF_VERSION: u8 = 0x80;

/// Key types Antelope knows, in wire order (the type byte of `public_key` and `signature`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// secp256k1, type byte 0: the only type COOPOS uses.
    K1,
    /// secp256r1, type byte 1.
    R1,
    /// WebAuthn, type byte 2.
    WebAuthn,
}

impl KeyType {
    /// The key type for a wire type byte, if the byte names one.
    pub fn from_wire_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::K1),
            1 => Some(Self::R1),
            2 => Some(Self::WebAuthn),
            _ => None,
        }
    }

    /// The type as it appears inside text prefixes (`K1`, `R1`, `WA`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::K1 => "K1",
            Self::R1 => "R1",
            Self::WebAuthn => "WA",
        }
    }

    /// Parses the two letters between the prefix underscores (`PUB_R1_` → `R1`).
    pub(crate) fn from_text_tag(tag: &str) -> Option<Self> {
        match tag {
            "K1" => Some(Self::K1),
            "R1" => Some(Self::R1),
            "WA" => Some(Self::WebAuthn),
            _ => None,
        }
    }
}

/// What a `PREFIX_TAG_body` text turned out to be.
pub(crate) enum Tagged<'a> {
    /// The text does not start with the prefix.
    Untagged,
    /// A K1 text; the base58 body follows.
    K1(&'a str),
    /// A known key type this crate does not support.
    Unsupported(KeyType),
    /// The prefix followed by no known tag.
    UnknownTag,
}

/// Splits `PUB_K1_…`, `PVT_K1_…` or `SIG_K1_…` (with `prefix` `PUB_`, `PVT_` or `SIG_`).
pub(crate) fn tagged<'a>(text: &'a str, prefix: &str) -> Tagged<'a> {
    let Some(rest) = text.strip_prefix(prefix) else {
        return Tagged::Untagged;
    };
    let Some((tag, body)) = rest.split_once('_') else {
        return Tagged::UnknownTag;
    };
    match KeyType::from_text_tag(tag) {
        Some(KeyType::K1) => Tagged::K1(body),
        Some(other) => Tagged::Unsupported(other),
        None => Tagged::UnknownTag,
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text form a key was written in; errors name it so a user sees which rule failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFormat {
    /// `PUB_K1_` + base58(point ‖ ripemd160(point ‖ "K1")[..4]).
    PubK1,
    /// `EOS` + base58(point ‖ ripemd160(point)[..4]).
    Legacy,
    /// `PVT_K1_` + base58(secret ‖ ripemd160(secret ‖ "K1")[..4]).
    PvtK1,
    /// base58(0x80 ‖ secret ‖ sha256(sha256(0x80 ‖ secret))[..4]).
    Wif,
}

impl fmt::Display for KeyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PubK1 => "PUB_K1",
            Self::Legacy => "legacy EOS",
            Self::PvtK1 => "PVT_K1",
            Self::Wif => "WIF",
        })
    }
}

/// Why a key could not be read, or a signature could not be produced.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An R1 or WebAuthn key: valid on Antelope, not supported by COOPOS tooling.
    #[error("{0} keys are not supported, only K1")]
    UnsupportedType(KeyType),
    /// A wire type byte that names no key type.
    #[error("unknown key type byte {0}")]
    UnknownTypeByte(u8),
    /// The wire form is not 34 bytes.
    #[error("public key wire form must be {expected} bytes, got {actual}")]
    WireLength {
        /// Always 34.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// Text that starts with none of `PUB_K1_`, `EOS` (public) or `PVT_K1_`, WIF (private).
    #[error("unknown key prefix: expected {expected}")]
    UnknownPrefix {
        /// The prefixes that would have been accepted.
        expected: &'static str,
    },
    /// The text after the prefix is not base58.
    #[error("{format} key is not valid base58")]
    Base58 {
        /// Text form being read.
        format: KeyFormat,
        /// What the base58 decoder found.
        #[source]
        source: bs58::decode::Error,
    },
    /// The base58 text decoded to the wrong number of bytes.
    #[error("{format} key decodes to {actual} bytes, expected {expected}")]
    Length {
        /// Text form being read.
        format: KeyFormat,
        /// Payload plus checksum bytes expected.
        expected: usize,
        /// Bytes decoded.
        actual: usize,
    },
    /// A `PUB_K1_` or `PVT_K1_` checksum (RIPEMD-160 with the `K1` suffix) does not match.
    #[error(
        "{format} key checksum mismatch (ripemd160 with K1 suffix): stored {stored:?}, computed {computed:?}"
    )]
    K1Checksum {
        /// Text form being read.
        format: KeyFormat,
        /// Checksum bytes in the text.
        stored: [u8; 4],
        /// Checksum of the payload.
        computed: [u8; 4],
    },
    /// A legacy `EOS` checksum (plain RIPEMD-160) does not match.
    #[error(
        "legacy EOS key checksum mismatch (ripemd160): stored {stored:?}, computed {computed:?}"
    )]
    LegacyChecksum {
        /// Checksum bytes in the text.
        stored: [u8; 4],
        /// Checksum of the payload.
        computed: [u8; 4],
    },
    /// A WIF checksum (double SHA-256) does not match.
    #[error("WIF key checksum mismatch (double sha256): stored {stored:?}, computed {computed:?}")]
    WifChecksum {
        /// Checksum bytes in the text.
        stored: [u8; 4],
        /// Checksum of the payload.
        computed: [u8; 4],
    },
    /// A WIF payload whose version byte is not 0x80.
    #[error("WIF key version byte is {0:#04x}, expected 0x80")]
    WifVersion(u8),
    /// The 32 secret bytes are zero or not below the curve order.
    #[error("private key is not a valid secp256k1 scalar")]
    InvalidScalar,
    /// No canonical signature within 256 nonces; practically unreachable (each try is ~1/2).
    #[error("no canonical signature found within {attempts} attempts")]
    NoCanonicalSignature {
        /// Nonces tried.
        attempts: usize,
    },
}

/// A K1 public key: a 33-byte compressed SEC1 point.
///
/// The bytes are kept as read and are not checked to lie on the curve, because chain data
/// holds such keys too (an empty legacy `document` carries 33 zero bytes) and decoding must
/// round-trip them. Keys recovered from signatures are always valid points.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey {
    compressed: [u8; 33],
}

impl PublicKey {
    /// Size of the wire form: type byte plus compressed point.
    pub const WIRE_LEN: usize = 34;

    /// Wraps a compressed SEC1 point as a K1 key, without curve checks.
    pub fn from_compressed(compressed: [u8; 33]) -> Self {
        Self { compressed }
    }

    /// The compressed SEC1 point.
    pub fn compressed(&self) -> &[u8; 33] {
        &self.compressed
    }

    /// Reads the wire form: type byte 0 (K1) then the 33-byte point.
    ///
    /// # Errors
    /// [`KeyError::WireLength`] unless exactly 34 bytes, [`KeyError::UnsupportedType`] for
    /// R1/WebAuthn, [`KeyError::UnknownTypeByte`] for other type bytes.
    pub fn from_wire(bytes: &[u8]) -> Result<Self, KeyError> {
        let (&type_byte, point) = bytes.split_first().ok_or(KeyError::WireLength {
            expected: Self::WIRE_LEN,
            actual: 0,
        })?;
        check_k1_type_byte(type_byte)?;
        let compressed: [u8; 33] = point.try_into().map_err(|_| KeyError::WireLength {
            expected: Self::WIRE_LEN,
            actual: bytes.len(),
        })?;
        Ok(Self { compressed })
    }

    /// The wire form: type byte 0 then the 33-byte point.
    pub fn to_wire(&self) -> [u8; 34] {
        let mut out = [0u8; 34];
        out[1..].copy_from_slice(&self.compressed);
        out
    }

    /// The legacy `EOS…` text form, which nodeos still prints in many API answers.
    pub fn to_legacy_string(&self) -> String {
        format!("EOS{}", base58::encode(&self.compressed, Check::Ripemd160))
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    /// Accepts `PUB_K1_…` and legacy `EOS…`; `PUB_R1_`/`PUB_WA_` are unsupported.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "PUB_K1_ or EOS";
        let compressed = match tagged(text, "PUB_") {
            Tagged::K1(body) => base58::decode::<33>(body, Check::Ripemd160Suffixed(K1_SUFFIX))
                .map_err(|err| key_base58_error(KeyFormat::PubK1, err))?,
            Tagged::Unsupported(other) => return Err(KeyError::UnsupportedType(other)),
            Tagged::UnknownTag => return Err(KeyError::UnknownPrefix { expected: EXPECTED }),
            Tagged::Untagged => {
                let body = text
                    .strip_prefix("EOS")
                    .ok_or(KeyError::UnknownPrefix { expected: EXPECTED })?;
                base58::decode::<33>(body, Check::Ripemd160)
                    .map_err(|err| key_base58_error(KeyFormat::Legacy, err))?
            }
        };
        Ok(Self { compressed })
    }
}

impl fmt::Display for PublicKey {
    /// Writes the `PUB_K1_…` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PUB_K1_{}",
            base58::encode(&self.compressed, Check::Ripemd160Suffixed(K1_SUFFIX))
        )
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(D::Error::custom)
    }
}

impl Encode for PublicKey {
    fn encode(&self, writer: &mut Writer) {
        writer.write_raw(&self.to_wire());
    }
}

impl Decode for PublicKey {
    fn decode(reader: &mut Reader<'_>) -> binary::Result<Self> {
        let position = reader.position();
        let wire = reader.read_array::<{ Self::WIRE_LEN }>()?;
        Self::from_wire(&wire).map_err(|err| binary::Error::InvalidValue {
            type_name: "public_key",
            position,
            source: Box::new(err),
        })
    }
}

/// A K1 private key.
///
/// `Debug` prints `PrivateKey(***)`; only `Display` (`PVT_K1_…`) and [`PrivateKey::to_wif`]
/// reveal the secret, and callers decide where those strings go.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey {
    signing_key: SigningKey,
}

impl PrivateKey {
    /// A fresh random key from `rng` (callers pass `rand_core::OsRng`).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self {
            signing_key: SigningKey::random(rng),
        }
    }

    /// The key for 32 big-endian secret bytes.
    ///
    /// # Errors
    /// [`KeyError::InvalidScalar`] if the bytes are zero or not below the curve order.
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, KeyError> {
        let signing_key =
            SigningKey::from_bytes(&(*secret).into()).map_err(|_| KeyError::InvalidScalar)?;
        Ok(Self { signing_key })
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let point = self.signing_key.verifying_key().to_encoded_point(true);
        let mut compressed = [0u8; 33];
        compressed.copy_from_slice(point.as_bytes());
        PublicKey { compressed }
    }

    /// The WIF text form (`5…`).
    pub fn to_wif(&self) -> String {
        let mut payload = [0u8; 33];
        payload[0] = WIF_VERSION;
        payload[1..].copy_from_slice(&self.signing_key.to_bytes());
        base58::encode(&payload, Check::DoubleSha256)
    }

    /// Signs a 32-byte digest with a canonical K1 signature, deterministically.
    ///
    /// The first try is plain RFC 6979 (no additional data), then RFC 6979 with the additional
    /// data byte 1, 2, … until the signature passes the nodeos canonical test; S is always
    /// normalised low.
    ///
    /// # Errors
    /// [`KeyError::NoCanonicalSignature`] if 256 nonces all fail, which happens with
    /// probability about 2^-256.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<Signature, KeyError> {
        let prehash = k256::FieldBytes::from(*digest);
        let scalar: &k256::Scalar = self.signing_key.as_nonzero_scalar().as_ref();
        for attempt in 0..=u8::MAX {
            let extra = [attempt];
            let additional_data = if attempt == 0 {
                &extra[..0]
            } else {
                &extra[..]
            };
            let Ok((signature, Some(recovery_id))) =
                scalar.try_sign_prehashed_rfc6979::<Sha256>(&prehash, additional_data)
            else {
                continue;
            };
            let signature = Signature::from_k256(&signature, recovery_id);
            if signature.is_canonical() {
                return Ok(signature);
            }
        }
        Err(KeyError::NoCanonicalSignature {
            attempts: usize::from(u8::MAX) + 1,
        })
    }
}

impl FromStr for PrivateKey {
    type Err = KeyError;

    /// Accepts `PVT_K1_…` and WIF; `PVT_R1_`/`PVT_WA_` are unsupported.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "PVT_K1_ or WIF";
        let secret = match tagged(text, "PVT_") {
            Tagged::K1(body) => base58::decode::<32>(body, Check::Ripemd160Suffixed(K1_SUFFIX))
                .map_err(|err| key_base58_error(KeyFormat::PvtK1, err))?,
            Tagged::Unsupported(other) => return Err(KeyError::UnsupportedType(other)),
            Tagged::UnknownTag => return Err(KeyError::UnknownPrefix { expected: EXPECTED }),
            Tagged::Untagged => {
                let payload = base58::decode::<33>(text, Check::DoubleSha256)
                    .map_err(|err| key_base58_error(KeyFormat::Wif, err))?;
                let [version, secret @ ..] = payload;
                if version != WIF_VERSION {
                    return Err(KeyError::WifVersion(version));
                }
                secret
            }
        };
        Self::from_bytes(&secret)
    }
}

impl fmt::Display for PrivateKey {
    /// Writes the `PVT_K1_…` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PVT_K1_{}",
            base58::encode(
                &self.signing_key.to_bytes(),
                Check::Ripemd160Suffixed(K1_SUFFIX)
            )
        )
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(***)")
    }
}

/// Accepts type byte 0 and names every other one.
pub(crate) fn check_k1_type_byte(type_byte: u8) -> Result<(), KeyError> {
    match KeyType::from_wire_byte(type_byte) {
        Some(KeyType::K1) => Ok(()),
        Some(other) => Err(KeyError::UnsupportedType(other)),
        None => Err(KeyError::UnknownTypeByte(type_byte)),
    }
}

fn key_base58_error(format: KeyFormat, err: Base58Error) -> KeyError {
    match err {
        Base58Error::Alphabet(source) => KeyError::Base58 { format, source },
        Base58Error::Length { expected, actual } => KeyError::Length {
            format,
            expected,
            actual,
        },
        Base58Error::Checksum { stored, computed } => match format {
            KeyFormat::PubK1 | KeyFormat::PvtK1 => KeyError::K1Checksum {
                format,
                stored,
                computed,
            },
            KeyFormat::Legacy => KeyError::LegacyChecksum { stored, computed },
            KeyFormat::Wif => KeyError::WifChecksum { stored, computed },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;
    use rand_core::OsRng;

    /// One private key in all its forms and the public key it yields.
    struct KeyVector {
        wif: &'static str,
        pvt_k1: Option<&'static str>,
        secret_hex: Option<&'static str>,
        public: Option<(&'static str, &'static str)>,
        point_hex: Option<&'static str>,
    }

    /// Vectors K1–K5 of the protocol notes. Sources (data values only):
    /// wharfkit/antelope `test/crypto.ts` ('private key encoding', 'public key encoding',
    /// 'public key prefix'), greymass/swift-eosio `Tests/EOSIOTests/CryptoTests.swift`,
    /// EOSIO/eosjs `src/tests/eosjs-jssig.test.ts`. `PVT_K1_` strings marked "computed" were
    /// derived here from the published WIF and checked against the published public keys.
    const KEY_VECTORS: &[KeyVector] = &[
        KeyVector {
            wif: "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zFu",
            pvt_k1: Some("PVT_K1_2be6BwD56MHeVD4P95bRLdnP3oB3P4QRAXAsSKh4N8Xu6d4Aux"),
            secret_hex: Some("d25968ebfce6e617bdb839b5a66cfc1fdd051d79a91094f7baceded449f84333"),
            public: Some((
                "PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs",
                "EOS6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeABhJRin",
            )),
            point_hex: Some("02caee1a02910b18dfd5d9db0e8a4bc90f8dd34cedbbfb00c6c841a2abb2fa28cc"),
        },
        KeyVector {
            wif: "5J4zo6Af9QnAeJmNEQeAR4MNhaG7SKVReAYgZC8655hpkbbBscr",
            pvt_k1: None,
            secret_hex: None,
            public: Some((
                "PUB_K1_87DUhBcZrLhyFfBVDyu1iWZJUGURqbk6CQxwv5g6iWUD2X45Hv",
                "EOS87DUhBcZrLhyFfBVDyu1iWZJUGURqbk6CQxwv5g6iWUCy9dCUJ",
            )),
            point_hex: None,
        },
        KeyVector {
            wif: "5Juww5SS6aLWxopXBAWzwqrwadiZKz7XpKAiktXTKcfBGi1DWg8",
            pvt_k1: None,
            secret_hex: None,
            public: Some((
                "PUB_K1_7tgwU6E7pAUQJgqEJt66Yi8cWvanTUW8ZfBjeXeJBQvhYTBFvY",
                "EOS7tgwU6E7pAUQJgqEJt66Yi8cWvanTUW8ZfBjeXeJBQvhTU9ypi",
            )),
            point_hex: None,
        },
        KeyVector {
            wif: "5JnHjSFwe4r7xyqAUAaVs51G7HmzE86DWGa3VAA5VvQriGYnSUr",
            pvt_k1: None,
            secret_hex: None,
            public: Some((
                "PUB_K1_8VaY5CiTexYqgQZyPTJkc3qvWuZUi12QrZL9ssjqW2es7e7bRJ",
                "EOS8VaY5CiTexYqgQZyPTJkc3qvWuZUi12QrZL9ssjqW2es6aQk2F",
            )),
            point_hex: None,
        },
        KeyVector {
            wif: "5K4XZH5XR2By7Q5KTcZnPAmUMU5yjUNBdoKzzXyrLfmiEZJqoKE",
            pvt_k1: None,
            secret_hex: None,
            public: Some((
                "PUB_K1_7VGhqctkKprW1VUj19DZZiiZLX3YcJqUJCuEcahJmUCw9RT8v2",
                "EOS7VGhqctkKprW1VUj19DZZiiZLX3YcJqUJCuEcahJmUCw3wJEMu",
            )),
            point_hex: None,
        },
        KeyVector {
            wif: "5JomqKfYXQn5aDb1T1Df5c6kPfzdnYuKW1d868pdBxjs9quS1xE",
            pvt_k1: Some("PVT_K1_zVFeDTSxD6KDCjQomkzZMdB5AiaR3EnCZLrxmsx5tDzH937km"),
            secret_hex: None,
            public: None,
            point_hex: None,
        },
    ];

    fn check_key_vector(vector: &KeyVector) {
        let from_wif: PrivateKey = vector.wif.parse().expect("published WIF parses");
        assert_eq!(from_wif.to_wif(), vector.wif);
        if let Some(pvt_k1) = vector.pvt_k1 {
            let from_pvt: PrivateKey = pvt_k1.parse().expect("published PVT_K1 parses");
            assert_eq!(from_pvt, from_wif);
            assert_eq!(from_wif.to_string(), pvt_k1);
        }
        if let Some(secret_hex) = vector.secret_hex {
            let mut secret = [0u8; 32];
            hex::decode_to_slice(secret_hex, &mut secret).expect("vector hex");
            assert_eq!(PrivateKey::from_bytes(&secret), Ok(from_wif.clone()));
        }
        let Some((pub_k1, legacy)) = vector.public else {
            return;
        };
        let public = from_wif.public_key();
        assert_eq!(public.to_string(), pub_k1);
        assert_eq!(public.to_legacy_string(), legacy);
        assert_eq!(pub_k1.parse::<PublicKey>(), Ok(public));
        assert_eq!(legacy.parse::<PublicKey>(), Ok(public));
        if let Some(point_hex) = vector.point_hex {
            assert_eq!(hex::encode(public.compressed()), point_hex);
            assert_eq!(hex::encode(public.to_wire()), format!("00{point_hex}"));
        }
    }

    #[test]
    fn published_key_vectors() {
        for vector in KEY_VECTORS {
            check_key_vector(vector);
        }
    }

    /// Vector S7 (wharfkit/antelope `test/serializer.ts`, 'public key').
    #[test]
    fn public_key_wire_vector() {
        let key: PublicKey = "PUB_K1_5AHoNnWetuDhKWSDx3WUf8W7Dg5xjHCMc4yHmmSiaJCFvvAgnB"
            .parse()
            .expect("published key parses");
        let wire =
            hex::decode("000223e0ae8aacb41b06dc74af1a56b2eb69133f07f7f75bd1d5e53316bff195edf4")
                .expect("vector hex");
        assert_eq!(key.to_wire().as_slice(), wire.as_slice());
        assert_eq!(PublicKey::from_wire(&wire), Ok(key));
        assert_eq!(binary::to_bytes(&key), wire);
        assert_eq!(binary::from_bytes::<PublicKey>(&wire).ok(), Some(key));
        let mut r1 = wire.clone();
        r1[0] = 1;
        assert!(matches!(
            binary::from_bytes::<PublicKey>(&r1),
            Err(binary::Error::InvalidValue {
                type_name: "public_key",
                ..
            })
        ));
    }

    /// Vector K6 (wharfkit/antelope `test/crypto.ts`, 'key errors'): the last character of
    /// each valid key was changed, so the stored checksum no longer matches.
    #[test]
    fn checksum_errors_name_the_rule() {
        assert_eq!(
            "PVT_K1_2be6BwD56MHeVD4P95bRLdnP3oB3P4QRAXAsSKh4N8Xu6d4Auz".parse::<PrivateKey>(),
            Err(KeyError::K1Checksum {
                format: KeyFormat::PvtK1,
                stored: [236, 129, 232, 29],
                computed: [236, 129, 232, 27],
            })
        );
        assert!(matches!(
            "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zxx".parse::<PrivateKey>(),
            Err(KeyError::WifChecksum { .. })
        ));
        assert!(matches!(
            "PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFt".parse::<PublicKey>(),
            Err(KeyError::K1Checksum {
                format: KeyFormat::PubK1,
                ..
            })
        ));
        assert!(matches!(
            "EOS6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeABhJRio".parse::<PublicKey>(),
            Err(KeyError::LegacyChecksum { .. })
        ));
        // A legacy key body under the PUB_K1_ prefix fails the suffixed checksum.
        assert!(matches!(
            "PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeABhJRin".parse::<PublicKey>(),
            Err(KeyError::K1Checksum { .. })
        ));
    }

    fn check_public_error(text: &str, expected: fn(&KeyError) -> bool) {
        let result = text.parse::<PublicKey>();
        assert!(
            result.as_ref().is_err_and(expected),
            "{text:?} gave {result:?}"
        );
    }

    #[test]
    fn public_key_text_errors() {
        check_public_error("garbage", |e| matches!(e, KeyError::UnknownPrefix { .. }));
        check_public_error("", |e| matches!(e, KeyError::UnknownPrefix { .. }));
        check_public_error(
            "WAT_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs",
            |e| matches!(e, KeyError::UnknownPrefix { .. }),
        );
        check_public_error(
            "PUB_XY_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs",
            |e| matches!(e, KeyError::UnknownPrefix { .. }),
        );
        check_public_error("PUB_K1", |e| matches!(e, KeyError::UnknownPrefix { .. }));
        check_public_error(
            "PUB_R1_8E46r5HiQF84o6V8MWQQg1vPpgfjYA4XDqT6xbtaaebxw7XbLu",
            |e| *e == KeyError::UnsupportedType(KeyType::R1),
        );
        check_public_error("PUB_WA_5EL7pLoLEPEMJ3Qr4", |e| {
            *e == KeyError::UnsupportedType(KeyType::WebAuthn)
        });
        check_public_error("PUB_K1_0OIl", |e| {
            matches!(
                e,
                KeyError::Base58 {
                    format: KeyFormat::PubK1,
                    ..
                }
            )
        });
        check_public_error("EOSgarbage", |e| {
            matches!(
                e,
                KeyError::Length {
                    format: KeyFormat::Legacy,
                    expected: 37,
                    ..
                }
            )
        });
        check_public_error(
            "EOS16RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeABhJRin",
            |e| matches!(e, KeyError::Length { actual: 38, .. }),
        );
    }

    #[test]
    fn private_key_text_errors() {
        let cases: &[(&str, KeyError)] = &[
            (
                "PVT_R1_2dSFGZnA4oFvMHwfjeYCtK2MLLPNYWgYRXrPTcnTaLZFkDSELm",
                KeyError::UnsupportedType(KeyType::R1),
            ),
            (
                "PVT_XY_5EL7pLoLEPEMJ3Qr4",
                KeyError::UnknownPrefix {
                    expected: "PVT_K1_ or WIF",
                },
            ),
            (
                "PVT_K1_",
                KeyError::Length {
                    format: KeyFormat::PvtK1,
                    expected: 36,
                    actual: 0,
                },
            ),
            (
                // A PVT_K1 body read as WIF lacks the version byte.
                "2be6BwD56MHeVD4P95bRLdnP3oB3P4QRAXAsSKh4N8Xu6d4Aux",
                KeyError::Length {
                    format: KeyFormat::Wif,
                    expected: 37,
                    actual: 36,
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<PrivateKey>().as_ref(), Err(expected), "{text}");
        }
        assert!(matches!(
            "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3z0u".parse::<PrivateKey>(),
            Err(KeyError::Base58 {
                format: KeyFormat::Wif,
                ..
            })
        ));
        let zero = base58::encode(&[0u8; 32], Check::Ripemd160Suffixed(K1_SUFFIX));
        assert_eq!(
            format!("PVT_K1_{zero}").parse::<PrivateKey>(),
            Err(KeyError::InvalidScalar)
        );
        let mut wrong_version = [0u8; 33];
        wrong_version[0] = 0x81;
        wrong_version[32] = 1;
        assert_eq!(
            base58::encode(&wrong_version, Check::DoubleSha256).parse::<PrivateKey>(),
            Err(KeyError::WifVersion(0x81))
        );
    }

    #[test]
    fn wire_errors() {
        let point = [2u8; 33];
        let mut wire = vec![0u8];
        wire.extend_from_slice(&point);
        assert_eq!(
            PublicKey::from_wire(&wire),
            Ok(PublicKey::from_compressed(point))
        );
        let cases: &[(&[u8], KeyError)] = &[
            (
                &[],
                KeyError::WireLength {
                    expected: 34,
                    actual: 0,
                },
            ),
            (
                &wire[..33],
                KeyError::WireLength {
                    expected: 34,
                    actual: 33,
                },
            ),
            (&[1u8; 34], KeyError::UnsupportedType(KeyType::R1)),
            (&[2u8; 34], KeyError::UnsupportedType(KeyType::WebAuthn)),
            (&[7u8; 34], KeyError::UnknownTypeByte(7)),
        ];
        for (bytes, expected) in cases {
            assert_eq!(PublicKey::from_wire(bytes).as_ref(), Err(expected));
        }
        let mut long = wire.clone();
        long.push(0);
        assert_eq!(
            PublicKey::from_wire(&long),
            Err(KeyError::WireLength {
                expected: 34,
                actual: 35
            })
        );
    }

    #[test]
    fn empty_key_round_trips() {
        // Chain data holds all-zero keys (default-constructed), which are not curve points.
        let empty = PublicKey::from_compressed([0u8; 33]);
        assert_eq!(
            empty.to_string(),
            "PUB_K1_11111111111111111111111111111111149Mr2R"
        );
        assert_eq!(empty.to_string().parse::<PublicKey>(), Ok(empty));
        assert_eq!(empty.to_legacy_string().parse::<PublicKey>(), Ok(empty));
    }

    #[test]
    fn debug_hides_the_secret() {
        let key: PrivateKey = "5KQvfsPJ9YvGuVbLRLXVWPNubed6FWvV8yax6cNSJEzB4co3zFu"
            .parse()
            .expect("published WIF parses");
        assert_eq!(format!("{key:?}"), "PrivateKey(***)");
        let public = key.public_key();
        assert_eq!(
            format!("{public:?}"),
            "PublicKey(PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs)"
        );
    }

    #[test]
    fn public_key_serde_writes_k1_and_reads_both() {
        let key: PublicKey = "EOS6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeABhJRin"
            .parse()
            .expect("published key parses");
        let json = serde_json::to_string(&key).expect("serialises");
        assert_eq!(
            json,
            "\"PUB_K1_6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeACcSRFs\""
        );
        let legacy: PublicKey =
            serde_json::from_str("\"EOS6RrvujLQN1x5Tacbep1KAk8zzKpSThAQXBCKYFfGUYeABhJRin\"")
                .expect("legacy form deserialises");
        assert_eq!(legacy, key);
        assert!(serde_json::from_str::<PublicKey>("\"EOSnope\"").is_err());
        assert!(serde_json::from_str::<PublicKey>("7").is_err());
    }

    #[test]
    fn generated_keys_sign_and_recover() {
        let key = PrivateKey::generate(&mut OsRng);
        let other = PrivateKey::generate(&mut OsRng);
        assert_ne!(key, other);
        let digest = [7u8; 32];
        let signature = key.sign_digest(&digest).expect("signs");
        assert!(signature.is_canonical());
        assert_eq!(signature.recover(&digest), Ok(key.public_key()));
        assert!(!signature.verify(&digest, &other.public_key()));
    }

    fn secret_strategy() -> impl Strategy<Value = PrivateKey> {
        any::<[u8; 32]>().prop_filter_map("not a valid scalar", |secret| {
            PrivateKey::from_bytes(&secret).ok()
        })
    }

    proptest! {
        #[test]
        fn sign_recover_round_trip(key in secret_strategy(), digest in any::<[u8; 32]>()) {
            let signature = key.sign_digest(&digest).expect("a canonical nonce exists");
            prop_assert!(signature.is_canonical());
            prop_assert_eq!(signature.recover(&digest), Ok(key.public_key()));
            prop_assert_eq!(key.sign_digest(&digest), Ok(signature));
        }

        #[test]
        fn key_strings_round_trip(key in secret_strategy()) {
            prop_assert_eq!(key.to_string().parse::<PrivateKey>(), Ok(key.clone()));
            prop_assert_eq!(key.to_wif().parse::<PrivateKey>(), Ok(key.clone()));
            let public = key.public_key();
            prop_assert_eq!(public.to_string().parse::<PublicKey>(), Ok(public));
            prop_assert_eq!(public.to_legacy_string().parse::<PublicKey>(), Ok(public));
            prop_assert_eq!(PublicKey::from_wire(&public.to_wire()), Ok(public));
        }

        #[test]
        fn parsed_text_reprints_to_an_equal_key(text in "(PUB_K1_|EOS|PVT_K1_|5)[1-9A-Za-z]{0,60}") {
            if let Ok(public) = text.parse::<PublicKey>() {
                prop_assert_eq!(public.to_string().parse::<PublicKey>(), Ok(public));
            }
            if let Ok(private) = text.parse::<PrivateKey>() {
                prop_assert_eq!(private.to_string().parse::<PrivateKey>(), Ok(private));
            }
        }
    }
}
