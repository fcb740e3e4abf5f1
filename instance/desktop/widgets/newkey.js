// A key pair made in the browser for an account: its backup shown once with a warning, and the
// passphrase it is sealed with on this device. Used by the sign-up wizard and the lost-key
// reset; the key itself stays inside the signer (keys.js).

import { Field, html } from '../ui.js';
import { t } from '../i18n.js';

export const MIN_PASSPHRASE = 8;

/** What the member has entered about a new key: nothing yet. */
export const UNSET = { saved: false, passphrase: '', repeat: '' };

/** Whether the member saved the backup and chose a passphrase. */
export function keyChosen(entered) {
  return entered.saved && entered.passphrase !== '' && entered.passphrase === entered.repeat;
}

/** Throws what is wrong with the chosen passphrase, if anything. */
export function checkPassphrase(entered) {
  if (entered.passphrase.length < MIN_PASSPHRASE) throw new Error(t('key.passphraseShort', { n: MIN_PASSPHRASE }));
  if (entered.passphrase !== entered.repeat) throw new Error(t('key.mismatch'));
}

/** The new key's backup, the "I saved it" check and the passphrase twice. */
export function NewKey({ signer, entered, onChange }) {
  const set = (name) => (value) => onChange({ ...entered, [name]: value });
  const mismatch = entered.repeat && entered.passphrase !== entered.repeat;
  return html`<div class="new-key">
    <div class="warning" role="note">
      <strong>${t('signup.key.warningTitle')}</strong>
      <p>${t('signup.key.warning')}</p>
    </div>
    <label for="backup-key">${t('signup.key.backup')}</label>
    <textarea id="backup-key" class="key" readonly rows="2" onFocus=${(event) => event.currentTarget.select()}>${signer.backup()}</textarea>
    <p class="note">${t('signup.key.public', { key: signer.publicKey })}</p>
    <label class="check">
      <input type="checkbox" checked=${entered.saved} onChange=${(event) => set('saved')(event.currentTarget.checked)} />
      ${t('signup.key.saved')}
    </label>
    <div class="grid">
      <${Field} label=${t('key.newPassphrase')} name="passphrase" type="password" value=${entered.passphrase}
        onInput=${set('passphrase')} autocomplete="new-password" hint=${t('key.passphraseHint', { n: MIN_PASSPHRASE })} />
      <${Field} label=${t('key.repeat')} name="repeat" type="password" value=${entered.repeat} onInput=${set('repeat')}
        autocomplete="new-password" error=${mismatch ? t('key.mismatch') : undefined} />
    </div>
  </div>`;
}
