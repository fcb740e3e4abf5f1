// The council's registry of accounts, page by page, filtered by type and shareholder status,
// as of now or of any past block.

import { AsOfBlock, Pager, Problem, html, useEffect, usePages, useState, when } from '../ui.js';
import { ACCOUNTS, live, request } from '../api.js';
import { t } from '../i18n.js';

export function Members({ system }) {
  const [kind, setKind] = useState('');
  const [status, setStatus] = useState('');
  const pages = usePages(
    (page, block) => request(ACCOUNTS, {
      f: { kind: kind || undefined, participant_status: status || undefined },
      p: page,
      b: block,
    }).then((data) => data.getAccounts),
    [kind, status],
  );
  useEffect(() => live(['memberChanged'], () => pages.reload(), () => pages.reload()), []);

  return html`<section class="panel" aria-labelledby="members-title">
    <h1 id="members-title">${t('members.title')}</h1>
    <div class="filters">
      <label for="members-kind">${t('members.kind')}</label>
      <select id="members-kind" value=${kind} onChange=${(event) => setKind(event.currentTarget.value)}>
        <option value="">${t('common.any')}</option>
        ${['individual', 'entrepreneur', 'organization'].map((value) => html`<option value=${value}>${t(`kind.${value}`)}</option>`)}
      </select>
      <label for="members-status">${t('members.status')}</label>
      <select id="members-status" value=${status} onChange=${(event) => setStatus(event.currentTarget.value)}>
        <option value="">${t('common.any')}</option>
        <option value="accepted">${t('members.accepted')}</option>
        <option value="blocked">${t('members.blocked')}</option>
      </select>
    </div>
    <${AsOfBlock} pages=${pages} synced=${system.synced_block} />
    <${Problem} error=${pages.error} />
    ${pages.page
      ? html`<div class="table-wrap"><table>
          <caption class="note">${t('common.asOf', { block: pages.page.block_num })}</caption>
          <thead><tr>
            <th scope="col">${t('members.username')}</th><th scope="col">${t('members.kind')}</th>
            <th scope="col">${t('members.lifecycle')}</th><th scope="col">${t('members.registered')}</th>
          </tr></thead>
          <tbody>
            ${pages.page.items.map((account) => html`<tr>
              <th scope="row">${account.username}</th>
              <td>${account.kind ? t(`kind.${account.kind}`) : '—'}</td>
              <td>${t(`lifecycle.${account.lifecycle}`)}</td>
              <td class="date">${when(account.registered_at)}</td>
            </tr>`)}
          </tbody>
        </table></div>
        ${pages.page.items.length ? null : html`<p class="empty">${t('members.empty')}</p>`}`
      : html`<p class="note">${t('common.loading')}</p>`}
    <${Pager} pages=${pages} />
  </section>`;
}
