// Looks strings up in the interface's language; a translation is another file in i18n/ with
// the same keys.

import ru from './i18n/ru.js';

const strings = ru;

/** The string `key` with `{name}` placeholders filled from `params`; the key itself if absent. */
export function t(key, params = {}) {
  const text = strings[key];
  if (text === undefined) return key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ''));
}

/** Whether the interface has a string for `key`. */
export function has(key) {
  return strings[key] !== undefined;
}
