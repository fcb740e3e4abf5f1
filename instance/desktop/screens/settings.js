// The chairman's settings: the extensions this instance has (installed with a configuration
// entered in a form made from the extension's JSON Schema, switched on and off, removed), and
// the council and the fees, which are chain state: the chairman writes the general meeting's
// council (`installSystem`) and fees (`updateSystem`) on chain, and the screen shows them once
// the instance has synced that block.

import { Action, Chip, Field, Problem, html, useEffect, useState } from '../ui.js';
import {
  ACCOUNT, EXTENSIONS, INSTALL_EXTENSION, INSTALL_SYSTEM, SYSTEM_INFO, UNINSTALL_EXTENSION,
  UPDATE_EXTENSION, UPDATE_FEES, request, syncedTo,
} from '../api.js';
import { PersonFields, blank, nested } from '../widgets/person.js';
import { t } from '../i18n.js';

// The fees in the order the registrator lists them.
const FEES = ['registration', 'initial', 'minimum', 'org_registration', 'org_initial', 'org_minimum'];
// The fees the chairman sets; the registration totals are their sums.
const SET_FEES = ['initial', 'minimum', 'org_initial', 'org_minimum'];

/** An asset (`100.0000 RUB`) as roubles. */
function asset(text) {
  const [amount, symbol] = String(text).split(' ');
  const value = Number(amount);
  if (symbol !== 'RUB' || Number.isNaN(value)) return text;
  return value.toLocaleString('ru-RU', { style: 'currency', currency: 'RUB' });
}

/** An asset's amount as the chairman types it (`300,5`). */
function amountOf(text) {
  const value = Number(String(text || '').split(' ')[0]);
  return Number.isNaN(value) ? '' : value.toLocaleString('ru-RU', { maximumFractionDigits: 2, useGrouping: false });
}

/**
 * `typed` (roubles, with a comma or a point) as an asset of the precision and symbol of
 * `current` (`100.0000 RUB`); `null` when it is not an amount.
 */
function assetOf(typed, current) {
  const [amount, symbol] = String(current).split(' ');
  const precision = (amount.split('.')[1] || '').length;
  const text = typed.trim().replace(/\s/g, '').replace(',', '.');
  // Kopecks at most, however many digits the chain keeps.
  if (!/^\d+(\.\d+)?$/.test(text) || (text.split('.')[1] || '').length > Math.min(2, precision)) return null;
  return `${Number(text).toFixed(precision)} ${symbol}`;
}

/** The buttons of a form whose change the chairman writes on chain. */
function WriteOrCancel({ write, cancel, onError }) {
  return html`<div class="actions">
    <${Action} label=${t('settings.writeOnChain')} action=${write} onError=${onError} />
    <button type="button" class="secondary" onClick=${cancel}>${t('common.cancel')}</button>
  </div>`;
}

/** The fees form: the general meeting's fees, written on chain by the chairman. */
function FeesForm({ fees, done, cancel }) {
  const [values, setValues] = useState(Object.fromEntries(SET_FEES.map((name) => [name, amountOf(fees[name])])));
  const [errors, setErrors] = useState({});
  const [error, setError] = useState(null);

  const save = async () => {
    setError(null);
    const typed = Object.fromEntries(SET_FEES.map((name) => [name, assetOf(values[name], fees[name])]));
    const wrong = SET_FEES.filter((name) => !typed[name]);
    setErrors(Object.fromEntries(wrong.map((name) => [name, t('settings.feeInvalid')])));
    if (wrong.length) return;
    let result;
    try {
      result = (await request(UPDATE_FEES, { f: typed })).updateSystem;
    } catch (failure) {
      setErrors(Object.fromEntries((failure.fields || []).map((entry) => [entry.field.replace(/^fees\./, ''), entry.message])));
      throw failure;
    }
    if (result.transaction?.block_num) await syncedTo(result.transaction.block_num);
    done();
  };

  return html`<form class="subform" aria-label=${t('settings.feesTitle')} onSubmit=${(event) => event.preventDefault()}>
    <div class="grid">
      ${SET_FEES.map((name) => html`<${Field} label=${t(`fee.${name}`)} name=${`fees.${name}`} value=${values[name]}
        error=${errors[name]} hint=${t('settings.feeHint')} onInput=${(value) => setValues({ ...values, [name]: value })} />`)}
    </div>
    <${Problem} error=${error} />
    <${WriteOrCancel} write=${save} cancel=${cancel} onError=${setError} />
  </form>`;
}

/** A council seat as `installSystem` takes it, with the personal data the instance holds. */
async function seatOf(seat) {
  const { getAccount: found } = await request(ACCOUNT, { u: seat.username });
  const data = found.account?.private_data;
  if (!data) throw new Error(t('settings.councilNoData', { username: seat.username }));
  return {
    username: seat.username,
    role: seat.position === 'chairman' ? 'CHAIRMAN' : 'MEMBER',
    email: data.email || '',
    individual_data: data,
  };
}

/**
 * The council form: the general meeting's council, written on chain by the chairman. Seats
 * kept go with the data the instance holds; a newcomer's account is created and e-mailed a
 * code to set its own key.
 */
function CouncilForm({ council, done, cancel }) {
  const [kept, setKept] = useState(council.map((seat) => seat.username));
  const [adding, setAdding] = useState(false);
  const [newcomer, setNewcomer] = useState({ username: '', ...blank('individual'), email: '' });
  const [errors, setErrors] = useState({});
  const [error, setError] = useState(null);

  const save = async () => {
    setError(null);
    setErrors({});
    const seats = await Promise.all(council.filter((seat) => kept.includes(seat.username)).map(seatOf));
    if (adding) {
      const { username, email, ...fields } = newcomer;
      seats.push({ username: username.trim(), role: 'MEMBER', email: email.trim(), individual_data: nested(fields) });
    }
    let result;
    try {
      result = (await request(INSTALL_SYSTEM, { d: { soviet: seats } })).installSystem;
    } catch (failure) {
      // The newcomer is the last seat: `soviet.N.individual_data.phone` lands next to `phone`.
      const prefix = `soviet.${seats.length - 1}.`;
      setErrors(Object.fromEntries((failure.fields || [])
        .filter((entry) => adding && entry.field.startsWith(prefix))
        .map((entry) => [entry.field.slice(prefix.length).replace(/^individual_data\./, ''), entry.message])));
      throw failure;
    }
    if (result.transaction?.block_num) await syncedTo(result.transaction.block_num);
    done(result);
  };

  const keep = (username) => (event) => setKept(event.currentTarget.checked
    ? [...kept, username] : kept.filter((name) => name !== username));
  return html`<form class="subform" aria-label=${t('settings.councilTitle')} onSubmit=${(event) => event.preventDefault()}>
    <ul class="plain">
      ${council.map((seat) => html`<li>
        <label class="check">
          <input type="checkbox" checked=${kept.includes(seat.username)} disabled=${seat.position === 'chairman'}
            onChange=${keep(seat.username)} />
          <span><strong>${seat.username}</strong> — ${seat.position_title || t(`seat.${seat.position}`)}</span>
        </label>
      </li>`)}
    </ul>
    ${adding
      ? html`<fieldset class="newcomer">
          <legend>${t('settings.councilNewcomer')}</legend>
          <div class="grid">
            <${Field} label=${t('signin.account')} name="username" value=${newcomer.username} error=${errors.username}
              hint=${t('settings.councilUsernameHint')} onInput=${(value) => setNewcomer({ ...newcomer, username: value })} />
          </div>
          <${PersonFields} kind="individual" values=${newcomer} errors=${errors} withEmail=${true}
            onChange=${(values) => setNewcomer({ ...newcomer, ...values })} />
        </fieldset>`
      : html`<div class="actions"><button type="button" class="secondary" onClick=${() => setAdding(true)}>${t('settings.councilAdd')}</button></div>`}
    <${Problem} error=${error} />
    <${WriteOrCancel} write=${save} cancel=${cancel} onError=${setError} />
  </form>`;
}

/** The installation form: one field per property of the extension's configuration schema. */
function InstallForm({ extension, done }) {
  const properties = extension.schema?.properties || {};
  const required = new Set(extension.schema?.required || []);
  const [values, setValues] = useState(Object.fromEntries(Object.keys(properties).map((name) => [name, ''])));
  const [errors, setErrors] = useState({});
  const [error, setError] = useState(null);

  const install = async () => {
    setError(null);
    setErrors({});
    const config = Object.fromEntries(Object.entries(values).filter(([, value]) => value.trim()).map(([name, value]) => [name, value.trim()]));
    try {
      await request(INSTALL_EXTENSION, { d: { name: extension.name, enabled: true, config } });
    } catch (failure) {
      setErrors(Object.fromEntries((failure.fields || []).map((entry) => [entry.field, entry.message])));
      throw failure;
    }
    done();
  };

  return html`<form class="subform" aria-label=${t('settings.installTitle', { title: extension.title })}
    onSubmit=${(event) => event.preventDefault()}>
    <div class="grid">
      ${Object.entries(properties).map(([name, property]) => html`<${Field} label=${property.title || name}
        name=${`${extension.name}.${name}`} value=${values[name]} required=${required.has(name)} error=${errors[name]}
        type=${property.writeOnly ? 'password' : 'text'}
        onInput=${(value) => setValues({ ...values, [name]: value })} />`)}
    </div>
    <${Problem} error=${error} />
    <div class="actions"><${Action} label=${t('settings.install')} action=${install} onError=${setError} /></div>
  </form>`;
}

function Extension({ extension, reload }) {
  const [error, setError] = useState(null);
  const [installing, setInstalling] = useState(false);
  const switchTo = (enabled) => async () => {
    setError(null);
    await request(UPDATE_EXTENSION, { d: { name: extension.name, enabled } });
    reload();
  };
  const uninstall = async () => {
    setError(null);
    await request(UNINSTALL_EXTENSION, { n: extension.name });
    reload();
  };
  const state = !extension.installed ? 'absent' : extension.enabled ? 'on' : 'off';
  return html`<li class="item" aria-label=${extension.title}>
    <div class="item-head">
      <div>
        <strong>${extension.title}</strong>
        <div class="note">${t(`extension.${extension.name}`)}</div>
      </div>
      <${Chip} tone=${state === 'on' ? 'good' : 'neutral'}>${t(`settings.state.${state}`)}<//>
    </div>
    ${extension.installed && extension.config
      ? html`<dl class="facts compact">
          ${Object.entries(extension.config).map(([name, value]) => html`<dt>${extension.schema?.properties?.[name]?.title || name}</dt><dd>${String(value)}</dd>`)}
        </dl>`
      : null}
    <${Problem} error=${error} />
    <div class="actions">
      ${state === 'on' ? html`<${Action} label=${t('settings.disable')} kind="secondary" action=${switchTo(false)} onError=${setError} />` : null}
      ${state === 'off'
        ? html`<${Action} label=${t('settings.enable')} action=${switchTo(true)} onError=${setError} />
            <${Action} label=${t('settings.uninstall')} kind="danger" action=${uninstall} onError=${setError} />`
        : null}
      ${state === 'absent' && !installing
        ? html`<button type="button" class="primary" onClick=${() => setInstalling(true)}>${t('settings.installOpen')}</button>`
        : null}
    </div>
    ${state === 'absent' && installing ? html`<${InstallForm} extension=${extension} done=${reload} />` : null}
  </li>`;
}

export function Settings({ system }) {
  const [extensions, setExtensions] = useState(null);
  const [info, setInfo] = useState(system);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  const [editingFees, setEditingFees] = useState(false);
  const [editingCouncil, setEditingCouncil] = useState(false);
  const [invited, setInvited] = useState([]);

  useEffect(() => {
    request(EXTENSIONS)
      .then((data) => setExtensions(data.getExtensions))
      .catch(setError);
    request(SYSTEM_INFO).then((data) => setInfo(data.getSystemInfo)).catch(setError);
  }, [tick]);

  const council = Array.isArray(info.council) ? info.council : [];
  const fees = info.fees || {};
  return html`<section class="panel" aria-labelledby="settings-title">
    <h1 id="settings-title">${t('settings.title')}</h1>
    <${Problem} error=${error} />
    <section class="part" aria-labelledby="settings-extensions">
      <h2 id="settings-extensions">${t('settings.extensions')}</h2>
      ${extensions
        ? html`<ul class="list">${extensions.map((extension) => html`<${Extension} key=${extension.name}
            extension=${extension} reload=${() => setTick((n) => n + 1)} />`)}</ul>`
        : html`<p class="note">${t('common.loading')}</p>`}
    </section>
    <div class="columns">
      <section class="part" aria-labelledby="settings-council">
        <h2 id="settings-council">${t('settings.council')}</h2>
        <ul class="plain">
          ${council.map((seat) => html`<li><strong>${seat.username}</strong> — ${seat.position_title || t(`seat.${seat.position}`)}
            ${seat.is_voting ? null : html` <span class="note">${t('settings.notVoting')}</span>`}</li>`)}
        </ul>
        ${invited.length ? html`<p class="note" role="status">${t('settings.councilInvited', { names: invited.join(', ') })}</p>` : null}
        ${editingCouncil
          ? html`<${CouncilForm} council=${council} cancel=${() => setEditingCouncil(false)}
              done=${(result) => { setInvited(result.invited); setEditingCouncil(false); setTick((n) => n + 1); }} />`
          : council.length
            ? html`<div class="actions"><button type="button" class="secondary" onClick=${() => setEditingCouncil(true)}>${t('settings.councilEdit')}</button></div>`
            : null}
      </section>
      <section class="part" aria-labelledby="settings-fees">
        <h2 id="settings-fees">${t('settings.fees')}</h2>
        <dl class="facts">
          ${FEES.filter((name) => fees[name]).map((name) => html`<dt>${t(`fee.${name}`)}</dt><dd>${asset(fees[name])}</dd>`)}
        </dl>
        ${editingFees
          ? html`<${FeesForm} fees=${fees} cancel=${() => setEditingFees(false)}
              done=${() => { setEditingFees(false); setTick((n) => n + 1); }} />`
          : SET_FEES.every((name) => fees[name])
            ? html`<div class="actions"><button type="button" class="secondary" onClick=${() => setEditingFees(true)}>${t('settings.feesEdit')}</button></div>`
            : null}
      </section>
    </div>
    <p class="note">${t('settings.chainNote')}</p>
  </section>`;
}
