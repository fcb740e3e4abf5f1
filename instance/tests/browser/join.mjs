// A newcomer joins through the desktop to the end while the council works in its own browsers:
// sign-up (personal data, a drawn signature, a key made and sealed in the browser, agreements
// and the application signed there), the chairman confirms the payment, a council member sees
// the application arrive on the agenda without a reload and votes, the chairman votes, signs,
// authorizes and executes the decision; the new member reads its documents and is refused
// the council's agenda.

import {
  CHAIN, STEP, accountOf, desktop, fillSignUp, launch, page, run, screenshot, signIn,
} from './browser.mjs';

async function signUp(context) {
  const applicant = await page(context, 'applicant');
  await applicant.goto(desktop);
  await applicant.getByRole('heading', { name: /Потребительский кооператив/ }).waitFor();
  await screenshot(applicant, 'home');
  await applicant.getByRole('link', { name: 'Вступить в кооператив' }).click();
  const username = await fillSignUp(applicant, {
    email: 'anna@example.ru',
    kind: 'физическое лицо',
    fields: [
      ['Фамилия', 'Петрова'], ['Имя', 'Анна'], ['Отчество', 'Сергеевна'], ['Дата рождения', '1990-04-12'],
      ['Телефон', '+79161234567'], ['Адрес регистрации', '123456, г. Москва, ул. Садовая, д. 5'],
    ],
    shots: 'signup',
  });
  await applicant.getByText('ожидает оплаты').waitFor({ timeout: CHAIN });
  // The demo enables qrpay: the fees are paid by the QR code of the cooperative's account.
  await applicant.getByRole('img', { name: /^QR-код для оплаты/ }).waitFor();
  await applicant.getByText(/пайщик \w+, платёж [0-9a-f]{16}/).waitFor();
  await screenshot(applicant, 'signup-payment');
  return { applicant, username };
}

run(async () => {
  const newcomer = await launch();
  const council = await launch();
  const chairmanBrowser = await launch();
  const { applicant, username } = await signUp(newcomer);

  // A council member keeps the agenda open; the application arrives there by subscription.
  const member = await signIn(council, accountOf('council'), 'council');
  await member.getByRole('navigation').getByRole('link', { name: 'Повестка совета' }).click();
  await member.getByRole('heading', { name: 'Повестка совета' }).waitFor();
  await member.evaluate(() => {
    window.notReloaded = true;
  });

  const chairman = await signIn(chairmanBrowser, accountOf('chairman'), 'chairman');
  await chairman.getByRole('navigation').getByRole('link', { name: 'Платежи' }).click();
  const row = chairman.getByRole('row').filter({ hasText: username });
  const confirm = row.getByRole('button', { name: 'Подтвердить оплату' });
  await confirm.waitFor({ timeout: CHAIN });
  await row.getByRole('cell', { name: 'взносы при вступлении' }).waitFor();
  await screenshot(chairman, 'council-payments');
  await confirm.click();
  await row.getByText('оплачен').waitFor({ timeout: CHAIN });

  const item = member.getByRole('listitem', { name: `Приём в пайщики: ${username}` });
  await item.waitFor({ timeout: CHAIN });
  if (!(await member.evaluate(() => window.notReloaded === true))) throw new Error('the agenda page was reloaded');
  await applicant.getByRole('heading', { name: 'Заявление у совета' }).waitFor({ timeout: CHAIN });

  await item.getByRole('button', { name: 'Документы заявителя' }).click();
  await item.getByRole('button', { name: 'Заявление о вступлении в кооператив' }).click();
  await item.getByTitle('Заявление о вступлении в кооператив').contentFrame()
    .getByText('Петрова Анна Сергеевна', { exact: false }).first().waitFor();
  await screenshot(member, 'council-agenda');
  await item.getByRole('button', { name: 'Голосовать за' }).click();
  await item.getByText('Ваш голос учтён.').waitFor({ timeout: CHAIN });

  await chairman.getByRole('navigation').getByRole('link', { name: 'Повестка совета' }).click();
  const decision = chairman.getByRole('listitem', { name: `Приём в пайщики: ${username}` });
  await decision.getByRole('button', { name: 'Голосовать за' }).click();
  await decision.getByRole('button', { name: 'Подготовить решение' }).click({ timeout: CHAIN });
  await decision.getByTitle('Решение совета о приёме в пайщики').contentFrame()
    .getByText('Протокол', { exact: false }).first().waitFor();
  await screenshot(chairman, 'council-decision');
  await decision.getByRole('button', { name: 'Подписать и утвердить решение' }).click();
  await decision.getByRole('button', { name: 'Исполнить решение' }).click({ timeout: CHAIN });
  await decision.getByText('исполнено').waitFor({ timeout: CHAIN });

  await applicant.getByRole('heading', { name: 'Добро пожаловать в кооператив!' }).waitFor({ timeout: CHAIN });
  await screenshot(applicant, 'signup-welcome');
  await applicant.getByRole('button', { name: 'Мои документы' }).click();
  await applicant.getByRole('heading', { name: 'Мои документы' }).waitFor();
  const application = applicant.getByRole('listitem').filter({ hasText: 'Заявление о вступлении в кооператив' });
  await application.getByText('принят').waitFor({ timeout: CHAIN });
  await application.getByText('подписи проверены в браузере: 1 из 1').waitFor();
  await application.getByRole('button', { name: 'Открыть' }).click();
  // The document's own HTML reaches its sandboxed frame.
  await application.getByTitle('Заявление о вступлении в кооператив').contentFrame()
    .getByText('Заявление физического лица о приёме в пайщики').waitFor();
  await screenshot(applicant, 'member-documents');

  // A plain member is refused the council's screens.
  await applicant.goto(`${desktop}#/agenda`);
  await applicant.getByRole('heading', { name: 'Раздел только для совета' }).waitFor();
  await screenshot(applicant, 'member-refused');

  await member.getByRole('navigation').getByRole('link', { name: 'Пайщики' }).click();
  await member.getByRole('row').filter({ hasText: username }).waitFor();
  await screenshot(member, 'council-members');

  // The same screens on a phone.
  await applicant.setViewportSize({ width: 390, height: 844 });
  await applicant.goto(`${desktop}#/documents`);
  await applicant.getByRole('button', { name: 'Скачать PDF' }).first().waitFor();
  await screenshot(applicant, 'phone-documents');
}, 9 * 60_000 - STEP);
