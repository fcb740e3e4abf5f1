// A bank account's fields as the API names them under `data.` (`details.bik`), kept flat like
// the personal data form's, and what the API takes from them.

import { Field, html } from '../ui.js';
import { flatten, nested } from './person.js';
import { t } from '../i18n.js';

const FIELDS = ['bank_name', 'account_number', 'details.bik', 'details.corr', 'details.kpp', 'card_number'];
const OPTIONAL = new Set(['card_number']);

/** The form's values of a stored account's `data`, or empty ones. */
export function bankValues(data) {
  const flat = flatten(data);
  return Object.fromEntries(FIELDS.map((name) => [name, flat[name] ?? '']));
}

/** The `BankAccountInput` of the form's values; an empty optional field is left out. */
export function bankInput(values) {
  const filled = Object.entries(values).filter(([name, value]) => value.trim() || !OPTIONAL.has(name));
  return nested(Object.fromEntries(filled), { currency: 'RUB' });
}

/** The API's errors about a bank account, by the form's field names. */
export function bankErrors(failure) {
  return Object.fromEntries((failure?.fields || []).map((entry) => [entry.field.replace(/^data\./, ''), entry.message]));
}

export function BankFields({ values, onChange, errors = {} }) {
  return html`<div class="grid">
    ${FIELDS.map((name) => html`<${Field} label=${t(`bank.${name}`)} name=${`bank.${name}`} value=${values[name]}
      onInput=${(value) => onChange({ ...values, [name]: value })} required=${!OPTIONAL.has(name)} error=${errors[name]} />`)}
  </div>`;
}
