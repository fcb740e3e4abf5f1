// The first screen: what the cooperative is and how to join for a visitor; where the account
// stands and what to do next for a member or the council.

import { html, useEffect, useState } from '../ui.js';
import { ACCOUNT, AGENDA, request } from '../api.js';
import { isChairman, isCouncil } from '../session.js';
import { t } from '../i18n.js';

export function Home({ system, user }) {
  const [found, setFound] = useState(null);
  const [voting, setVoting] = useState(null);

  useEffect(() => {
    if (!user) return;
    request(ACCOUNT, { u: user.username }).then((data) => setFound(data.getAccount)).catch(() => {});
    if (isCouncil()) {
      request(AGENDA, { f: { stage: 'voting' } })
        .then((data) => setVoting(data.getAgenda.items.length))
        .catch(() => {});
    }
  }, [user]);

  if (!user) {
    return html`<section class="hero" aria-labelledby="home-title">
      <h1 id="home-title">${t('home.title', { coopname: system.coopname })}</h1>
      <p class="lead">${t('home.lead')}</p>
      <div class="actions">
        <a class="button primary" href="#/signup">${t('home.join')}</a>
        <a class="button secondary" href="#/signin">${t('home.signin')}</a>
      </div>
      <ul class="promises">
        <li><strong>${t('home.keys.title')}</strong><span>${t('home.keys.text')}</span></li>
        <li><strong>${t('home.documents.title')}</strong><span>${t('home.documents.text')}</span></li>
        <li><strong>${t('home.council.title')}</strong><span>${t('home.council.text')}</span></li>
      </ul>
    </section>`;
  }

  const lifecycle = found?.account.lifecycle;
  const joining = lifecycle && ['USER', 'CANDIDATE', 'PAID'].includes(lifecycle);
  return html`<section class="panel" aria-labelledby="home-title">
    <h1 id="home-title">${t('home.hello', { username: user.username })}</h1>
    <dl class="facts">
      <dt>${t('home.role')}</dt><dd>${t(`role.${user.role}`)}</dd>
      <dt>${t('home.lifecycle')}</dt><dd>${lifecycle ? t(`lifecycle.${lifecycle}`) : '—'}</dd>
    </dl>
    <div class="cards">
      ${joining ? html`<a class="card" href="#/signup"><strong>${t('home.continue')}</strong><span>${t('home.continueText')}</span></a>` : null}
      <a class="card" href="#/profile"><strong>${t('nav.profile')}</strong><span>${t('home.profileText')}</span></a>
      <a class="card" href="#/documents"><strong>${t('nav.documents')}</strong><span>${t('home.documentsText')}</span></a>
      ${isCouncil()
        ? html`<a class="card" href="#/agenda"><strong>${t('nav.agenda')}</strong>
              <span>${voting == null ? t('home.agendaText') : t('home.voting', { n: voting })}</span></a>
            <a class="card" href="#/members"><strong>${t('nav.members')}</strong><span>${t('home.membersText')}</span></a>
            <a class="card" href="#/payments"><strong>${t('nav.payments')}</strong><span>${t('home.paymentsText')}</span></a>`
        : null}
      ${isChairman()
        ? html`<a class="card" href="#/settings"><strong>${t('nav.settings')}</strong><span>${t('home.settingsText')}</span></a>`
        : null}
    </div>
  </section>`;
}
