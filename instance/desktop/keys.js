// The member's key: generation, the PUB_K1_/PVT_K1_/SIG_K1_ text forms, canonical K1 signatures
// that agree byte for byte with the Rust side (instance/src/antelope/keys.rs), and the
// passphrase-sealed form kept in IndexedDB. This is the only module that sees a private key;
// it has no UI and no network, and the key never leaves the signer it returns.

import { secp256k1 } from './vendor/noble-curves/secp256k1.js';
import { sha256 } from './vendor/noble-hashes/sha2.js';
import { ripemd160 } from './vendor/noble-hashes/legacy.js';

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const K1 = new TextEncoder().encode('K1');
// OWASP's 2023 floor for PBKDF2-HMAC-SHA256.
export const PBKDF2_ITERATIONS = 600_000;

function base58Encode(bytes) {
  const digits = [];
  for (const byte of bytes) {
    let carry = byte;
    for (let i = 0; i < digits.length; i++) {
      carry += digits[i] * 256;
      digits[i] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    for (; carry; carry = Math.floor(carry / 58)) digits.push(carry % 58);
  }
  const zeros = bytes.findIndex((byte) => byte !== 0);
  const leading = '1'.repeat(zeros < 0 ? bytes.length : zeros);
  return leading + digits.reverse().map((digit) => ALPHABET[digit]).join('');
}

function base58Decode(text) {
  const bytes = [];
  for (const char of text) {
    let carry = ALPHABET.indexOf(char);
    if (carry < 0) throw new Error('not base58');
    for (let i = 0; i < bytes.length; i++) {
      carry += bytes[i] * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    for (; carry; carry >>= 8) bytes.push(carry & 0xff);
  }
  const zeros = text.length - text.replace(/^1+/, '').length;
  return Uint8Array.from([...new Array(zeros).fill(0), ...bytes.reverse()]);
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function k1Checksum(body) {
  return ripemd160(concat(body, K1)).slice(0, 4);
}

function encodeK1(prefix, body) {
  return prefix + base58Encode(concat(body, k1Checksum(body)));
}

function equal(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** The 32 secret bytes of a `PVT_K1_…` or WIF text; throws on a bad checksum. */
function parsePrivateKey(text) {
  const trimmed = text.trim();
  if (trimmed.startsWith('PVT_K1_')) {
    const raw = base58Decode(trimmed.slice(7));
    if (raw.length !== 36) throw new Error('key length');
    const body = raw.slice(0, 32);
    if (!equal(raw.slice(32), k1Checksum(body))) throw new Error('key checksum');
    return body;
  }
  const raw = base58Decode(trimmed);
  if (raw.length !== 37 || raw[0] !== 0x80) throw new Error('not a private key');
  const check = sha256(sha256(raw.slice(0, 33))).slice(0, 4);
  if (!equal(raw.slice(33), check)) throw new Error('key checksum');
  return raw.slice(1, 33);
}

/** Whether a compact r‖s is canonical as Antelope requires (no high bit, no needless zero). */
function isCanonical(compact) {
  return (
    !(compact[0] & 0x80) &&
    !(compact[0] === 0 && !(compact[1] & 0x80)) &&
    !(compact[32] & 0x80) &&
    !(compact[32] === 0 && !(compact[33] & 0x80))
  );
}

/**
 * A canonical K1 signature of a 32-byte digest. As the Rust side does, the first try is plain
 * RFC 6979; each retry adds one byte (1, 2, …) of additional data to the nonce derivation, and
 * s is always low.
 */
function signDigest(secret, digest) {
  for (let attempt = 0; attempt < 256; attempt++) {
    const extraEntropy = attempt === 0 ? undefined : Uint8Array.of(attempt);
    const signature = secp256k1.sign(digest, secret, { lowS: true, prehash: false, extraEntropy });
    const compact = signature.toCompactRawBytes();
    if (isCanonical(compact)) {
      return encodeK1('SIG_K1_', concat(Uint8Array.of(27 + 4 + signature.recovery), compact));
    }
  }
  throw new Error('no canonical signature');
}

/** Something that signs with a key and never shows it, except as the member's backup. */
function signer(secret) {
  const publicKey = encodeK1('PUB_K1_', secp256k1.getPublicKey(secret, true));
  return Object.freeze({
    publicKey,
    sign: (digest) => signDigest(secret, digest),
    backup: () => encodeK1('PVT_K1_', secret),
    seal: (passphrase) => seal(secret, passphrase),
  });
}

/** A signer for a new random key. */
export function generate() {
  return signer(secp256k1.utils.randomSecretKey());
}

/** A signer for a key typed or pasted by the member; throws on anything but a valid key. */
export function importKey(text) {
  return signer(parsePrivateKey(text));
}

const utf8 = new TextEncoder();

export function sha256Bytes(text) {
  return sha256(utf8.encode(text));
}

function hex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The digest a document signature signs: sha256(lowercase hash ‖ signed_at). */
export function documentDigest(hash, signedAt) {
  return sha256Bytes(hash.toLowerCase() + signedAt);
}

/** The digest a council vote signs, as `soviet` checks it. */
export function voteDigest(action, coopname, decisionId, signedAtSeconds) {
  return sha256Bytes(`${action}:${coopname}:${decisionId}:${signedAtSeconds}`);
}

/** The digest a login signs: sha256 of the challenge's UTF-8 bytes. */
export function challengeDigest(challenge) {
  return sha256Bytes(challenge);
}

/** Now as the chain writes a time_point_sec, with its seconds. */
export function signingTime(now = new Date()) {
  return { text: now.toISOString().slice(0, 19), seconds: Math.floor(now.getTime() / 1000) };
}

export { hex };

async function wrappingKey(passphrase, salt, iterations) {
  const material = await crypto.subtle.importKey('raw', utf8.encode(passphrase), 'PBKDF2', false, [
    'deriveKey',
  ]);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

async function seal(secret, passphrase) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await wrappingKey(passphrase, salt, PBKDF2_ITERATIONS);
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, secret));
  return { version: 1, iterations: PBKDF2_ITERATIONS, salt, iv, ciphertext };
}

/** The signer of a sealed key; throws when the passphrase is wrong (AES-GCM's tag fails). */
export async function unseal(sealed, passphrase) {
  const key = await wrappingKey(passphrase, sealed.salt, sealed.iterations);
  const secret = new Uint8Array(
    await crypto.subtle.decrypt({ name: 'AES-GCM', iv: sealed.iv }, key, sealed.ciphertext),
  );
  return signer(secret);
}

/**
 * Whether a signature a kept document carries (`signed_at`, `signature`, `public_key`) verifies
 * over the document's hash; anything malformed is simply not verified.
 */
export function verifyDocumentSignature(hash, entry) {
  try {
    const body = base58Decode(entry.signature.slice(7));
    if (!entry.signature.startsWith('SIG_K1_') || body.length !== 69) return false;
    if (!equal(body.slice(65), k1Checksum(body.slice(0, 65)))) return false;
    const keyBody = base58Decode(entry.public_key.slice(7));
    if (!entry.public_key.startsWith('PUB_K1_') || keyBody.length !== 37) return false;
    if (!equal(keyBody.slice(33), k1Checksum(keyBody.slice(0, 33)))) return false;
    const digest = documentDigest(hash, entry.signed_at);
    return secp256k1.verify(body.slice(1, 65), digest, keyBody.slice(0, 33), { prehash: false, lowS: false });
  } catch {
    return false;
  }
}
