// Signs digests with the desktop's key module, for the Rust test that compares the signatures
// byte for byte with its own (instance/tests/it/desktop.rs). Reads
// [{"private_key": "PVT_K1_…", "digest": "<64 hex>"}…] on stdin and writes
// [{"public_key": "PUB_K1_…", "signature": "SIG_K1_…"}…] on stdout.

import { importKey } from '../../desktop/keys.js';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const cases = JSON.parse(input);
const answers = cases.map(({ private_key: privateKey, digest }) => {
  const signer = importKey(privateKey);
  const bytes = Uint8Array.from(digest.match(/../g), (pair) => parseInt(pair, 16));
  return { public_key: signer.publicKey, backup: signer.backup(), signature: signer.sign(bytes) };
});
process.stdout.write(JSON.stringify(answers));
