// A lost key replaced: the member asks for a one-time code by the e-mail it registered with,
// then enters the code with its account name; a new key pair is made here, backed up and
// sealed as at sign-up, and only its public key goes to the cooperative, which puts it on
// chain. Once the instance has stored that block, the new key signs the member in.

import { Action, Field, Problem, html, navigate, useState } from '../ui.js';
import { RESET_KEY, START_RESET_KEY, request, syncedBlock, syncedTo } from '../api.js';
import { generate } from '../keys.js';
import { putSealedKey } from '../vault.js';
import { login } from '../session.js';
import { NewKey, UNSET, checkPassphrase, keyChosen } from '../widgets/newkey.js';
import { t } from '../i18n.js';

function AskForCode({ sent }) {
  const [email, setEmail] = useState('');
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      await request(START_RESET_KEY, { e: email.trim() });
      sent(email.trim());
    } catch (failure) {
      setError(failure);
    }
  };
  return html`<form onSubmit=${submit}>
    <p>${t('reset.ask.text')}</p>
    <${Field} label=${t('field.email')} name="email" type="email" value=${email} onInput=${setEmail} autocomplete="email" />
    <${Problem} error=${error} />
    <div class="actions"><button type="submit" class="primary">${t('reset.ask.submit')}</button></div>
  </form>`;
}

function NewKeyWithCode({ email }) {
  const [signer] = useState(() => generate());
  const [username, setUsername] = useState('');
  const [token, setToken] = useState('');
  const [entered, setEntered] = useState(UNSET);
  const [error, setError] = useState(null);
  const [fieldErrors, setFieldErrors] = useState({});

  const reset = async () => {
    setError(null);
    setFieldErrors({});
    checkPassphrase(entered);
    const name = username.trim();
    const before = await syncedBlock();
    let pushed;
    try {
      ({ resetKey: pushed } = await request(RESET_KEY, { d: { token: token.trim(), public_key: signer.publicKey } }));
    } catch (failure) {
      if (failure.code === 'UNAUTHENTICATED') throw new Error(t('reset.badCode'));
      setFieldErrors(Object.fromEntries((failure.fields || []).map((entry) => [entry.field, entry.message])));
      throw failure;
    }
    await syncedTo(pushed.block_num ?? before + 3, t('reset.syncTimeout'));
    await login(name, signer);
    // Kept once it signed in, so a mistyped account name keeps no key under it.
    await putSealedKey(name, await signer.seal(entered.passphrase));
    navigate('');
  };

  return html`<div>
    <p role="status">${t('reset.sent', { email })}</p>
    <div class="grid">
      <${Field} label=${t('signin.account')} name="username" value=${username} onInput=${setUsername}
        autocomplete="username" hint=${t('reset.accountHint')} />
      <${Field} label=${t('reset.code')} name="token" value=${token} onInput=${setToken}
        autocomplete="one-time-code" error=${fieldErrors.token} />
    </div>
    <h2>${t('reset.key.title')}</h2>
    <p>${t('reset.key.text')}</p>
    <${NewKey} signer=${signer} entered=${entered} onChange=${setEntered} />
    <${Problem} error=${error} />
    <div class="actions">
      <${Action} label=${t('reset.submit')} action=${reset} onError=${setError}
        disabled=${!keyChosen(entered) || !username.trim() || !token.trim()} />
    </div>
  </div>`;
}

export function Reset() {
  const [email, setEmail] = useState(null);
  return html`<section class="panel wizard" aria-labelledby="reset-title">
    <h1 id="reset-title">${t('reset.title')}</h1>
    ${email ? html`<${NewKeyWithCode} email=${email} />` : html`<${AskForCode} sent=${setEmail} />`}
  </section>`;
}
