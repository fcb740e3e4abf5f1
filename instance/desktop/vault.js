// What the desktop keeps in the browser, in IndexedDB: each account's key sealed with its
// owner's passphrase (see keys.js), and how far the sign-up wizard got. Nothing kept here is a
// secret in the clear: no private key, no token, no personal data.

const DATABASE = 'mono-desktop';
const KEYS = 'keys';
const PROGRESS = 'progress';

let opened = null;

function database() {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(KEYS);
      request.result.createObjectStore(PROGRESS);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

async function run(store, mode, act) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const request = act(tx.objectStore(store));
    tx.oncomplete = () => resolve(request?.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** Keeps `username`'s sealed key, replacing an older one. */
export function putSealedKey(username, sealed) {
  return run(KEYS, 'readwrite', (store) => store.put(sealed, username));
}

/** `username`'s sealed key, or undefined. */
export function sealedKey(username) {
  return run(KEYS, 'readonly', (store) => store.get(username));
}

/** The accounts whose keys this browser keeps. */
export function keptAccounts() {
  return run(KEYS, 'readonly', (store) => store.getAllKeys());
}

/** The sign-up wizard's progress (step, username, e-mail), or undefined. */
export function progress() {
  return run(PROGRESS, 'readonly', (store) => store.get('signup'));
}

export function saveProgress(value) {
  return run(PROGRESS, 'readwrite', (store) => store.put(value, 'signup'));
}

export function clearProgress() {
  return run(PROGRESS, 'readwrite', (store) => store.delete('signup'));
}
