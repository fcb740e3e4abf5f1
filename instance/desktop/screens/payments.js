// The council's registry of incoming payments, page by page, by status, as of now or of any
// past block; the chairman confirms a pending payment that arrived, or declines it.

import { Action, AsOfBlock, Chip, Pager, Problem, html, money, useEffect, usePages, useState, when } from '../ui.js';
import { PAYMENTS, SET_PAYMENT_STATUS, live, request } from '../api.js';
import { session } from '../session.js';
import { t } from '../i18n.js';

const TONES = { pending: 'wait', authorized: 'wait', completed: 'good', declined: 'bad' };

export function Payments({ system }) {
  const [status, setStatus] = useState('');
  const [error, setError] = useState(null);
  const pages = usePages(
    (page, block) => request(PAYMENTS, { f: { status: status || undefined }, p: page, b: block }).then((data) => data.getPayments),
    [status],
  );
  useEffect(() => live(['paymentChanged'], () => pages.reload(), () => pages.reload()), []);
  const chairman = session().role === 'chairman';
  const settle = (hash, outcome) => async () => {
    setError(null);
    await request(SET_PAYMENT_STATUS, { d: { hash, status: outcome } });
    pages.reload();
  };

  return html`<section class="panel" aria-labelledby="payments-title">
    <h1 id="payments-title">${t('payments.title')}</h1>
    <div class="filters">
      <label for="payments-status">${t('payment.status')}</label>
      <select id="payments-status" value=${status} onChange=${(event) => setStatus(event.currentTarget.value)}>
        <option value="">${t('common.any')}</option>
        ${['pending', 'completed', 'declined'].map((value) => html`<option value=${value}>${t(`payment.status.${value}`)}</option>`)}
      </select>
    </div>
    <${AsOfBlock} pages=${pages} synced=${system.synced_block} />
    <${Problem} error=${pages.error || error} />
    ${pages.page
      ? html`<div class="table-wrap"><table>
          <caption class="note">${t('common.asOf', { block: pages.page.block_num })}</caption>
          <thead><tr>
            <th scope="col">${t('payments.username')}</th><th scope="col">${t('payment.purpose')}</th>
            <th scope="col" class="number">${t('payment.amount')}</th><th scope="col">${t('payment.status')}</th>
            <th scope="col">${t('payments.created')}</th><th scope="col"><span class="visually-hidden">${t('payments.actions')}</span></th>
          </tr></thead>
          <tbody>
            ${pages.page.items.map((payment) => html`<tr>
              <th scope="row">${payment.username || '—'}</th>
              <td>${payment.purpose ? t(`purpose.${payment.purpose}`) : '—'}</td>
              <td class="number">${money(payment.amount)}</td>
              <td><${Chip} tone=${TONES[payment.status]}>${t(`payment.status.${payment.status}`)}<//></td>
              <td class="date">${when(payment.created_at)}</td>
              <td class="row-actions">
                ${chairman && payment.status === 'pending' && !pages.block
                  ? html`<${Action} label=${t('payments.confirm')} action=${settle(payment.hash, 'COMPLETED')} onError=${setError} />
                      <${Action} label=${t('payments.decline')} kind="danger" action=${settle(payment.hash, 'DECLINED')} onError=${setError} />`
                  : null}
              </td>
            </tr>`)}
          </tbody>
        </table></div>
        ${pages.page.items.length ? null : html`<p class="empty">${t('payments.empty')}</p>`}`
      : html`<p class="note">${t('common.loading')}</p>`}
    <${Pager} pages=${pages} />
  </section>`;
}
