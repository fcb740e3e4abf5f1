// The council's agenda: each decision with the applicant's documents and the votes; a council
// member votes for or against, signed here; the chairman signs the decision document (501),
// authorizes it and executes it. The list follows the chain live (decisionChanged,
// memberChanged) and re-reads itself after a reconnect or when the tab is shown again.

import { Action, Chip, DocumentFrame, Pager, Problem, html, useEffect, usePages, useState, when } from '../ui.js';
import {
  AGENDA, AUTHORIZE_DECISION, DOCUMENTS, EXEC_DECISION, GENERATE_DECISION, VOTE_AGAINST, VOTE_FOR,
  live, request,
} from '../api.js';
import { session } from '../session.js';
import { signDocument, signVote } from '../signatures.js';
import { t } from '../i18n.js';

const TONES = { voting: 'wait', approved: 'good', authorized: 'good', executed: 'good', declined: 'bad', expired: 'bad' };

function ApplicantDocuments({ username }) {
  const [documents, setDocuments] = useState(null);
  const [open, setOpen] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    request(DOCUMENTS, { f: { username } })
      .then((data) => setDocuments(data.getDocuments.items.filter((item) => item.stored)))
      .catch(setError);
  }, [username]);
  if (error) return html`<${Problem} error=${error} />`;
  if (!documents) return html`<p class="note">${t('common.loading')}</p>`;
  return html`<ul class="documents">
    ${documents.map((document) => {
      const title = t(`document.${document.stored.registry_id}`);
      return html`<li>
        <button type="button" class="link" aria-expanded=${open === document.hash}
          onClick=${() => setOpen(open === document.hash ? null : document.hash)}>${title}</button>
        ${open === document.hash ? html`<${DocumentFrame} title=${title} source=${document.stored.html} />` : null}
      </li>`;
    })}
  </ul>`;
}

function Decision({ system, decision, changed }) {
  const me = session();
  const [error, setError] = useState(null);
  const [draft, setDraft] = useState(null);
  const [showDocuments, setShowDocuments] = useState(false);
  const voted = [...decision.votes_for, ...decision.votes_against].some((vote) => vote.username === me.username);
  const chairman = me.role === 'chairman';

  const vote = (action, mutation) => async () => {
    setError(null);
    await request(mutation, { d: signVote(me.signer, action, system.coopname, decision.id) });
    changed();
  };
  const prepare = async () => {
    setError(null);
    const data = await request(GENERATE_DECISION, { u: decision.username, i: decision.id });
    setDraft(data.generateParticipantApplicationDecision);
  };
  const authorize = async () => {
    await request(AUTHORIZE_DECISION, {
      d: { decision_id: decision.id, username: decision.username, document: signDocument(me.signer, draft.hash) },
    });
    setDraft(null);
    changed();
  };
  const execute = async () => {
    await request(EXEC_DECISION, { i: decision.id });
    changed();
  };

  const title = decision.kind === 'joincoop'
    ? t('agenda.joincoop', { username: decision.username })
    : t('agenda.other', { kind: decision.kind || '—', id: decision.id });
  return html`<li class="item decision" aria-label=${title}>
    <div class="item-head">
      <div>
        <strong>${title}</strong>
        <div class="note">${t('agenda.meta', { id: decision.id, created: when(decision.created_at), expires: when(decision.expired_at) })}</div>
      </div>
      <${Chip} tone=${TONES[decision.stage]}>${t(`stage.${decision.stage}`)}<//>
    </div>
    <div class="votes">
      <span>${t('agenda.for', { n: decision.votes_for.length })}${decision.votes_for.length ? `: ${decision.votes_for.map((v) => v.username).join(', ')}` : ''}</span>
      <span>${t('agenda.against', { n: decision.votes_against.length })}${decision.votes_against.length ? `: ${decision.votes_against.map((v) => v.username).join(', ')}` : ''}</span>
    </div>
    ${decision.username
      ? html`<button type="button" class="link" aria-expanded=${showDocuments} onClick=${() => setShowDocuments(!showDocuments)}>
          ${showDocuments ? t('agenda.hideDocuments') : t('agenda.showDocuments')}
        </button>
        ${showDocuments ? html`<${ApplicantDocuments} username=${decision.username} />` : null}`
      : null}
    <${Problem} error=${error} />
    <div class="actions">
      ${decision.stage === 'voting' && !voted
        ? html`<${Action} label=${t('agenda.voteFor')} action=${vote('votefor', VOTE_FOR)} onError=${setError} />
            <${Action} label=${t('agenda.voteAgainst')} kind="danger" action=${vote('voteagainst', VOTE_AGAINST)} onError=${setError} />`
        : null}
      ${decision.stage === 'voting' && voted ? html`<span class="note">${t('agenda.voted')}</span>` : null}
      ${chairman && decision.stage === 'approved' && decision.kind === 'joincoop' && !draft
        ? html`<${Action} label=${t('agenda.prepare')} action=${prepare} onError=${setError} />`
        : null}
      ${chairman && decision.stage === 'authorized'
        ? html`<${Action} label=${t('agenda.execute')} action=${execute} onError=${setError} />`
        : null}
    </div>
    ${draft
      ? html`<div class="draft">
          <h3>${t('document.501')}</h3>
          <${DocumentFrame} title=${t('document.501')} source=${draft.html} />
          <div class="actions">
            <${Action} label=${t('agenda.authorize')} action=${authorize} onError=${setError} />
            <button type="button" class="secondary" onClick=${() => setDraft(null)}>${t('common.cancel')}</button>
          </div>
        </div>`
      : null}
  </li>`;
}

export function Agenda({ system }) {
  const [stage, setStage] = useState('');
  const pages = usePages(
    (page, block) => request(AGENDA, { f: stage ? { stage } : null, p: page, b: block }).then((data) => data.getAgenda),
    [stage],
  );
  const [updated, setUpdated] = useState(null);
  useEffect(
    () => live(['decisionChanged', 'memberChanged'], (_, change) => {
      setUpdated(change.block_num);
      pages.reload();
    }, () => pages.reload()),
    [],
  );

  return html`<section class="panel" aria-labelledby="agenda-title">
    <div class="title-row">
      <h1 id="agenda-title">${t('agenda.title')}</h1>
      <span class="live" aria-live="polite">${updated ? t('agenda.updated', { block: updated }) : t('agenda.live')}</span>
    </div>
    <div class="filters">
      <label for="agenda-stage">${t('agenda.stage')}</label>
      <select id="agenda-stage" value=${stage} onChange=${(event) => setStage(event.currentTarget.value)}>
        <option value="">${t('agenda.all')}</option>
        ${['voting', 'approved', 'authorized', 'executed', 'declined', 'expired'].map(
          (value) => html`<option value=${value}>${t(`stage.${value}`)}</option>`,
        )}
      </select>
    </div>
    <${Problem} error=${pages.error} />
    ${pages.page
      ? pages.page.items.length
        ? html`<ul class="list">${pages.page.items.map((decision) => html`<${Decision} key=${`${decision.id}:${decision.stage}`}
            system=${system} decision=${decision} changed=${pages.reload} />`)}</ul>`
        : html`<p class="empty">${t('agenda.empty')}</p>`
      : html`<p class="note">${t('common.loading')}</p>`}
    <${Pager} pages=${pages} />
  </section>`;
}
