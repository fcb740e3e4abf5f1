// Sign-in: the key kept in this browser, opened with the passphrase, signs the server's
// challenge; or a backed-up key is brought from another device and sealed here.

import { Field, Problem, html, navigate, useEffect, useState } from '../ui.js';
import { importKey, unseal } from '../keys.js';
import { keptAccounts, putSealedKey, sealedKey } from '../vault.js';
import { login } from '../session.js';
import { MIN_PASSPHRASE } from '../widgets/newkey.js';
import { t } from '../i18n.js';

export function SignIn({ then = '' }) {
  const [kept, setKept] = useState([]);
  const [username, setUsername] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [importing, setImporting] = useState(false);
  const [backup, setBackup] = useState('');
  const [newPassphrase, setNewPassphrase] = useState('');

  useEffect(() => {
    keptAccounts().then((accounts) => {
      setKept(accounts);
      if (accounts.length) setUsername(accounts[0]);
      else setImporting(true);
    });
  }, []);

  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const name = username.trim();
      let signer;
      if (importing) {
        if (newPassphrase.length < MIN_PASSPHRASE) throw new Error(t('key.passphraseShort', { n: MIN_PASSPHRASE }));
        try {
          signer = importKey(backup);
        } catch {
          throw new Error(t('signin.badKey'));
        }
        await login(name, signer);
        await putSealedKey(name, await signer.seal(newPassphrase));
      } else {
        const sealed = await sealedKey(name);
        if (!sealed) throw new Error(t('signin.noKey'));
        try {
          signer = await unseal(sealed, passphrase);
        } catch {
          throw new Error(t('signin.badPassphrase'));
        }
        await login(name, signer);
      }
      navigate(then);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return html`<section class="panel narrow" aria-labelledby="signin-title">
    <h1 id="signin-title">${t('signin.title')}</h1>
    <form onSubmit=${submit}>
      ${!importing && kept.length > 1
        ? html`<div class="field">
            <label for="field-kept">${t('signin.account')}</label>
            <select id="field-kept" value=${username} onChange=${(event) => setUsername(event.currentTarget.value)}>
              ${kept.map((name) => html`<option value=${name}>${name}</option>`)}
            </select>
          </div>`
        : html`<${Field} label=${t('signin.account')} name="username" value=${username} onInput=${setUsername}
            autocomplete="username" />`}
      ${importing
        ? html`<p class="note">${t('signin.importNote')}</p>
            <${Field} label=${t('signin.backup')} name="backup" value=${backup} onInput=${setBackup} type="password" />
            <${Field} label=${t('key.newPassphrase')} name="new-passphrase" value=${newPassphrase}
              onInput=${setNewPassphrase} type="password" autocomplete="new-password"
              hint=${t('key.passphraseHint', { n: MIN_PASSPHRASE })} />`
        : html`<${Field} label=${t('signin.passphrase')} name="passphrase" value=${passphrase}
            onInput=${setPassphrase} type="password" autocomplete="current-password" />`}
      <${Problem} error=${error} />
      <div class="actions">
        <button type="submit" class="primary" disabled=${busy} aria-busy=${busy}>
          ${busy ? t('common.busy') : t('signin.submit')}
        </button>
        ${kept.length
          ? html`<button type="button" class="secondary" onClick=${() => setImporting(!importing)}>
              ${importing ? t('signin.useKept') : t('signin.useBackup')}
            </button>`
          : null}
      </div>
    </form>
    <p class="aside">${t('signin.lost')} <a href="#/reset">${t('signin.toReset')}</a></p>
    <p class="aside">${t('signin.newcomer')} <a href="#/signup">${t('signin.toSignup')}</a></p>
  </section>`;
}
