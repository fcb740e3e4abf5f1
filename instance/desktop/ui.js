// The UI toolkit: Preact with htm templates (no build step), and the few widgets every screen
// shares. Screens import from here, not from the vendored files.

import { h, render } from './vendor/preact/preact.module.js';
import { useEffect, useRef, useState, useCallback } from './vendor/preact/hooks.module.js';
import htm from './vendor/htm/htm.module.js';
import { t } from './i18n.js';

export const html = htm.bind(h);
export { render, useEffect, useRef, useState, useCallback };

/** Shows the screen at `path` (`agenda`, `documents`, … or '' for home). */
export function navigate(path) {
  location.hash = `#/${path}`;
}

/** A form field with its label and, when the server named it, its error. */
export function Field({ label, name, value, onInput, type = 'text', error, hint, autocomplete, required = true }) {
  const id = `field-${name}`;
  return html`<div class="field ${error ? 'invalid' : ''}">
    <label for=${id}>${label}</label>
    <input id=${id} name=${name} type=${type} value=${value} required=${required}
      autocomplete=${autocomplete || 'off'} aria-invalid=${error ? 'true' : 'false'}
      aria-describedby=${error || hint ? `${id}-note` : undefined}
      onInput=${(event) => onInput(event.currentTarget.value)} />
    ${error || hint ? html`<small id=${`${id}-note`}>${error || hint}</small>` : null}
  </div>`;
}

/** A failure to show: the server's message, or what went wrong in the browser. */
export function Problem({ error }) {
  if (!error) return null;
  return html`<p class="problem" role="alert">${error.message || String(error)}</p>`;
}

/** A button that runs `action` once at a time, shows that it is busy and what failed. */
export function Action({ label, action, kind = 'primary', disabled = false, onError }) {
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    try {
      await action();
    } catch (error) {
      if (onError) onError(error);
      else throw error;
    } finally {
      setBusy(false);
    }
  };
  return html`<button type="button" class=${kind} disabled=${busy || disabled} aria-busy=${busy}
    onClick=${run}>${busy ? t('common.busy') : label}</button>`;
}

/**
 * A generated or kept document, shown in a sandboxed frame (no same-origin access, no forms,
 * no script but the frame's own, see document.js) that receives the HTML by message.
 */
export function DocumentFrame({ title, source }) {
  const frame = useRef(null);
  useEffect(() => {
    const send = (event) => {
      if (event.source === frame.current?.contentWindow && event.data?.ready) {
        // The frame's origin is opaque, so no narrower target can be named.
        frame.current.contentWindow.postMessage({ html: source }, '*');
      }
    };
    window.addEventListener('message', send);
    return () => window.removeEventListener('message', send);
  }, [source]);
  return html`<iframe ref=${frame} class="document" title=${title} sandbox="allow-scripts"
    src="/desktop/document.html"></iframe>`;
}

/** A status as a labelled chip. */
export function Chip({ tone = 'neutral', children }) {
  return html`<span class="chip ${tone}">${children}</span>`;
}

/** Seconds since 1970 as a Russian date and time. */
export function when(seconds) {
  if (!seconds) return '—';
  return new Date(seconds * 1000).toLocaleString('ru-RU', { dateStyle: 'medium', timeStyle: 'short' });
}

/** An amount in the chain's smallest units as roubles: the chain's RUB has four decimals. */
export function money(amount) {
  if (amount == null) return '—';
  return (amount / 10_000).toLocaleString('ru-RU', { style: 'currency', currency: 'RUB' });
}

/**
 * A registry list read page by page (the API's `next` cursors), optionally as of a past block.
 * `load(page, block)` answers `{items, next, block_num}`; returns the current page, the
 * controls' state and `reload()`.
 */
export function usePages(load, deps = []) {
  const [cursors, setCursors] = useState([null]);
  const [block, setBlock] = useState(null);
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  const after = cursors[cursors.length - 1];
  useEffect(() => {
    let current = true;
    load({ after, limit: PAGE_SIZE, descending: true }, block)
      .then((answer) => current && (setPage(answer), setError(null)))
      .catch((failure) => current && setError(failure));
    return () => {
      current = false;
    };
  }, [after, block, tick, ...deps]);
  useEffect(() => setCursors([null]), [block, ...deps]);
  return {
    page,
    error,
    block,
    setBlock,
    reload: () => setTick((n) => n + 1),
    next: page?.next ? () => setCursors([...cursors, page.next]) : null,
    previous: cursors.length > 1 ? () => setCursors(cursors.slice(0, -1)) : null,
  };
}

const PAGE_SIZE = 20;

/** Previous/next page buttons. */
export function Pager({ pages }) {
  if (!pages.previous && !pages.next) return null;
  return html`<div class="pager">
    <button type="button" class="secondary" disabled=${!pages.previous} onClick=${pages.previous}>${t('pager.previous')}</button>
    <button type="button" class="secondary" disabled=${!pages.next} onClick=${pages.next}>${t('pager.next')}</button>
  </div>`;
}

/** A slider over the chain's blocks: the list as of any block the instance has synced. */
export function AsOfBlock({ pages, synced }) {
  const value = pages.block ?? synced;
  return html`<div class="as-of">
    <label for="as-of-block">${t('asof.label')}</label>
    <input id="as-of-block" type="range" min="1" max=${synced} value=${value}
      onChange=${(event) => {
        const chosen = Number(event.currentTarget.value);
        pages.setBlock(chosen >= synced ? null : chosen);
      }} />
    <output for="as-of-block">${pages.block ? t('asof.block', { block: pages.block }) : t('asof.now')}</output>
    ${pages.block ? html`<button type="button" class="link" onClick=${() => pages.setBlock(null)}>${t('asof.reset')}</button>` : null}
  </div>`;
}
