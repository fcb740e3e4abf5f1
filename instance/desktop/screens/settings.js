// The chairman's settings: the extensions this instance has (installed with a configuration
// entered in a form made from the extension's JSON Schema, switched on and off, removed), the
// council, and the fees, which are chain state: the chairman writes the general meeting's fees
// on chain (`updateSystem`) and the screen shows them once the instance has synced that block.

import { Action, Chip, Field, Problem, html, useEffect, useState } from '../ui.js';
import {
  EXTENSIONS, INSTALL_EXTENSION, SYSTEM_INFO, UNINSTALL_EXTENSION, UPDATE_EXTENSION, UPDATE_FEES,
  request, syncedTo,
} from '../api.js';
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
    <div class="actions">
      <${Action} label=${t('settings.feesSave')} action=${save} onError=${setError} />
      <button type="button" class="secondary" onClick=${cancel}>${t('common.cancel')}</button>
    </div>
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
