// The member's own profile: its personal data (read and corrected with `updateAccount`), the
// bank accounts the cooperative pays it to (added, changed, removed), and its payments, a
// pending one with its QR code while the `qrpay` extension is on. Private data changes take
// effect from the block after the synced one, so each change waits for that block before the
// screen reads it back.

import { Action, Chip, DocumentFrame, Problem, html, money, useEffect, useState, when } from '../ui.js';
import {
  ACCOUNT, BRANCHES, CREATE_BANK_ACCOUNT, DELETE_PAYMENT_METHOD, GENERATE_SELECT_BRANCH, PAYMENTS,
  PAYMENT_METHODS, SELECT_BRANCH, UPDATE_ACCOUNT, UPDATE_BANK_ACCOUNT, live, request, syncedBlock,
  syncedTo,
} from '../api.js';
import { signDocument } from '../signatures.js';
import { PersonFields, fieldsOf, flatten, nested } from '../widgets/person.js';
import { BankFields, bankErrors, bankInput, bankValues } from '../widgets/bank.js';
import { QrPayment } from '../widgets/qrpay.js';
import { t } from '../i18n.js';

const TONES = { pending: 'wait', authorized: 'wait', completed: 'good', declined: 'bad' };

/** The API's field errors by field. */
function errorsOf(failure) {
  return Object.fromEntries((failure?.fields || []).map((entry) => [entry.field, entry.message]));
}

function PersonalData({ user }) {
  const [found, setFound] = useState(null);
  const [values, setValues] = useState(null);
  const [errors, setErrors] = useState({});
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    request(ACCOUNT, { u: user.username })
      .then(({ getAccount }) => {
        const account = getAccount?.account;
        setFound(account);
        if (account?.kind) {
          const flat = flatten(account.private_data);
          setValues(Object.fromEntries(fieldsOf(account.kind, true).map((name) => [name, flat[name] ?? ''])));
        }
      })
      .catch(setError);
  }, [tick]);

  const save = async () => {
    setError(null);
    setErrors({});
    setSaved(false);
    let stored;
    try {
      const record = nested(values, found.private_data || {});
      ({ updateAccount: stored } = await request(UPDATE_ACCOUNT, {
        d: { username: user.username, [`${found.kind}_data`]: record },
      }));
    } catch (failure) {
      setErrors(errorsOf(failure));
      throw failure;
    }
    await syncedTo(stored.valid_from_block);
    setSaved(true);
    setTick((n) => n + 1);
  };

  return html`<section class="part" aria-labelledby="profile-person">
    <h2 id="profile-person">${t('profile.person')}</h2>
    ${found && !found.kind ? html`<p class="empty">${t('profile.noData')}</p>` : null}
    ${values
      ? html`<p class="note">${t('profile.kind', { kind: t(`kind.${found.kind}`) })}</p>
          <form onSubmit=${(event) => event.preventDefault()}>
            <${PersonFields} kind=${found.kind} values=${values} onChange=${(next) => (setSaved(false), setValues(next))}
              errors=${errors} withEmail=${true} />
            <${Problem} error=${error} />
            ${saved ? html`<p class="ok" role="status">${t('profile.saved')}</p>` : null}
            <div class="actions"><${Action} label=${t('profile.save')} action=${save} onError=${setError} /></div>
          </form>`
      : error ? html`<${Problem} error=${error} />` : html`<p class="note">${t('common.loading')}</p>`}
  </section>`;
}

/** The form of a new or changed bank account. */
function BankForm({ method, username, done, cancel }) {
  const [values, setValues] = useState(bankValues(method?.data));
  const [isDefault, setDefault] = useState(method ? method.is_default : true);
  const [errors, setErrors] = useState({});
  const [error, setError] = useState(null);

  const submit = async () => {
    setError(null);
    setErrors({});
    const data = bankInput(values);
    let stored;
    try {
      if (method) {
        ({ updateBankAccount: stored } = await request(UPDATE_BANK_ACCOUNT, {
          d: { username, method_id: method.method_id, is_default: isDefault, data },
        }));
      } else {
        ({ createBankAccount: stored } = await request(CREATE_BANK_ACCOUNT, { d: { username, is_default: isDefault, data } }));
      }
    } catch (failure) {
      setErrors(bankErrors(failure));
      throw failure;
    }
    await syncedTo(stored.valid_from_block);
    done();
  };

  const title = method ? t('bank.edit') : t('bank.add');
  return html`<form class="subform" aria-label=${title} onSubmit=${(event) => event.preventDefault()}>
    <h3>${title}</h3>
    <${BankFields} values=${values} onChange=${setValues} errors=${errors} />
    <label class="check">
      <input type="checkbox" checked=${isDefault} onChange=${(event) => setDefault(event.currentTarget.checked)} />
      ${t('bank.default')}
    </label>
    <${Problem} error=${error} />
    <div class="actions">
      <${Action} label=${t('bank.save')} action=${submit} onError=${setError} />
      <button type="button" class="secondary" onClick=${cancel}>${t('common.cancel')}</button>
    </div>
  </form>`;
}

function BankAccounts({ user }) {
  const [methods, setMethods] = useState(null);
  const [editing, setEditing] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    request(PAYMENT_METHODS, { u: user.username })
      .then((data) => setMethods(data.getPaymentMethods.items))
      .catch(setError);
  }, [tick]);

  const reload = () => {
    setEditing(null);
    setTick((n) => n + 1);
  };
  const remove = (method) => async () => {
    setError(null);
    const before = await syncedBlock();
    await request(DELETE_PAYMENT_METHOD, { u: user.username, m: method.method_id });
    // The removal holds from the block after the synced one.
    await syncedTo(before + 1);
    reload();
  };

  return html`<section class="part" aria-labelledby="profile-banks">
    <h2 id="profile-banks">${t('profile.banks')}</h2>
    <p class="note">${t('profile.banksText')}</p>
    <${Problem} error=${error} />
    ${methods
      ? methods.length
        ? html`<ul class="list">${methods.map((method) => html`<li class="item" aria-label=${method.data.bank_name || method.data.phone}>
            <div class="item-head">
              <div>
                <strong>${method.method_type === 'sbp' ? t('bank.sbp') : method.data.bank_name}</strong>
                <div class="note">
                  ${method.method_type === 'sbp'
                    ? method.data.phone
                    : html`<code>${method.data.account_number}</code> · ${t('qrpay.bic', { bic: method.data.details?.bik })}`}
                </div>
              </div>
              ${method.is_default ? html`<${Chip} tone="good">${t('bank.isDefault')}<//>` : null}
            </div>
            ${method.method_type === 'bank_transfer'
              ? html`<div class="actions">
                  <button type="button" class="secondary" onClick=${() => setEditing(method)}>${t('bank.change')}</button>
                  <${Action} label=${t('bank.remove')} kind="danger" action=${remove(method)} onError=${setError} />
                </div>`
              : null}
            ${editing === method
              ? html`<${BankForm} method=${method} username=${user.username} done=${reload} cancel=${() => setEditing(null)} />`
              : null}
          </li>`)}</ul>`
        : html`<p class="empty">${t('profile.noBanks')}</p>`
      : html`<p class="note">${t('common.loading')}</p>`}
    ${editing === 'new'
      ? html`<${BankForm} username=${user.username} done=${reload} cancel=${() => setEditing(null)} />`
      : html`<div class="actions"><button type="button" class="secondary" onClick=${() => setEditing('new')}>${t('bank.add')}</button></div>`}
  </section>`;
}

/**
 * A shareholder's branch in a branched cooperative: the statement choosing one (101) is
 * generated, signed here and filed; the registry then names the branch.
 */
function Branch({ user }) {
  const [account, setAccount] = useState(null);
  const [branches, setBranches] = useState([]);
  const [chosen, setChosen] = useState('');
  const [statement, setStatement] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    request(ACCOUNT, { u: user.username }).then((data) => setAccount(data.getAccount?.account)).catch(setError);
    request(BRANCHES, { p: { limit: 100 } }).then((data) => setBranches(data.getBranches.items)).catch(setError);
  }, [tick]);

  const prepare = async () => {
    setError(null);
    const { generateSelectBranchDocument: generated } = await request(GENERATE_SELECT_BRANCH, { u: user.username, n: chosen });
    setStatement(generated);
  };
  const sign = async () => {
    setError(null);
    const { selectBranch: pushed } = await request(SELECT_BRANCH, {
      d: { username: user.username, braname: chosen, document: signDocument(user.signer, statement.hash) },
    });
    if (pushed.block_num) await syncedTo(pushed.block_num);
    setStatement(null);
    setTick((n) => n + 1);
  };

  if (!branches.length || account?.lifecycle !== 'MEMBER') return null;
  // The shareholder's row on chain holds the branch `soviet::selectbranch` recorded.
  const current = account.branch || account.participant?.braname;
  return html`<section class="part" aria-labelledby="profile-branch">
    <h2 id="profile-branch">${t('profile.branch')}</h2>
    <p>${current ? t('profile.branchIs', { branch: current }) : t('profile.noBranch')}</p>
    <div class="filters">
      <div class="field">
        <label for="field-branch">${t('profile.chooseBranch')}</label>
        <select id="field-branch" value=${chosen} onChange=${(event) => (setStatement(null), setChosen(event.currentTarget.value))}>
          <option value="" disabled>${t('signup.application.chooseBranch')}</option>
          ${branches.map((branch) => html`<option value=${branch.braname}>${branch.braname}</option>`)}
        </select>
      </div>
      <${Action} label=${t('profile.prepareBranch')} kind="secondary" action=${prepare} onError=${setError} disabled=${!chosen} />
    </div>
    <${Problem} error=${error} />
    ${statement
      ? html`<${DocumentFrame} title=${t('document.101')} source=${statement.html} />
          <div class="actions"><${Action} label=${t('profile.signBranch')} action=${sign} onError=${setError} /></div>`
      : null}
  </section>`;
}

function MyPayments({ user }) {
  const [payments, setPayments] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    const load = () =>
      request(PAYMENTS, { f: { username: user.username } })
        .then((data) => setPayments(data.getPayments.items))
        .catch(setError);
    load();
    return live(['paymentChanged'], load, load);
  }, []);

  return html`<section class="part" aria-labelledby="profile-payments">
    <h2 id="profile-payments">${t('profile.payments')}</h2>
    <${Problem} error=${error} />
    ${payments
      ? payments.length
        ? html`<div class="table-wrap"><table>
            <thead><tr>
              <th scope="col">${t('payment.purpose')}</th><th scope="col" class="number">${t('payment.amount')}</th>
              <th scope="col">${t('payment.status')}</th><th scope="col">${t('payments.created')}</th>
            </tr></thead>
            <tbody>${payments.map((payment) => html`<tr>
              <td>${payment.purpose ? t(`purpose.${payment.purpose}`) : '—'}</td>
              <td class="number">${money(payment.amount)}</td>
              <td><${Chip} tone=${TONES[payment.status]}>${t(`payment.status.${payment.status}`)}<//></td>
              <td class="date">${when(payment.created_at)}</td>
            </tr>`)}</tbody>
          </table></div>
          ${payments.filter((payment) => payment.status === 'pending').map((payment) => html`<${QrPayment}
            key=${payment.hash} username=${user.username} hash=${payment.hash} role=${user.role} />`)}`
        : html`<p class="empty">${t('profile.noPayments')}</p>`
      : html`<p class="note">${t('common.loading')}</p>`}
  </section>`;
}

export function Profile({ user }) {
  return html`<section class="panel" aria-labelledby="profile-title">
    <h1 id="profile-title">${t('profile.title')}</h1>
    <${PersonalData} user=${user} />
    <${BankAccounts} user=${user} />
    <${Branch} user=${user} />
    <${MyPayments} user=${user} />
  </section>`;
}
