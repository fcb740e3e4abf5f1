// What every browser scenario shares: the system's Chromium launched headless with a fresh
// profile, pages that fail the scenario on a script error or a Content-Security-Policy
// violation, screenshots, and bounded waits.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const desktop = process.env.MONO_DESKTOP_URL;
export const accounts = JSON.parse(process.env.MONO_DESKTOP_ACCOUNTS || '[]');
const screenshots = process.env.MONO_DESKTOP_SCREENSHOTS;
// Longest one step may wait: a block synced, a page shown.
export const STEP = 60_000;
// Longest a wait for the chain (a push, then the follower storing its block) may take.
export const CHAIN = 120_000;

if (!desktop || !screenshots) throw new Error('MONO_DESKTOP_URL and MONO_DESKTOP_SCREENSHOTS are required');

const problems = [];
const opened = new Map();
const launched = [];

/** Chromium with a throw-away profile, closed and removed when the scenario ends. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'mono-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.MONO_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout: STEP,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 860 },
    locale: 'ru-RU',
  });
  browser.setDefaultTimeout(STEP);
  launched.push(async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return browser;
}

async function closeAll() {
  for (const close of launched) await close().catch(() => {});
}

/** A page of `context` whose script errors and CSP violations fail the scenario. */
export async function page(context, name) {
  const created = await context.newPage();
  created.on('pageerror', (error) => problems.push(`${name}: ${error.message}`));
  created.on('console', (message) => {
    if (message.type() !== 'error' || /Failed to load resource/.test(message.text())) return;
    problems.push(`${name}: ${message.text()} (${message.location().url})`);
  });
  opened.set(name, created);
  return created;
}

/** Fails when a page reported a script error or a policy violation. */
export function checkProblems() {
  if (problems.length) throw new Error(`the pages reported:\n${problems.join('\n')}`);
}

export async function screenshot(shown, name) {
  await shown.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/** Runs `body`, failing the process if it throws or runs past `deadline` ms. */
export function run(body, deadline) {
  const timer = setTimeout(() => {
    console.error(`the scenario ran past ${deadline} ms`);
    process.exit(1);
  }, deadline);
  body()
    .then(async () => {
      checkProblems();
      await closeAll();
      clearTimeout(timer);
    })
    .catch(async (error) => {
      console.error(error, problems);
      // What each page showed when the scenario failed.
      for (const [name, shown] of opened) {
        await screenshot(shown, `failed-${name}`).catch(() => {});
      }
      await closeAll();
      process.exit(1);
    });
}

/** The demo key of the account with `role`. */
export function accountOf(role) {
  const found = accounts.find((account) => account.role === role);
  if (!found) throw new Error(`no ${role} account among ${accounts.map((a) => a.username)}`);
  return found;
}

/** Signs `account` in on a fresh page of its own browser context through the backup form. */
export async function signIn(context, account, name) {
  const signedIn = await page(context, name);
  await signedIn.goto(`${desktop}#/signin`);
  await signedIn.getByLabel('Имя аккаунта').fill(account.username);
  await signedIn.getByLabel('Резервная копия ключа (PVT_K1_…)').fill(account.private_key);
  await signedIn.getByLabel('Пароль для ключа').fill('council passphrase');
  await signedIn.getByRole('button', { name: 'Войти' }).click();
  await signedIn.getByRole('heading', { name: `Здравствуйте, ${account.username}` }).waitFor();
  return signedIn;
}

export const PASSPHRASE = 'correct horse battery';

/**
 * Goes through the sign-up wizard on `shown` (at its first step) as a newcomer of `kind` (the
 * label of its choice) with `fields` ([label, value] pairs of the personal data form), up to
 * the payment: with `mistyped` ([label, wrong value, the reason shown]) that field is entered
 * wrong first and corrected once refused, with `bank` ([label, value] pairs of its bank
 * account) for an entrepreneur or an organization, through `branch` when the cooperative has
 * branches. Screenshots of each step are named `${shots}-…` when `shots` is given.
 * Returns the new account's name.
 */
export async function fillSignUp(shown, { email, kind, fields, mistyped, bank, branch, shots }) {
  const shot = (name) => (shots ? screenshot(shown, `${shots}-${name}`) : null);
  await shown.getByLabel('Электронная почта').fill(email);
  await shown.getByRole('button', { name: 'Далее' }).click();
  await shown.getByRole('radio', { name: new RegExp(`^${kind}`) }).check();
  for (const [label, value] of fields) {
    const field = shown.getByLabel(label, { exact: true });
    if ((await field.evaluate((element) => element.tagName)) === 'SELECT') await field.selectOption({ label: value });
    else await field.fill(label === mistyped?.[0] ? mistyped[1] : value);
  }
  await shot('person');
  await shown.getByRole('button', { name: 'Далее' }).click();

  const pad = shown.getByRole('img', { name: 'Поле для подписи' });
  const box = await pad.boundingBox();
  await shown.mouse.move(box.x + 40, box.y + 120);
  await shown.mouse.down();
  for (let step = 0; step <= 24; step++) {
    await shown.mouse.move(box.x + 40 + step * 14, box.y + 100 + Math.sin(step / 2) * 40);
  }
  await shown.mouse.up();
  await shown.getByText('Подпись готова.').waitFor();
  await shot('signature');
  await shown.getByRole('button', { name: 'Далее' }).click();

  const chooseKey = async () => {
    const backup = await shown.getByLabel('Резервная копия ключа').inputValue();
    if (!/^PVT_K1_\w{40,}$/.test(backup)) throw new Error(`the backup is not a key: ${backup}`);
    await shown.getByLabel('Я сохранил(а) резервную копию ключа').check();
    await shown.getByLabel('Пароль для ключа').fill(PASSPHRASE);
    await shown.getByLabel('Пароль ещё раз').fill(PASSPHRASE);
  };
  await chooseKey();
  await shot('key');
  await shown.getByRole('button', { name: 'Создать аккаунт' }).click();
  if (mistyped) {
    // The API refuses the mistyped value; the data step says why next to the field, and the
    // signature drawn is kept.
    const [label, , reason] = mistyped;
    await shown.getByText(reason, { exact: false }).waitFor({ timeout: CHAIN });
    await shot('refused');
    await shown.getByLabel(label, { exact: true }).fill(fields.find(([name]) => name === label)[1]);
    await shown.getByRole('button', { name: 'Далее' }).click();
    await shown.getByText('Подпись готова.').waitFor();
    await shown.getByRole('button', { name: 'Далее' }).click();
    await chooseKey();
    await shown.getByRole('button', { name: 'Создать аккаунт' }).click();
  }

  if (bank) {
    await shown.getByRole('heading', { name: 'Банковский счёт' }).waitFor({ timeout: CHAIN });
    for (const [label, value] of bank) await shown.getByLabel(label, { exact: true }).fill(value);
    await shot('bank');
    await shown.getByRole('button', { name: 'Далее' }).click();
  }
  await shown.getByRole('heading', { name: 'Соглашения' }).waitFor({ timeout: CHAIN });
  const username = (await shown.getByText(/^Ваш аккаунт:/).textContent()).replace(/^Ваш аккаунт:\s*/, '').trim();
  await shown.getByLabel('Я прочитал(а) все четыре соглашения и согласен(на) с ними').check();
  await shot('agreements');
  await shown.getByRole('button', { name: 'Подписать соглашения' }).click();

  if (branch) await shown.getByLabel('Участок кооператива').selectOption(branch);
  await shown.getByTitle('Заявление о вступлении в кооператив').waitFor();
  await shot('application');
  await shown.getByRole('button', { name: 'Подписать и подать заявление' }).click();
  await shown.getByRole('heading', { name: 'Оплата взносов' }).waitFor({ timeout: CHAIN });
  return username;
}
