// Documents: the member's own (the council may look up any account's), each shown as the
// instance keeps it, in a sandboxed frame, with its PDF to download and its signatures checked
// here in the browser against the signers' keys.

import { Action, AsOfBlock, Chip, DocumentFrame, Field, Pager, Problem, html, useEffect, usePages, useState } from '../ui.js';
import { DOCUMENTS, REGENERATE_DOCUMENT, live, request } from '../api.js';
import { isCouncil } from '../session.js';
import { verifyDocumentSignature } from '../keys.js';
import { t } from '../i18n.js';

const TONES = { ACCEPTED: 'good', PENDING: 'wait', REJECTED: 'bad', EXPIRED: 'bad' };

function download(document) {
  const bytes = Uint8Array.from(atob(document.stored.pdf), (char) => char.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/pdf' }));
  const link = Object.assign(window.document.createElement('a'), {
    href: url,
    download: `${document.stored.registry_id}-${document.hash.slice(0, 12)}.pdf`,
  });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Has the instance rebuild the document from its meta, then checks here what came back: the
 * rebuilt PDF's SHA-256 (`doc_hash`) and the document hash it gives with the kept meta's hash,
 * sha256hex(meta_hash ‖ DOC_HASH) as document2 defines it, against the hash that was signed.
 */
async function regenerate(document) {
  const { regenerateDocument: rebuilt } = await request(REGENERATE_DOCUMENT, { h: document.hash });
  const pdf = Uint8Array.from(atob(rebuilt.pdf), (char) => char.charCodeAt(0));
  const docHash = (await sha256Hex(pdf)).toUpperCase();
  const hash = await sha256Hex(new TextEncoder().encode(document.stored.meta_hash.toLowerCase() + docHash));
  return { hash, matches: hash === document.hash.toLowerCase(), identical: rebuilt.identical };
}

function Regenerated({ outcome }) {
  return html`<div class="verdict ${outcome.matches ? 'ok' : 'bad'}" role="status">
    <strong>${outcome.matches ? t('documents.regenerated.same') : t('documents.regenerated.different')}</strong>
    <p class="note">${t('documents.regenerated.hash')} <code class="hash">${outcome.hash}</code></p>
    <p class="note">${outcome.identical ? t('documents.regenerated.identical') : t('documents.regenerated.notIdentical')}</p>
  </div>`;
}

function DocumentItem({ document }) {
  const [open, setOpen] = useState(false);
  const [outcome, setOutcome] = useState(null);
  const [error, setError] = useState(null);
  const stored = document.stored;
  const registryId = stored?.registry_id;
  const title = registryId != null ? t(`document.${registryId}`) : t('documents.unknown');
  const signatures = stored?.signatures || [];
  const verified = signatures.filter((signature) => verifyDocumentSignature(document.hash, signature));
  return html`<li class="item">
    <div class="item-head">
      <div>
        <strong>${title}</strong>
        <div class="note"><code class="hash">${document.hash}</code></div>
      </div>
      <${Chip} tone=${TONES[document.status]}>${t(`document.status.${document.status}`)}<//>
    </div>
    <p class="note">
      ${t('documents.signers', { signers: document.signers.join(', ') || '—' })}
      ${signatures.length
        ? html` · <span class=${verified.length === signatures.length ? 'ok' : 'bad'}>
            ${t('documents.verified', { ok: verified.length, all: signatures.length })}</span>`
        : null}
    </p>
    ${stored
      ? html`<div class="actions">
          <button type="button" class="secondary" aria-expanded=${open} onClick=${() => setOpen(!open)}>
            ${open ? t('documents.hide') : t('documents.show')}
          </button>
          <button type="button" class="secondary" onClick=${() => download(document)}>${t('documents.pdf')}</button>
          <${Action} label=${t('documents.regenerate')} kind="secondary" onError=${setError}
            action=${async () => (setError(null), setOutcome(await regenerate(document)))} />
        </div>
        <${Problem} error=${error} />
        ${outcome ? html`<${Regenerated} outcome=${outcome} />` : null}
        ${open ? html`<${DocumentFrame} title=${title} source=${stored.html} />` : null}`
      : null}
  </li>`;
}

export function Documents({ system, user }) {
  const council = isCouncil();
  const [username, setUsername] = useState(user.username);
  const [asked, setAsked] = useState(user.username);
  const pages = usePages(
    (page, block) => request(DOCUMENTS, { f: { username: asked || undefined }, p: page, b: block }).then((data) => data.getDocuments),
    [asked],
  );
  useEffect(() => live(['documentChanged'], () => pages.reload(), () => pages.reload()), []);

  return html`<section class="panel" aria-labelledby="documents-title">
    <h1 id="documents-title">${council ? t('documents.titleCouncil') : t('documents.title')}</h1>
    ${council
      ? html`<form class="filters" onSubmit=${(event) => (event.preventDefault(), setAsked(username.trim()))}>
          <${Field} label=${t('documents.account')} name="documents-account" value=${username} onInput=${setUsername} required=${false} />
          <button type="submit" class="secondary">${t('common.show')}</button>
        </form>`
      : null}
    <${AsOfBlock} pages=${pages} synced=${system.synced_block} />
    <${Problem} error=${pages.error} />
    ${pages.page
      ? pages.page.items.length
        ? html`<ul class="list">${pages.page.items.map((document) => html`<${DocumentItem} key=${document.hash} document=${document} />`)}</ul>`
        : html`<p class="empty">${t('documents.empty')}</p>`
      : html`<p class="note">${t('common.loading')}</p>`}
    <${Pager} pages=${pages} />
  </section>`;
}
