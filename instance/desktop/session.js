// Who is logged in: login by signing the server's challenge with the member's key, the
// session's account and role, and the signer the screens sign with. The signer lives in memory
// for the session only; logging out forgets it.

import { ACCOUNT, AUTH_CHALLENGE, LOGIN, logout as endSession, request, setTokens } from './api.js';
import { challengeDigest } from './keys.js';

let current = null;
const listeners = new Set();

/** The session: `{username, role, signer}`, or null. */
export function session() {
  return current;
}

/** Calls `listener` whenever the session starts or ends; returns a function that stops. */
export function onSession(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed() {
  listeners.forEach((listener) => listener(current));
}

/** Logs `username` in with `signer`; the private key never leaves the browser. */
export async function login(username, signer) {
  const { authChallenge: challenge } = await request(AUTH_CHALLENGE, { u: username });
  const signature = signer.sign(challengeDigest(challenge));
  const { login: result } = await request(LOGIN, { d: { username, challenge, signature } });
  setTokens(result.tokens);
  current = { username: result.account.username, role: result.account.role, signer };
  changed();
  return current;
}

/** Reads the role again: it follows chain state (an applicant becomes a member). */
export async function renew() {
  if (!current) return;
  const { getAccount: found } = await request(ACCOUNT, { u: current.username });
  if (found && found.role !== current.role) {
    current = { ...current, role: found.role };
    changed();
  }
}

export async function logout() {
  current = null;
  await endSession();
  changed();
}

/** Whether the session's role sits on the council. */
export function isCouncil() {
  return current?.role === 'council' || current?.role === 'chairman';
}

/** Whether the session's role chairs the council. */
export function isChairman() {
  return current?.role === 'chairman';
}
