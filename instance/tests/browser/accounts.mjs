// Members look after their accounts and the chairman after the cooperative's settings: the
// chairman opens a branch and changes its trustee; an individual entrepreneur and an
// organization (its mistyped INN refused on the way) join through it up to the payment, which
// the qrpay extension shows as a QR code; a member corrects its personal data, adds, changes
// and removes a bank account, chooses the branch by a signed statement, sees its payments, and
// has a document rebuilt and its hash checked in the browser; the chairman sees the council
// and the fees, switches qrpay off (the QR code disappears), uninstalls it and installs it
// again from its form; the member, its key lost, replaces it with a code sent by e-mail, signs
// in with the new key, and the old key no longer signs in; the chairman closes the branch and
// writes the general meeting's new minimum fee and its new council on chain: a member leaves,
// a newcomer joins, invited by e-mail.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  CHAIN, PASSPHRASE, STEP, accountOf, accounts, desktop, fillSignUp, launch, page, run, screenshot, signIn,
} from './browser.mjs';

// Where the test's SMTP server leaves each message it received, as one text file.
const mailbox = process.env.MONO_DESKTOP_MAIL;
if (!mailbox) throw new Error('MONO_DESKTOP_MAIL is required');

const QR = /^QR-код для оплаты/;

async function joinAs(context, name, details) {
  const shown = await page(context, name);
  await shown.goto(`${desktop}#/signup`);
  const username = await fillSignUp(shown, details);
  await shown.getByText('ожидает оплаты').waitFor({ timeout: CHAIN });
  await shown.getByRole('img', { name: QR }).waitFor();
  return { shown, username };
}

/** Whether `response` answers the GraphQL operation `name`. */
function answers(response, name) {
  return response.url().endsWith('/v1/graphql') && (response.request().postData() || '').includes(`query ${name}`);
}

/**
 * Loads the wizard afresh (the session is gone, the key is opened again to go on) and waits
 * until the payment step has asked which extensions are on.
 */
async function resume(shown) {
  await shown.reload();
  await shown.getByLabel('Пароль ключа').fill(PASSPHRASE);
  const asked = shown.waitForResponse((response) => answers(response, 'Extensions'), { timeout: CHAIN });
  await shown.getByRole('button', { name: 'Продолжить' }).click();
  await shown.getByText('ожидает оплаты').waitFor({ timeout: CHAIN });
  await asked;
}

/**
 * The code and account name of the newest message to `email` carrying a code to set a key (a
 * key reset, an invitation to the council), once it came.
 */
async function keyMail(email) {
  const deadline = Date.now() + STEP;
  for (;;) {
    const messages = readdirSync(mailbox).filter((file) => file.endsWith('.txt')).sort();
    for (const file of messages.reverse()) {
      const text = readFileSync(join(mailbox, file), 'utf8');
      if (!text.includes(`To: ${email}`) && !text.includes(`<${email}>`)) continue;
      const token = text.split('\n').map((line) => line.trim()).find((line) => /^[A-Za-z0-9_-]{43}$/.test(line));
      const username = text.match(/(?:Для аккаунта|ваш аккаунт —) ([a-z1-5.]*[a-z1-5])/)?.[1];
      if (token && username) return { token, username };
    }
    if (Date.now() > deadline) throw new Error(`no message with a key code to ${email} in ${mailbox}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const BRANCH = 'zarechye';

async function openBranch(chairman) {
  await chairman.getByRole('navigation').getByRole('link', { name: 'Участки' }).click();
  await chairman.getByText('Участков нет').waitFor();
  await chairman.getByRole('button', { name: 'Открыть участок' }).click();
  const form = chairman.getByRole('form', { name: 'Открыть участок' });
  for (const [label, value] of [
    ['Аккаунт участка', BRANCH], ['Доверенное лицо', accountOf('council').username],
    ['Краткое наименование', 'Участок «Заречье»'], ['Полное наименование', 'Кооперативный участок «Заречье»'],
    ['ИНН', '7707083893'], ['ОГРН', '1027700132195'], ['КПП', '773601001'],
    ['Фамилия руководителя', 'Лебедев'], ['Имя руководителя', 'Игорь'], ['Отчество руководителя', 'Павлович'],
    ['Должность руководителя', 'Председатель участка'], ['Телефон', '+74951112233'], ['Город', 'Коломна'],
    ['Адрес регистрации', '140400, Московская обл., г. Коломна, ул. Октябрьской Революции, д. 1'],
    ['Фактический адрес', '140400, Московская обл., г. Коломна, ул. Октябрьской Революции, д. 1'],
    ['Электронная почта', 'zarechye@voskhod.coop'],
  ]) {
    await form.getByLabel(label, { exact: true }).fill(value);
  }
  await form.getByLabel('Организационно-правовая форма').selectOption({ label: 'Потребительский кооператив' });
  await form.getByRole('button', { name: 'Открыть участок' }).click();
  const branch = chairman.getByRole('listitem', { name: BRANCH });
  await branch.getByText(`Доверенное лицо: ${accountOf('council').username}`).waitFor({ timeout: CHAIN });
  const other = accounts.filter((account) => account.role === 'council')[1].username;
  await branch.getByRole('button', { name: 'Сменить доверенное лицо' }).click();
  await branch.getByLabel('Доверенное лицо').fill(other);
  await branch.getByRole('button', { name: 'Сохранить' }).click();
  await branch.getByText(`Доверенное лицо: ${other}`).waitFor({ timeout: CHAIN });
  await screenshot(chairman, 'council-branches');
}

run(async () => {
  const chairmanBrowser = await launch();
  const chairman = await signIn(chairmanBrowser, accountOf('chairman'), 'chairman');
  await openBranch(chairman);

  const entrepreneurBrowser = await launch();
  const entrepreneur = await joinAs(entrepreneurBrowser, 'entrepreneur', {
    email: 'sokolov@example.ru',
    kind: 'индивидуальный предприниматель',
    fields: [
      ['Фамилия', 'Соколов'], ['Имя', 'Дмитрий'], ['Отчество', 'Андреевич'], ['Дата рождения', '1984-09-15'],
      ['Телефон', '+79031234567'], ['ИНН', '500100732259'], ['ОГРНИП', '304500116000157'],
      ['Город', 'Подольск'], ['Адрес регистрации', '142100, Московская обл., г. Подольск, ул. Ленина, д. 10'],
    ],
    bank: [
      ['Банк', 'ПАО Сбербанк'], ['Номер счёта', '40802810438000054321'], ['БИК банка', '044525225'],
      ['Корреспондентский счёт', '30101810400000000225'], ['КПП банка', '773643001'],
    ],
    branch: BRANCH,
    shots: 'entrepreneur',
  });
  await screenshot(entrepreneur.shown, 'signup-qrpay');

  const organizationBrowser = await launch();
  const organization = await joinAs(organizationBrowser, 'organization', {
    email: 'office@severnoe-pole.ru',
    kind: 'организация',
    fields: [
      ['Организационно-правовая форма', 'Общество с ограниченной ответственностью'],
      ['Краткое наименование', 'ООО «Северное поле»'],
      ['Полное наименование', 'Общество с ограниченной ответственностью «Северное поле»'],
      ['ИНН', '7736207543'], ['ОГРН', '1027700229193'], ['КПП', '773601001'],
      ['Фамилия руководителя', 'Орлова'], ['Имя руководителя', 'Марина'], ['Отчество руководителя', 'Викторовна'],
      ['Должность руководителя', 'Генеральный директор'], ['Телефон', '+74957654321'], ['Город', 'Москва'],
      ['Адрес регистрации', '119021, г. Москва, ул. Льва Толстого, д. 16'],
      ['Фактический адрес', '119021, г. Москва, ул. Льва Толстого, д. 16'],
    ],
    mistyped: ['ИНН', '7736207544', 'Контрольная цифра не сходится'],
    bank: [
      ['Банк', 'АО «ТБанк»'], ['Номер счёта', '40702810210000077777'], ['БИК банка', '044525974'],
      ['Корреспондентский счёт', '30101810145250000974'], ['КПП банка', '771301001'],
    ],
    branch: BRANCH,
    shots: 'organization',
  });

  // A member's profile: personal data, bank accounts, payments.
  const memberAccount = accountOf('member');
  const memberBrowser = await launch();
  const member = await signIn(memberBrowser, memberAccount, 'member');
  await member.getByRole('navigation').getByRole('link', { name: 'Профиль' }).click();
  await member.getByRole('heading', { name: 'Профиль' }).waitFor();
  const phone = member.getByLabel('Телефон', { exact: true });
  await phone.waitFor();
  if ((await member.getByLabel('Фамилия', { exact: true }).inputValue()) !== 'Иванова') throw new Error('the member\'s own data is not shown');
  await phone.fill('+79169876543');
  await member.getByRole('button', { name: 'Сохранить данные' }).click();
  await member.getByText('Данные сохранены.').waitFor({ timeout: CHAIN });
  if ((await phone.inputValue()) !== '+79169876543') throw new Error('the saved phone is not read back');

  await member.getByRole('button', { name: 'Добавить счёт' }).click();
  const form = member.getByRole('form', { name: 'Добавить счёт' });
  for (const [label, value] of [
    ['Банк', 'ПАО Сбербанк'], ['Номер счёта', '40817810438000012345'], ['БИК банка', '044525225'],
    ['Корреспондентский счёт', '30101810400000000225'], ['КПП банка', '773643001'],
  ]) {
    await form.getByLabel(label, { exact: true }).fill(value);
  }
  await form.getByRole('button', { name: 'Сохранить счёт' }).click();
  const sber = member.getByRole('listitem', { name: 'ПАО Сбербанк' });
  await sber.getByText('40817810438000012345').waitFor({ timeout: CHAIN });
  await sber.getByRole('button', { name: 'Изменить' }).click();
  const edit = member.getByRole('form', { name: 'Изменить счёт' });
  for (const [label, value] of [
    ['Банк', 'АО «ТБанк»'], ['Номер счёта', '40817810500000000077'], ['БИК банка', '044525974'],
    ['Корреспондентский счёт', '30101810145250000974'], ['КПП банка', '771301001'],
  ]) {
    await edit.getByLabel(label, { exact: true }).fill(value);
  }
  await edit.getByRole('button', { name: 'Сохранить счёт' }).click();
  const tbank = member.getByRole('listitem', { name: 'АО «ТБанк»' });
  await tbank.getByText('40817810500000000077').waitFor({ timeout: CHAIN });
  await member.getByLabel('Выбрать участок').selectOption(BRANCH);
  await member.getByRole('button', { name: 'Сформировать заявление' }).click();
  await member.getByTitle('Заявление о выборе участка').waitFor({ timeout: CHAIN });
  await member.getByRole('button', { name: 'Подписать и подать заявление о выборе участка' }).click();
  await member.getByText(`Вы прикреплены к участку ${BRANCH}.`).waitFor({ timeout: CHAIN });
  await member.getByRole('heading', { name: 'Мои платежи' }).waitFor();
  await member.getByRole('cell', { name: 'оплачен' }).first().waitFor();
  await screenshot(member, 'member-profile');
  await member.setViewportSize({ width: 390, height: 844 });
  await screenshot(member, 'phone-profile');
  await member.setViewportSize({ width: 1280, height: 860 });
  await tbank.getByRole('button', { name: 'Удалить' }).click();
  await member.getByText('Счетов пока нет.').waitFor({ timeout: CHAIN });

  // A kept document rebuilt from its meta, its hash computed here.
  await member.getByRole('navigation').getByRole('link', { name: 'Документы' }).click();
  const application = member.getByRole('listitem').filter({ hasText: 'Заявление о вступлении в кооператив' });
  await application.getByRole('button', { name: 'Пересобрать и сверить' }).click();
  await application.getByText('Пересобранный документ совпадает с подписанным').waitFor({ timeout: CHAIN });
  await application.getByText('PDF совпадает с хранимым байт в байт.').waitFor();
  await screenshot(member, 'member-regenerated');

  // The chairman's settings; qrpay off hides the QR code, on shows it again.
  await chairman.getByRole('navigation').getByRole('link', { name: 'Настройки' }).click();
  await chairman.getByRole('heading', { name: 'Настройки кооператива' }).waitFor();
  const qrpay = chairman.getByRole('listitem', { name: 'Оплата по QR-коду' });
  await qrpay.getByText('включено').waitFor();
  for (const seat of accounts.filter((account) => ['chairman', 'council'].includes(account.role))) {
    await chairman.getByRole('region', { name: 'Совет' }).getByText(seat.username).waitFor();
  }
  await chairman.getByRole('region', { name: 'Взносы' }).getByText('Минимальный паевой взнос', { exact: true }).waitFor();
  await screenshot(chairman, 'chairman-settings');
  await qrpay.getByRole('button', { name: 'Выключить' }).click();
  await qrpay.getByText('выключено').waitFor();
  const instructions = [];
  entrepreneur.shown.on('response', (response) => answers(response, 'QrpayInstructions') && instructions.push(response));
  await resume(entrepreneur.shown);
  // Told qrpay is off, the widget asks for no instructions and shows no code.
  await entrepreneur.shown.waitForResponse((response) => answers(response, 'QrpayInstructions'), { timeout: 3000 }).catch(() => null);
  if (instructions.length || await entrepreneur.shown.getByRole('img', { name: QR }).count()) {
    throw new Error('the QR code shows while qrpay is off');
  }
  // Uninstalled and installed again from the form its schema makes; a mistyped account is
  // refused next to its field.
  await qrpay.getByRole('button', { name: 'Удалить' }).click();
  await qrpay.getByText('не установлено').waitFor();
  await qrpay.getByRole('button', { name: 'Установить' }).click();
  const install = qrpay.getByRole('form', { name: 'Настройка расширения «Оплата по QR-коду»' });
  for (const [label, value] of [
    ['Получатель', 'Потребительский кооператив «Восход»'], ['Расчётный счёт', '40703810238000012346'],
    ['Банк', 'ПАО Сбербанк'], ['БИК', '044525225'], ['Корреспондентский счёт', '30101810400000000225'],
    ['ИНН', '7736123452'], ['КПП', '773601001'],
  ]) {
    await install.getByLabel(label, { exact: true }).fill(value);
  }
  await install.getByRole('button', { name: 'Установить и включить' }).click();
  await install.getByText('Контрольная цифра не сходится', { exact: false }).waitFor();
  await install.getByLabel('Расчётный счёт', { exact: true }).fill('40703810238000012345');
  await install.getByRole('button', { name: 'Установить и включить' }).click();
  await qrpay.getByText('включено').waitFor();
  await resume(organization.shown);
  await organization.shown.getByRole('img', { name: QR }).waitFor({ timeout: CHAIN });

  // The member lost its key: a code by e-mail, a new key made here.
  const lostBrowser = await launch();
  const lost = await page(lostBrowser, 'lost');
  await lost.goto(`${desktop}#/signin`);
  await lost.getByRole('link', { name: 'Восстановить доступ' }).click();
  await lost.getByLabel('Электронная почта').fill(`${memberAccount.username}@example.ru`);
  await lost.getByRole('button', { name: 'Получить код' }).click();
  await lost.getByLabel('Код из письма').waitFor();
  const mail = await keyMail(`${memberAccount.username}@example.ru`);
  if (mail.username !== memberAccount.username) throw new Error(`the message names ${mail.username}`);
  await lost.getByLabel('Имя аккаунта').fill(mail.username);
  await lost.getByLabel('Код из письма').fill(mail.token);
  await lost.getByLabel('Я сохранил(а) резервную копию ключа').check();
  await lost.getByLabel('Пароль для ключа').fill('a new passphrase');
  await lost.getByLabel('Пароль ещё раз').fill('a new passphrase');
  await screenshot(lost, 'reset-key');
  await lost.getByRole('button', { name: 'Заменить ключ' }).click();
  await lost.getByRole('heading', { name: `Здравствуйте, ${memberAccount.username}` }).waitFor({ timeout: CHAIN });

  // The old key no longer signs in.
  const oldBrowser = await launch();
  const old = await page(oldBrowser, 'old-key');
  await old.goto(`${desktop}#/signin`);
  await old.getByLabel('Имя аккаунта').fill(memberAccount.username);
  await old.getByLabel('Резервная копия ключа (PVT_K1_…)').fill(memberAccount.private_key);
  await old.getByLabel('Пароль для ключа').fill('council passphrase');
  await old.getByRole('button', { name: 'Войти' }).click();
  await old.getByRole('alert').waitFor();
  if (await old.getByRole('heading', { name: /^Здравствуйте/ }).count()) throw new Error('the old key still signs in');

  // A branch is closed.
  await chairman.getByRole('navigation').getByRole('link', { name: 'Участки' }).click();
  await chairman.getByRole('listitem', { name: BRANCH }).getByRole('button', { name: 'Закрыть участок' }).click();
  await chairman.getByText('Участков нет').waitFor({ timeout: CHAIN });

  // The general meeting's new fee, written on chain by the chairman: a mistyped amount is
  // refused next to its field, and the registration total follows the new minimum.
  await chairman.getByRole('navigation').getByRole('link', { name: 'Настройки' }).click();
  const fees = chairman.getByRole('region', { name: 'Взносы' });
  await fees.getByRole('button', { name: 'Изменить взносы' }).click();
  const feesForm = fees.getByRole('form', { name: 'Взносы по решению общего собрания' });
  const minimum = feesForm.getByLabel('Минимальный паевой взнос', { exact: true });
  await minimum.fill('350,505');
  await feesForm.getByRole('button', { name: 'Записать в блокчейн' }).click();
  await feesForm.getByText('Укажите сумму в рублях', { exact: false }).waitFor();
  await minimum.fill('350,50');
  await feesForm.getByRole('button', { name: 'Записать в блокчейн' }).click();
  await fees.getByText(/^350,50\s₽$/).waitFor({ timeout: CHAIN });
  await fees.getByText(/^450,50\s₽$/).waitFor();

  // The general meeting's new council: a member leaves it, a newcomer joins it, invited by
  // e-mail to set its key.
  const council = chairman.getByRole('region', { name: 'Совет' });
  await council.getByRole('button', { name: 'Изменить состав совета' }).click();
  const councilForm = council.getByRole('form', { name: 'Совет по решению общего собрания' });
  await councilForm.getByRole('button', { name: 'Добавить члена совета' }).click();
  for (const [label, value] of [
    ['Имя аккаунта', 'novikovaira1'], ['Фамилия', 'Новикова'], ['Имя', 'Ирина'], ['Отчество', 'Сергеевна'],
    ['Дата рождения', '1985-04-12'], ['Телефон', '+79123456789'],
    ['Адрес регистрации', '140400, Московская обл., г. Коломна, ул. Зелёная, д. 7'],
    ['Электронная почта', 'novikovaira1@example.ru'],
  ]) {
    await councilForm.getByLabel(label, { exact: true }).fill(value);
  }
  await councilForm.getByRole('checkbox', { name: /^member2 / }).uncheck();
  await councilForm.getByRole('button', { name: 'Записать в блокчейн' }).click();
  await council.getByRole('status').getByText('novikovaira1').waitFor({ timeout: CHAIN });
  await council.getByRole('listitem').filter({ hasText: 'novikovaira1' }).waitFor();
  if (await council.getByRole('listitem').filter({ hasText: 'member2' }).count()) {
    throw new Error('member2 still sits on the council');
  }
  const invitation = await keyMail('novikovaira1@example.ru');
  if (invitation.username !== 'novikovaira1') throw new Error(`the invitation names ${invitation.username}`);
  await screenshot(chairman, 'chairman-council');
}, 9 * 60_000 - STEP);
