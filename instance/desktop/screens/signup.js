// The sign-up wizard: e-mail, personal data, handwritten signature, the key (made here, backed
// up by the member, sealed with a passphrase), the account's registration, the agreements and
// the application signed in the browser, then payment and the council's decision. Where it got
// is kept in IndexedDB (step and account name only), so a reload or another visit resumes it.

import { Action, DocumentFrame, Field, Problem, html, money, navigate, useEffect, useState } from '../ui.js';
import {
  ACCOUNT, AGREEMENTS, GENERATE_APPLICATION, PAYMENTS, REGISTER_ACCOUNT, REGISTER_PARTICIPANT,
  SYSTEM_INFO, live, request,
} from '../api.js';
import { generate, unseal } from '../keys.js';
import { clearProgress, progress, putSealedKey, saveProgress, sealedKey } from '../vault.js';
import { login, renew, session } from '../session.js';
import { signDocument } from '../signatures.js';
import { Handwriting } from './handwriting.js';
import { t } from '../i18n.js';

const STEPS = ['email', 'person', 'handwriting', 'key', 'agreements', 'application', 'payment', 'waiting', 'welcome'];
const MIN_PASSPHRASE = 8;
// How long to wait for the follower to store a block the cooperative pushed, in ms.
const SYNC_WAIT = 120_000;
const PERSON = ['last_name', 'first_name', 'middle_name', 'birthdate', 'phone', 'full_address'];

async function account(username) {
  const data = await request(ACCOUNT, { u: username });
  return data.getAccount;
}

/** Waits until `username`'s account satisfies `ready`, re-reading it each second. */
async function until(username, ready) {
  const deadline = Date.now() + SYNC_WAIT;
  for (;;) {
    const found = await account(username).catch(() => null);
    if (found && ready(found.account)) return found;
    if (Date.now() > deadline) throw new Error(t('signup.syncTimeout'));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/**
 * Waits until the instance has synced `block` (the one the chain put the new account in): the
 * login checks the key the chain holds as of the synced block.
 */
async function synced(block) {
  const deadline = Date.now() + SYNC_WAIT;
  for (;;) {
    const { getSystemInfo: info } = await request(SYSTEM_INFO);
    if (info.synced_block >= block) return;
    if (Date.now() > deadline) throw new Error(t('signup.syncTimeout'));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Where a synced account stands in the wizard. */
function stepOf(lifecycle) {
  if (lifecycle === 'MEMBER') return 'welcome';
  if (lifecycle === 'PAID') return 'waiting';
  if (lifecycle === 'CANDIDATE') return 'payment';
  return 'agreements';
}

function Steps({ current }) {
  const at = STEPS.indexOf(current);
  return html`<ol class="steps" aria-label=${t('signup.progress')}>
    ${STEPS.map((step, index) => html`<li class=${index < at ? 'done' : index === at ? 'current' : ''}
      aria-current=${index === at ? 'step' : undefined}>${t(`signup.step.${step}`)}</li>`)}
  </ol>`;
}

function EmailStep({ data, next }) {
  const [email, setEmail] = useState(data.email || '');
  const submit = (event) => {
    event.preventDefault();
    next({ email: email.trim() }, 'person');
  };
  return html`<form onSubmit=${submit}>
    <h2>${t('signup.email.title')}</h2>
    <p>${t('signup.email.text')}</p>
    <${Field} label=${t('field.email')} name="email" type="email" value=${email} onInput=${setEmail} autocomplete="email" />
    <div class="actions"><button type="submit" class="primary">${t('common.next')}</button></div>
  </form>`;
}

function PersonStep({ data, next, back }) {
  const [person, setPerson] = useState(data.person || Object.fromEntries(PERSON.map((name) => [name, ''])));
  const set = (name) => (value) => setPerson({ ...person, [name]: value });
  const submit = (event) => {
    event.preventDefault();
    next({ person }, 'handwriting');
  };
  return html`<form onSubmit=${submit}>
    <h2>${t('signup.person.title')}</h2>
    <p>${t('signup.person.text')}</p>
    <div class="grid">
      ${PERSON.map((name) => html`<${Field} label=${t(`field.${name}`)} name=${name} value=${person[name]}
        onInput=${set(name)} type=${name === 'birthdate' ? 'date' : name === 'phone' ? 'tel' : 'text'}
        required=${name !== 'middle_name'} error=${data.fieldErrors?.[name]}
        hint=${name === 'phone' ? t('field.phoneHint') : undefined} />`)}
    </div>
    <div class="actions">
      <button type="button" class="secondary" onClick=${back}>${t('common.back')}</button>
      <button type="submit" class="primary">${t('common.next')}</button>
    </div>
  </form>`;
}

function HandwritingStep({ data, next, back }) {
  const [image, setImage] = useState(null);
  return html`<div>
    <h2>${t('signup.handwriting.title')}</h2>
    <p>${t('signup.handwriting.text')}</p>
    <${Handwriting} onChange=${setImage} />
    <div class="actions">
      <button type="button" class="secondary" onClick=${back}>${t('common.back')}</button>
      <button type="button" class="primary" disabled=${!image} onClick=${() => next({ image }, 'key')}>
        ${t('common.next')}
      </button>
    </div>
  </div>`;
}

function KeyStep({ data, next, back }) {
  const [signer] = useState(() => generate());
  const [saved, setSaved] = useState(false);
  const [passphrase, setPassphrase] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState(null);
  const mismatch = repeat && passphrase !== repeat;

  const register = async () => {
    setError(null);
    if (passphrase.length < MIN_PASSPHRASE) throw new Error(t('key.passphraseShort', { n: MIN_PASSPHRASE }));
    if (passphrase !== repeat) throw new Error(t('key.mismatch'));
    const sealed = await signer.seal(passphrase);
    const before = (await request(SYSTEM_INFO)).getSystemInfo.synced_block;
    let registered;
    try {
      const answer = await request(REGISTER_ACCOUNT, {
        d: {
          email: data.email,
          public_key: signer.publicKey,
          type: 'INDIVIDUAL',
          individual_data: data.person,
          signature: data.image,
        },
      });
      registered = answer.registerAccount;
    } catch (failure) {
      if (failure.fields?.length) {
        const fieldErrors = Object.fromEntries(failure.fields.map((entry) => [entry.field, entry.message]));
        next({ fieldErrors }, PERSON.some((name) => fieldErrors[name]) ? 'person' : 'email');
      }
      throw failure;
    }
    await putSealedKey(registered.username, sealed);
    await saveProgress({ step: 'agreements', username: registered.username });
    // The chain names the block when it can; otherwise a block past the head of the time.
    await synced(registered.transaction.block_num ?? before + 3);
    await login(registered.username, signer);
    next({ username: registered.username, signer, fieldErrors: null }, 'agreements');
  };

  return html`<div>
    <h2>${t('signup.key.title')}</h2>
    <p>${t('signup.key.text')}</p>
    <div class="warning" role="note">
      <strong>${t('signup.key.warningTitle')}</strong>
      <p>${t('signup.key.warning')}</p>
    </div>
    <label for="backup-key">${t('signup.key.backup')}</label>
    <textarea id="backup-key" class="key" readonly rows="2" onFocus=${(event) => event.currentTarget.select()}>${signer.backup()}</textarea>
    <p class="note">${t('signup.key.public', { key: signer.publicKey })}</p>
    <label class="check">
      <input type="checkbox" checked=${saved} onChange=${(event) => setSaved(event.currentTarget.checked)} />
      ${t('signup.key.saved')}
    </label>
    <div class="grid">
      <${Field} label=${t('key.newPassphrase')} name="passphrase" type="password" value=${passphrase}
        onInput=${setPassphrase} autocomplete="new-password" hint=${t('key.passphraseHint', { n: MIN_PASSPHRASE })} />
      <${Field} label=${t('key.repeat')} name="repeat" type="password" value=${repeat} onInput=${setRepeat}
        autocomplete="new-password" error=${mismatch ? t('key.mismatch') : undefined} />
    </div>
    <${Problem} error=${error} />
    <div class="actions">
      <button type="button" class="secondary" onClick=${back}>${t('common.back')}</button>
      <${Action} label=${t('signup.key.register')} action=${register} onError=${setError}
        disabled=${!saved || !passphrase || passphrase !== repeat} />
    </div>
  </div>`;
}

function AgreementsStep({ data, next }) {
  const [documents, setDocuments] = useState(null);
  const [accepted, setAccepted] = useState(false);
  const [error, setError] = useState(null);

  useEffect(() => {
    (async () => {
      const generated = [];
      for (const agreement of AGREEMENTS) {
        const answer = await request(agreement.query, { u: data.username });
        generated.push({ ...agreement, document: answer[agreement.operation] });
      }
      setDocuments(generated);
    })().catch(setError);
  }, []);

  const sign = async () => {
    const signed = Object.fromEntries(
      documents.map(({ field, document }) => [field, signDocument(data.signer, document.hash)]),
    );
    next({ agreements: signed }, 'application');
  };

  return html`<div>
    <h2>${t('signup.agreements.title')}</h2>
    <p>${t('signup.agreements.text')}</p>
    <${Problem} error=${error} />
    ${documents
      ? documents.map(({ registryId, document }) => html`<details class="agreement" open=${registryId === 1}>
          <summary>${t(`document.${registryId}`)}</summary>
          <${DocumentFrame} title=${t(`document.${registryId}`)} source=${document.html} />
        </details>`)
      : error ? null : html`<p class="note" aria-live="polite">${t('signup.agreements.loading')}</p>`}
    <label class="check">
      <input type="checkbox" checked=${accepted} disabled=${!documents}
        onChange=${(event) => setAccepted(event.currentTarget.checked)} />
      ${t('signup.agreements.accept')}
    </label>
    <div class="actions">
      <${Action} label=${t('signup.agreements.sign')} action=${sign} onError=${setError}
        disabled=${!documents || !accepted} />
    </div>
  </div>`;
}

function ApplicationStep({ data, next }) {
  const [application, setApplication] = useState(null);
  const [error, setError] = useState(null);
  const order = ['wallet_agreement', 'privacy_agreement', 'signature_agreement', 'user_agreement'];

  useEffect(() => {
    const links = order.map((field) => data.agreements[field].hash);
    request(GENERATE_APPLICATION, { u: data.username, l: links })
      .then((answer) => setApplication(answer.generateParticipantApplication))
      .catch(setError);
  }, []);

  const file = async () => {
    await request(REGISTER_PARTICIPANT, {
      d: { username: data.username, statement: signDocument(data.signer, application.hash), ...data.agreements },
    });
    await saveProgress({ step: 'payment', username: data.username });
    await until(data.username, (found) => found.lifecycle !== 'USER');
    next({ statement: application.hash }, 'payment');
  };

  return html`<div>
    <h2>${t('signup.application.title')}</h2>
    <p>${t('signup.application.text')}</p>
    <${Problem} error=${error} />
    ${application
      ? html`<${DocumentFrame} title=${t('document.100')} source=${application.html} />`
      : error ? null : html`<p class="note" aria-live="polite">${t('signup.application.loading')}</p>`}
    <div class="actions">
      <${Action} label=${t('signup.application.sign')} action=${file} onError=${setError} disabled=${!application} />
    </div>
  </div>`;
}

/** Payment, the council's decision and the welcome: follows the account live. */
function StatusStep({ system, data, step, next }) {
  const [payment, setPayment] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    const refresh = async () => {
      const found = await account(data.username);
      const payments = await request(PAYMENTS, { f: { username: data.username } });
      setPayment(payments.getPayments.items.find((item) => item.purpose === 'registration') || payments.getPayments.items[0] || null);
      const reached = stepOf(found?.account.lifecycle);
      if (reached !== step) {
        if (reached === 'welcome') {
          await clearProgress();
          await renew();
        } else {
          await saveProgress({ step: reached, username: data.username });
        }
        next({}, reached);
      }
    };
    refresh().catch(setError);
    return live(['memberChanged', 'paymentChanged'], () => refresh().catch(setError), () => refresh().catch(setError));
  }, [step]);

  if (step === 'welcome') {
    return html`<div class="welcome">
      <h2>${t('signup.welcome.title')}</h2>
      <p>${t('signup.welcome.text', { coopname: system.coopname })}</p>
      <div class="actions">
        <button type="button" class="primary" onClick=${() => navigate('documents')}>${t('signup.welcome.documents')}</button>
      </div>
    </div>`;
  }
  if (step === 'waiting') {
    return html`<div>
      <h2>${t('signup.waiting.title')}</h2>
      <p>${t('signup.waiting.text')}</p>
      <p class="live" aria-live="polite">${t('signup.waiting.live')}</p>
    </div>`;
  }
  return html`<div>
    <h2>${t('signup.payment.title')}</h2>
    <p>${t('signup.payment.text')}</p>
    <${Problem} error=${error} />
    ${payment
      ? html`<dl class="facts">
          <dt>${t('payment.amount')}</dt><dd class="amount">${money(payment.amount)}</dd>
          <dt>${t('payment.purpose')}</dt><dd>${t('signup.payment.purpose', { username: data.username })}</dd>
          <dt>${t('payment.reference')}</dt><dd><code class="hash">${payment.hash}</code></dd>
          <dt>${t('payment.status')}</dt><dd>${t(`payment.status.${payment.status}`)}</dd>
        </dl>`
      : html`<p class="note">${t('signup.payment.loading')}</p>`}
    <p class="live" aria-live="polite">${t('signup.payment.live')}</p>
  </div>`;
}

/** Opens the key of an unfinished sign-up to go on with it. */
function Resume({ username, resumed }) {
  const [passphrase, setPassphrase] = useState('');
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const sealed = await sealedKey(username);
      let signer;
      try {
        signer = await unseal(sealed, passphrase);
      } catch {
        throw new Error(t('signin.badPassphrase'));
      }
      await login(username, signer);
      const found = await account(username);
      resumed(signer, stepOf(found?.account.lifecycle));
    } catch (failure) {
      setError(failure);
    }
  };
  return html`<form onSubmit=${submit}>
    <h2>${t('signup.resume.title')}</h2>
    <p>${t('signup.resume.text', { username })}</p>
    <${Field} label=${t('signin.passphrase')} name="passphrase" type="password" value=${passphrase}
      onInput=${setPassphrase} autocomplete="current-password" />
    <${Problem} error=${error} />
    <div class="actions">
      <button type="submit" class="primary">${t('signup.resume.submit')}</button>
      <button type="button" class="secondary" onClick=${() => clearProgress().then(() => location.reload())}>
        ${t('signup.resume.restart')}
      </button>
    </div>
  </form>`;
}

export function SignUp({ system }) {
  const [step, setStep] = useState(null);
  const [data, setData] = useState({});
  const [locked, setLocked] = useState(null);

  useEffect(() => {
    progress().then((saved) => {
      if (!saved?.username) {
        setStep('email');
        return;
      }
      const current = session();
      if (current?.username === saved.username) {
        setData({ username: saved.username, signer: current.signer });
        setStep(saved.step);
      } else {
        setLocked(saved);
      }
    });
  }, []);

  const next = (changes, to) => {
    setData((previous) => ({ ...previous, ...changes }));
    setStep(to);
    window.scrollTo(0, 0);
  };
  const back = () => setStep(STEPS[Math.max(0, STEPS.indexOf(step) - 1)]);

  let body = null;
  if (locked && !step) {
    body = html`<${Resume} username=${locked.username} resumed=${(signer, reached) => {
      setData({ username: locked.username, signer });
      setLocked(null);
      setStep(reached);
    }} />`;
  } else if (step === 'email') body = html`<${EmailStep} data=${data} next=${next} />`;
  else if (step === 'person') body = html`<${PersonStep} data=${data} next=${next} back=${back} />`;
  else if (step === 'handwriting') body = html`<${HandwritingStep} data=${data} next=${next} back=${back} />`;
  else if (step === 'key') body = html`<${KeyStep} data=${data} next=${next} back=${back} />`;
  else if (step === 'agreements') body = html`<${AgreementsStep} data=${data} next=${next} />`;
  else if (step === 'application') body = html`<${ApplicationStep} data=${data} next=${next} />`;
  else if (step) body = html`<${StatusStep} system=${system} data=${data} step=${step} next=${next} />`;

  return html`<section class="panel wizard" aria-labelledby="signup-title">
    <h1 id="signup-title">${t('signup.title', { coopname: system.coopname })}</h1>
    ${step ? html`<${Steps} current=${step} />` : null}
    ${data.username ? html`<p class="note account-name">${t('signup.account', { username: data.username })}</p>` : null}
    ${body}
  </section>`;
}
