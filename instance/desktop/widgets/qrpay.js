// The `qrpay` extension's widget on payment pages: the bank transfer paying a pending payment,
// with the ST00012 QR code a banking app reads, as the API makes it. It shows only while the
// extension is enabled and declares this widget for the viewer's role, as getExtensions says.

import { html, useEffect, useState } from '../ui.js';
import { EXTENSIONS, QRPAY_INSTRUCTIONS, request } from '../api.js';
import { t } from '../i18n.js';

const EXTENSION = 'qrpay';
const WIDGET = 'payments/instructions';

/** The widget's declaration when the extension is enabled and `role` sees it. */
async function declared(role) {
  const { getExtensions: extensions } = await request(EXTENSIONS);
  const qrpay = extensions.find((extension) => extension.name === EXTENSION);
  if (!qrpay?.enabled) return null;
  return qrpay.desktop.find((item) => item.kind === 'WIDGET' && item.id === WIDGET && item.roles.includes(role)) || null;
}

function rubles(kopecks) {
  return (kopecks / 100).toLocaleString('ru-RU', { style: 'currency', currency: 'RUB' });
}

/**
 * Pending payment `hash` of `username` (`INCOME` or `DEPOSIT`), paid by QR code; `onShown`
 * learns whether the widget shows, so a page can leave out what it says already.
 */
export function QrPayment({ username, hash, role, kind = 'INCOME', onShown }) {
  const [shown, setShown] = useState(null);

  useEffect(() => {
    let current = true;
    (async () => {
      const widget = await declared(role);
      if (!widget) return null;
      const { qrpayPaymentInstructions: found } = await request(QRPAY_INSTRUCTIONS, { d: { username, kind, hash } });
      return { title: widget.title, ...found };
    })()
      // Disabled meanwhile (UNAVAILABLE) or no longer pending (CONFLICT): nothing to pay by QR.
      .catch(() => null)
      .then((found) => {
        if (!current) return;
        setShown(found);
        onShown?.(Boolean(found));
      });
    return () => {
      current = false;
    };
  }, [username, hash, role, kind]);

  if (!shown) return null;
  const id = `qrpay-${hash.slice(0, 12)}`;
  return html`<section class="qrpay" aria-labelledby=${id}>
    <h3 id=${id}>${shown.title}</h3>
    <div class="qrpay-body">
      <figure>
        <img class="qr" src=${`data:image/png;base64,${shown.png}`} width="200" height="200"
          alt=${t('qrpay.alt', { amount: rubles(shown.sum_kopecks) })} />
        <figcaption class="note">${t('qrpay.scan')}</figcaption>
      </figure>
      <dl class="facts">
        <dt>${t('payment.amount')}</dt><dd class="amount">${rubles(shown.sum_kopecks)}</dd>
        <dt>${t('qrpay.payee')}</dt><dd>${shown.name}</dd>
        <dt>${t('qrpay.inn')}</dt><dd>${shown.payee_inn}${shown.kpp ? ` / ${shown.kpp}` : ''}</dd>
        <dt>${t('qrpay.account')}</dt><dd><code>${shown.personal_acc}</code></dd>
        <dt>${t('qrpay.bank')}</dt><dd>${shown.bank_name}, ${t('qrpay.bic', { bic: shown.bic })}</dd>
        <dt>${t('qrpay.corr')}</dt><dd><code>${shown.corresp_acc}</code></dd>
        <dt>${t('payment.purpose')}</dt><dd>${shown.purpose}</dd>
      </dl>
    </div>
  </section>`;
}
