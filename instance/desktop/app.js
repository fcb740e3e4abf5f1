// The desktop's shell: loads the cooperative's configuration from the API, keeps the session,
// and shows one screen per address (`#/agenda`, …) with the navigation the role allows.

import { html, navigate, render, useEffect, useState } from './ui.js';
import { live, request, SYSTEM_INFO } from './api.js';
import { isChairman, isCouncil, logout, onSession, session } from './session.js';
import { t } from './i18n.js';
import { Home } from './screens/home.js';
import { SignIn } from './screens/signin.js';
import { SignUp } from './screens/signup.js';
import { Documents } from './screens/documents.js';
import { Agenda } from './screens/agenda.js';
import { Members } from './screens/members.js';
import { Payments } from './screens/payments.js';
import { Profile } from './screens/profile.js';
import { Branches } from './screens/branches.js';
import { Reset } from './screens/reset.js';
import { Settings } from './screens/settings.js';

const SCREENS = {
  '': { screen: Home, title: 'nav.home' },
  signin: { screen: SignIn, title: 'nav.signin' },
  signup: { screen: SignUp, title: 'nav.signup' },
  reset: { screen: Reset, title: 'nav.reset' },
  profile: { screen: Profile, title: 'nav.profile', account: true },
  documents: { screen: Documents, title: 'nav.documents', account: true },
  agenda: { screen: Agenda, title: 'nav.agenda', council: true },
  members: { screen: Members, title: 'nav.members', council: true },
  payments: { screen: Payments, title: 'nav.payments', council: true },
  branches: { screen: Branches, title: 'nav.branches', council: true },
  settings: { screen: Settings, title: 'nav.settings', chairman: true },
};

function route() {
  return location.hash.replace(/^#\/?/, '').split('?')[0];
}

function Navigation({ current, user }) {
  const links = [['', 'nav.home']];
  if (user) links.push(['profile', 'nav.profile'], ['documents', 'nav.documents']);
  if (isCouncil()) links.push(['agenda', 'nav.agenda'], ['members', 'nav.members'], ['payments', 'nav.payments'], ['branches', 'nav.branches']);
  if (isChairman()) links.push(['settings', 'nav.settings']);
  return html`<nav aria-label=${t('nav.label')}>
    <ul>
      ${links.map(([path, label]) => html`<li>
        <a href=${`#/${path}`} aria-current=${current === path ? 'page' : undefined}>${t(label)}</a>
      </li>`)}
    </ul>
  </nav>`;
}

function Refused({ whose }) {
  return html`<section class="panel narrow" aria-labelledby="refused">
    <h1 id="refused">${t(`refused.${whose}.title`)}</h1>
    <p role="alert">${t(`refused.${whose}.text`)}</p>
    <p><a class="button secondary" href="#/">${t('refused.home')}</a></p>
  </section>`;
}

function App() {
  const [path, setPath] = useState(route());
  const [user, setUser] = useState(session());
  const [system, setSystem] = useState(null);
  const [failure, setFailure] = useState(null);

  useEffect(() => {
    const changed = () => setPath(route());
    window.addEventListener('hashchange', changed);
    const stop = onSession(setUser);
    const load = () =>
      request(SYSTEM_INFO)
        .then((data) => setSystem(data.getSystemInfo))
        .catch(setFailure);
    load();
    return () => {
      window.removeEventListener('hashchange', changed);
      stop();
    };
  }, []);

  // The synced block moves on and the sliders over history reach up to it; the follower's
  // progress is for registered accounts, so it is followed once someone is logged in.
  useEffect(() => {
    if (!user) return undefined;
    return live(
      ['followerProgress'],
      (_, progress) => setSystem((known) => known && { ...known, synced_block: progress.block_num }),
      () => request(SYSTEM_INFO).then((data) => setSystem(data.getSystemInfo)).catch(() => {}),
    );
  }, [user]);

  const entry = SCREENS[path] || SCREENS[''];
  useEffect(() => {
    document.title = system ? `${t(entry.title)} · ${t('app.name', { coopname: system.coopname })}` : t('app.loading');
    document.getElementById('main')?.focus();
  }, [path, system]);

  let content;
  if (failure) content = html`<p class="problem" role="alert">${t('app.unavailable')}</p>`;
  else if (!system) content = html`<p class="boot">${t('app.loading')}</p>`;
  else if ((entry.account || entry.council || entry.chairman) && !user) content = html`<${SignIn} system=${system} then=${path} />`;
  else if (entry.council && !isCouncil()) content = html`<${Refused} whose="council" />`;
  else if (entry.chairman && !isChairman()) content = html`<${Refused} whose="chairman" />`;
  else content = html`<${entry.screen} system=${system} user=${user} />`;

  return html`
    <a class="skip" href="#main">${t('app.skip')}</a>
    <header class="top">
      <a class="brand" href="#/">
        <img src="/desktop/icon.svg" alt="" width="32" height="32" />
        <span>${system ? t('app.name', { coopname: system.coopname }) : t('app.title')}</span>
      </a>
      <${Navigation} current=${path} user=${user} />
      <div class="who">
        ${user
          ? html`<span class="account">${user.username} · ${t(`role.${user.role}`)}</span>
              <button type="button" class="link" onClick=${() => logout().then(() => navigate(''))}>${t('nav.logout')}</button>`
          : html`<a href="#/signin">${t('nav.signin')}</a>`}
      </div>
    </header>
    <main id="main" tabindex="-1">${content}</main>
    <footer class="bottom">
      ${system ? t('app.footer', { version: system.version, block: system.synced_block }) : null}
    </footer>`;
}

const root = document.getElementById('app');
// The loading note is not Preact's to diff.
root.textContent = '';
render(html`<${App} />`, root);
