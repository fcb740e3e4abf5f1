// The personal data of the three kinds of members the API takes (an individual, an individual
// entrepreneur, an organization), in the private store's fields, as one form. Values are kept
// flat under the API's dotted field names (`details.inn`), so the fields the API names in its
// errors land next to their inputs.

import { Field, html } from '../ui.js';
import { has, t } from '../i18n.js';

export const KINDS = ['individual', 'entrepreneur', 'organization'];

// The legal forms an organization may have, as upstream spells them.
const LEGAL_FORMS = ['ooo', 'coop', 'ao', 'pao'];

// Each kind's fields in the order they are asked; `optional` ones may stay empty.
const FIELDS = {
  individual: ['last_name', 'first_name', 'middle_name', 'birthdate', 'phone', 'full_address'],
  entrepreneur: [
    'last_name', 'first_name', 'middle_name', 'birthdate', 'phone', 'details.inn', 'details.ogrn',
    'country', 'city', 'full_address',
  ],
  organization: [
    'type', 'short_name', 'full_name', 'details.inn', 'details.ogrn', 'details.kpp',
    'represented_by.last_name', 'represented_by.first_name', 'represented_by.middle_name',
    'represented_by.position', 'represented_by.based_on', 'phone', 'country', 'city',
    'full_address', 'fact_address',
  ],
};

const OPTIONAL = new Set(['middle_name', 'represented_by.middle_name']);
const TYPES = { birthdate: 'date', phone: 'tel', email: 'email' };
// What a newcomer would otherwise type the same way every time.
const DEFAULTS = { country: 'Россия', type: 'ooo', 'represented_by.based_on': 'Устава' };

/** The fields of `kind`, with `email` when the form asks for it too. */
export function fieldsOf(kind, withEmail = false) {
  return withEmail ? [...FIELDS[kind], 'email'] : FIELDS[kind];
}

/** An empty form of `kind`. */
export function blank(kind) {
  return Object.fromEntries(FIELDS[kind].map((name) => [name, DEFAULTS[name] ?? '']));
}

/** A stored record as the form's flat values. */
export function flatten(record, prefix = '') {
  const flat = {};
  for (const [key, value] of Object.entries(record || {})) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      Object.assign(flat, flatten(value, `${prefix}${key}.`));
    } else {
      flat[`${prefix}${key}`] = value;
    }
  }
  return flat;
}

/** The form's flat values as the record the API takes, over `base` (fields it does not show). */
export function nested(values, base = {}) {
  const record = structuredClone(base);
  for (const [path, value] of Object.entries(values)) {
    const keys = path.split('.');
    let at = record;
    for (const key of keys.slice(0, -1)) {
      at[key] = at[key] && typeof at[key] === 'object' ? at[key] : {};
      at = at[key];
    }
    at[keys[keys.length - 1]] = typeof value === 'string' ? value.trim() : value;
  }
  return record;
}

/** The kind chooser: who joins. */
export function KindChoice({ kind, onChange }) {
  return html`<fieldset class="kinds">
    <legend>${t('person.kind')}</legend>
    ${KINDS.map((value) => html`<label class="kind ${kind === value ? 'chosen' : ''}">
      <input type="radio" name="kind" value=${value} checked=${kind === value}
        onChange=${() => onChange(value)} />
      <span><strong>${t(`kind.${value}`)}</strong><small>${t(`person.kind.${value}`)}</small></span>
    </label>`)}
  </fieldset>`;
}

/** The string of field `name` as `kind` words it (an entrepreneur's OGRNIP), else the common one. */
function ofKind(group, kind, name) {
  return has(`${group}.${kind}.${name}`) ? `${group}.${kind}.${name}` : `${group}.${name}`;
}

/** The fields of `kind`: `values` flat, `errors` by the API's field names. */
export function PersonFields({ kind, values, onChange, errors = {}, withEmail = false }) {
  const set = (name) => (value) => onChange({ ...values, [name]: value });
  return html`<div class="grid">
    ${fieldsOf(kind, withEmail).map((name) => (name === 'type'
      ? html`<div class="field">
          <label for="field-type">${t('field.type')}</label>
          <select id="field-type" value=${values.type} onChange=${(event) => set('type')(event.currentTarget.value)}>
            ${LEGAL_FORMS.map((form) => html`<option value=${form}>${t(`legalForm.${form}`)}</option>`)}
          </select>
        </div>`
      : html`<${Field} label=${t(ofKind('field', kind, name))} name=${name} value=${values[name] ?? ''}
          onInput=${set(name)} type=${TYPES[name] || 'text'} required=${!OPTIONAL.has(name)}
          error=${errors[name]} hint=${has(ofKind('hint', kind, name)) ? t(ofKind('hint', kind, name)) : undefined} />`))}
  </div>`;
}
