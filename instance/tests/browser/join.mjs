// A newcomer joins through the desktop to the end while the council works in its own browsers:
// sign-up (personal data, a drawn signature, a key made and sealed in the browser, agreements
// and the application signed there), the chairman confirms the payment, a council member sees
// the application arrive on the agenda without a reload and votes, the chairman votes, signs,
// authorizes and executes the decision; the new member reads its documents and is refused
// the council's agenda.

import {
  CHAIN, STEP, accountOf, desktop, launch, page, run, screenshot, signIn,
} from './browser.mjs';

const PASSPHRASE = 'correct horse battery';

async function signUp(context) {
  const applicant = await page(context, 'applicant');
  await applicant.goto(desktop);
  await applicant.getByRole('heading', { name: /Потребительский кооператив/ }).waitFor();
  await screenshot(applicant, 'home');
  await applicant.getByRole('link', { name: 'Вступить в кооператив' }).click();

  await applicant.getByLabel('Электронная почта').fill('anna@example.ru');
  await applicant.getByRole('button', { name: 'Далее' }).click();
  for (const [label, value] of [
    ['Фамилия', 'Петрова'], ['Имя', 'Анна'], ['Отчество', 'Сергеевна'], ['Дата рождения', '1990-04-12'],
    ['Телефон', '+79161234567'], ['Адрес регистрации', '123456, г. Москва, ул. Садовая, д. 5'],
  ]) {
    await applicant.getByLabel(label, { exact: true }).fill(value);
  }
  await screenshot(applicant, 'signup-person');
  await applicant.getByRole('button', { name: 'Далее' }).click();

  const pad = applicant.getByRole('img', { name: 'Поле для подписи' });
  const box = await pad.boundingBox();
  await applicant.mouse.move(box.x + 40, box.y + 120);
  await applicant.mouse.down();
  for (let step = 0; step <= 24; step++) {
    await applicant.mouse.move(box.x + 40 + step * 14, box.y + 100 + Math.sin(step / 2) * 40);
  }
  await applicant.mouse.up();
  await applicant.getByText('Подпись готова.').waitFor();
  await screenshot(applicant, 'signup-signature');
  await applicant.getByRole('button', { name: 'Далее' }).click();

  const backup = await applicant.getByLabel('Резервная копия ключа').inputValue();
  if (!/^PVT_K1_\w{40,}$/.test(backup)) throw new Error(`the backup is not a key: ${backup}`);
  await applicant.getByLabel('Я сохранил(а) резервную копию ключа').check();
  await applicant.getByLabel('Пароль для ключа').fill(PASSPHRASE);
  await applicant.getByLabel('Пароль ещё раз').fill(PASSPHRASE);
  await screenshot(applicant, 'signup-key');
  await applicant.getByRole('button', { name: 'Создать аккаунт' }).click();

  await applicant.getByRole('heading', { name: 'Соглашения' }).waitFor({ timeout: CHAIN });
  const username = (await applicant.getByText(/^Ваш аккаунт:/).textContent()).replace(/^Ваш аккаунт:\s*/, '').trim();
  await applicant.getByLabel('Я прочитал(а) все четыре соглашения и согласен(на) с ними').check();
  await screenshot(applicant, 'signup-agreements');
  await applicant.getByRole('button', { name: 'Подписать соглашения' }).click();

  await applicant.getByTitle('Заявление о вступлении в кооператив').waitFor();
  await screenshot(applicant, 'signup-application');
  await applicant.getByRole('button', { name: 'Подписать и подать заявление' }).click();
  await applicant.getByRole('heading', { name: 'Оплата взносов' }).waitFor({ timeout: CHAIN });
  await applicant.getByText('ожидает оплаты').waitFor({ timeout: CHAIN });
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
