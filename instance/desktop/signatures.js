// The signed inputs the API takes, made with the session's signer at the browser's clock (the
// chain reads `signed_at` as the member's own statement of when it signed).

import { documentDigest, signingTime, voteDigest } from './keys.js';

/** A `SignedDocumentInput` of a generated document's hash. */
export function signDocument(signer, hash) {
  const time = signingTime();
  return {
    hash,
    signature: {
      signed_at: time.text,
      signature: signer.sign(documentDigest(hash, time.text)),
      public_key: signer.publicKey,
    },
  };
}

/** A `VoteInput` for (`votefor`) or against (`voteagainst`) decision `decisionId`. */
export function signVote(signer, action, coopname, decisionId) {
  const time = signingTime();
  return {
    decision_id: decisionId,
    signed_at: time.text,
    signature: signer.sign(voteDigest(action, coopname, decisionId, time.seconds)),
  };
}
