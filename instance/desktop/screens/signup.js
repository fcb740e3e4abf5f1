// The sign-up wizard: e-mail, personal data, handwritten signature, the key (made here, backed
// up by the member, sealed with a passphrase), the account's registration, the agreements and
// the application signed in the browser, then payment and the council's decision. Where it got
// is kept in IndexedDB (step and account name only), so a reload or another visit resumes it.

import { Action, DocumentFrame, Field, Problem, html, money, navigate, useEffect, useState } from '../ui.js';
import {
  ACCOUNT, AGREEMENTS, BRANCHES, CREATE_BANK_ACCOUNT, GENERATE_APPLICATION, PAYMENTS, PAYMENT_METHODS,
  REGISTER_ACCOUNT, REGISTER_PARTICIPANT, live, request, syncedBlock, syncedTo,
} from '../api.js';
import { generate, unseal } from '../keys.js';
import { clearProgress, progress, putSealedKey, saveProgress, sealedKey } from '../vault.js';
import { login, renew, session } from '../session.js';
import { signDocument } from '../signatures.js';
import { Handwriting } from './handwriting.js';
import { KindChoice, PersonFields, blank, fieldsOf, nested } from '../widgets/person.js';
import { NewKey, UNSET, checkPassphrase, keyChosen } from '../widgets/newkey.js';
import { QrPayment } from '../widgets/qrpay.js';
import { BankFields, bankErrors, bankInput, bankValues } from '../widgets/bank.js';
import { t } from '../i18n.js';

const STEPS = ['email', 'person', 'handwriting', 'key', 'bank', 'agreements', 'application', 'payment', 'waiting', 'welcome'];
// An entrepreneur's or an organization's application prints its bank account; an
// individual's does not ask for one.
const stepsOf = (kind) => (kind && kind !== 'individual' ? STEPS : STEPS.filter((step) => step !== 'bank'));
// How long to wait for the follower to store a block the cooperative pushed, in ms.
const SYNC_WAIT = 120_000;

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

/** Where a synced account stands in the wizard. */
function stepOf(lifecycle) {
  if (lifecycle === 'MEMBER') return 'welcome';
  if (lifecycle === 'PAID') return 'waiting';
  if (lifecycle === 'CANDIDATE') return 'payment';
  return 'agreements';
}

function Steps({ current, kind }) {
  const steps = stepsOf(kind);
  const at = steps.indexOf(current);
  return html`<ol class="steps" aria-label=${t('signup.progress')}>
    ${steps.map((step, index) => html`<li class=${index < at ? 'done' : index === at ? 'current' : ''}
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

function PersonStep({ data, next, back, chose }) {
  const [kind, setKind] = useState(data.kind || 'individual');
  const [person, setPerson] = useState(data.person || blank(kind));
  const choose = (chosen) => {
    setKind(chosen);
    setPerson(blank(chosen));
    // The steps shown above depend on who joins.
    chose(chosen);
  };
  const submit = (event) => {
    event.preventDefault();
    next({ kind, person }, 'handwriting');
  };
  return html`<form onSubmit=${submit}>
    <h2>${t('signup.person.title')}</h2>
    <p>${t('signup.person.text')}</p>
    <${KindChoice} kind=${kind} onChange=${choose} />
    <${PersonFields} kind=${kind} values=${person} onChange=${setPerson} errors=${data.fieldErrors || {}} />
    <div class="actions">
      <button type="button" class="secondary" onClick=${back}>${t('common.back')}</button>
      <button type="submit" class="primary">${t('common.next')}</button>
    </div>
  </form>`;
}

function HandwritingStep({ data, next, back }) {
  // Back here after the API refused a field, the signature drawn already is kept.
  const [image, setImage] = useState(data.image || null);
  return html`<div>
    <h2>${t('signup.handwriting.title')}</h2>
    <p>${t('signup.handwriting.text')}</p>
    <${Handwriting} onChange=${setImage} initial=${data.image} />
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
  const [entered, setEntered] = useState(UNSET);
  const [error, setError] = useState(null);

  const register = async () => {
    setError(null);
    checkPassphrase(entered);
    const sealed = await signer.seal(entered.passphrase);
    const before = await syncedBlock();
    const kind = data.kind || 'individual';
    let registered;
    try {
      const answer = await request(REGISTER_ACCOUNT, {
        d: {
          email: data.email,
          public_key: signer.publicKey,
          type: kind.toUpperCase(),
          [`${kind}_data`]: nested(data.person),
          signature: data.image,
        },
      });
      registered = answer.registerAccount;
    } catch (failure) {
      if (failure.fields?.length) {
        const fieldErrors = Object.fromEntries(failure.fields.map((entry) => [entry.field, entry.message]));
        next({ fieldErrors }, fieldsOf(kind).some((name) => fieldErrors[name]) ? 'person' : 'email');
      }
      throw failure;
    }
    const then = kind === 'individual' ? 'agreements' : 'bank';
    await putSealedKey(registered.username, sealed);
    await saveProgress({ step: then, username: registered.username, kind });
    // The chain names the block when it can; otherwise a block past the head of the time.
    await syncedTo(registered.transaction.block_num ?? before + 3, t('signup.syncTimeout'));
    await login(registered.username, signer);
    next({ username: registered.username, signer, fieldErrors: null }, then);
  };

  return html`<div>
    <h2>${t('signup.key.title')}</h2>
    <p>${t('signup.key.text')}</p>
    <${NewKey} signer=${signer} entered=${entered} onChange=${setEntered} />
    <${Problem} error=${error} />
    <div class="actions">
      <button type="button" class="secondary" onClick=${back}>${t('common.back')}</button>
      <${Action} label=${t('signup.key.register')} action=${register} onError=${setError}
        disabled=${!keyChosen(entered)} />
    </div>
  </div>`;
}

/** The bank account an entrepreneur's or an organization's application names. */
function BankStep({ data, next }) {
  const [values, setValues] = useState(bankValues());
  const [errors, setErrors] = useState({});
  const [error, setError] = useState(null);
  const save = async () => {
    setError(null);
    setErrors({});
    let stored;
    try {
      ({ createBankAccount: stored } = await request(CREATE_BANK_ACCOUNT, {
        d: { username: data.username, is_default: true, data: bankInput(values) },
      }));
    } catch (failure) {
      setErrors(bankErrors(failure));
      throw failure;
    }
    await syncedTo(stored.valid_from_block, t('signup.syncTimeout'));
    await saveProgress({ step: 'agreements', username: data.username, kind: data.kind });
    next({}, 'agreements');
  };
  return html`<form onSubmit=${(event) => event.preventDefault()}>
    <h2>${t('signup.bank.title')}</h2>
    <p>${t('signup.bank.text')}</p>
    <${BankFields} values=${values} onChange=${setValues} errors=${errors} />
    <${Problem} error=${error} />
    <div class="actions"><${Action} label=${t('common.next')} action=${save} onError=${setError} /></div>
  </form>`;
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

/** The branch to join through, when the cooperative has branches. */
function BranchChoice({ branches, chosen, choose }) {
  return html`<div class="field">
    <label for="field-branch">${t('signup.application.branch')}</label>
    <select id="field-branch" value=${chosen} onChange=${(event) => choose(event.currentTarget.value)}>
      <option value="" disabled>${t('signup.application.chooseBranch')}</option>
      ${branches.map((branch) => html`<option value=${branch.braname}>${branch.braname}</option>`)}
    </select>
    <small>${t('signup.application.branchHint')}</small>
  </div>`;
}

function ApplicationStep({ data, next }) {
  const [branches, setBranches] = useState(null);
  const [braname, setBraname] = useState('');
  const [application, setApplication] = useState(null);
  const [error, setError] = useState(null);
  const order = ['wallet_agreement', 'privacy_agreement', 'signature_agreement', 'user_agreement'];

  useEffect(() => {
    request(BRANCHES, { p: { limit: 100 } })
      .then((answer) => setBranches(answer.getBranches.items))
      .catch(setError);
  }, []);

  // A branched cooperative takes applications through a branch, which the application names.
  const branched = branches?.length > 0;
  useEffect(() => {
    if (!branches || (branched && !braname)) return;
    setApplication(null);
    const links = order.map((field) => data.agreements[field].hash);
    request(GENERATE_APPLICATION, { u: data.username, l: links, n: braname || undefined })
      .then((answer) => setApplication(answer.generateParticipantApplication))
      .catch(setError);
  }, [branches, braname]);

  const file = async () => {
    await request(REGISTER_PARTICIPANT, {
      d: {
        username: data.username,
        braname: braname || undefined,
        statement: signDocument(data.signer, application.hash),
        ...data.agreements,
      },
    });
    await saveProgress({ step: 'payment', username: data.username });
    await until(data.username, (found) => found.lifecycle !== 'USER');
    next({ statement: application.hash }, 'payment');
  };

  return html`<div>
    <h2>${t('signup.application.title')}</h2>
    <p>${t('signup.application.text')}</p>
    <${Problem} error=${error} />
    ${branched ? html`<${BranchChoice} branches=${branches} chosen=${braname} choose=${setBraname} />` : null}
    ${application
      ? html`<${DocumentFrame} title=${t('document.100')} source=${application.html} />`
      : error || (branched && !braname) ? null : html`<p class="note" aria-live="polite">${t('signup.application.loading')}</p>`}
    <div class="actions">
      <${Action} label=${t('signup.application.sign')} action=${file} onError=${setError} disabled=${!application} />
    </div>
  </div>`;
}

/** Payment, the council's decision and the welcome: follows the account live. */
function StatusStep({ system, data, step, next }) {
  const [payment, setPayment] = useState(null);
  const [byQr, setByQr] = useState(false);
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
          ${byQr ? null : html`<dt>${t('payment.purpose')}</dt><dd>${t('signup.payment.purpose', { username: data.username })}</dd>`}
          <dt>${t('payment.reference')}</dt><dd><code class="hash">${payment.hash}</code></dd>
          <dt>${t('payment.status')}</dt><dd>${t(`payment.status.${payment.status}`)}</dd>
        </dl>
        ${payment.status === 'pending'
          ? html`<${QrPayment} username=${data.username} hash=${payment.hash} role=${session()?.role || 'user'} onShown=${setByQr} />`
          : null}`
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
      const kind = found?.account.kind || 'individual';
      let reached = stepOf(found?.account.lifecycle);
      if (reached === 'agreements' && kind !== 'individual') {
        const { getPaymentMethods: methods } = await request(PAYMENT_METHODS, { u: username });
        if (!methods.items.length) reached = 'bank';
      }
      resumed(signer, reached, kind);
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
        setData({ username: saved.username, signer: current.signer, kind: saved.kind });
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
  const steps = stepsOf(data.kind);
  const back = () => setStep(steps[Math.max(0, steps.indexOf(step) - 1)]);

  let body = null;
  if (locked && !step) {
    body = html`<${Resume} username=${locked.username} resumed=${(signer, reached, kind) => {
      setData({ username: locked.username, signer, kind });
      setLocked(null);
      setStep(reached);
    }} />`;
  } else if (step === 'email') body = html`<${EmailStep} data=${data} next=${next} />`;
  else if (step === 'person') {
    const chose = (kind) => setData((previous) => ({ ...previous, kind }));
    body = html`<${PersonStep} data=${data} next=${next} back=${back} chose=${chose} />`;
  }
  else if (step === 'handwriting') body = html`<${HandwritingStep} data=${data} next=${next} back=${back} />`;
  else if (step === 'key') body = html`<${KeyStep} data=${data} next=${next} back=${back} />`;
  else if (step === 'bank') body = html`<${BankStep} data=${data} next=${next} />`;
  else if (step === 'agreements') body = html`<${AgreementsStep} data=${data} next=${next} />`;
  else if (step === 'application') body = html`<${ApplicationStep} data=${data} next=${next} />`;
  else if (step) body = html`<${StatusStep} system=${system} data=${data} step=${step} next=${next} />`;

  return html`<section class="panel wizard" aria-labelledby="signup-title">
    <h1 id="signup-title">${t('signup.title', { coopname: system.coopname })}</h1>
    ${step ? html`<${Steps} current=${step} kind=${data.kind} />` : null}
    ${data.username ? html`<p class="note account-name">${t('signup.account', { username: data.username })}</p>` : null}
    ${body}
  </section>`;
}
