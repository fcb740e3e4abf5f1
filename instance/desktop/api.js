// The desktop's only way to the server: GraphQL at /v1/graphql over HTTP POST, and its
// `graphql-transport-ws` websocket for live updates. Credentials live in this module's memory
// only (never in storage), so closing the tab ends the session.

import { t } from './i18n.js';

const ENDPOINT = '/v1/graphql';
// Refresh the access token this long before it runs out, in seconds.
const REFRESH_MARGIN = 60;

let tokens = null;
let refreshing = null;

export class ApiError extends Error {
  constructor(message, code, fields = []) {
    super(message);
    this.code = code;
    this.fields = fields;
  }

  /** The server's message about `field`, when it named one. */
  about(field) {
    return this.fields.find((entry) => entry.field === field)?.message;
  }
}

// The API words what is wrong with a field in English (private_data's `Invalid`); the form
// shows it in the interface's language.
const INVALID = [
  [/^is required$/, () => t('invalid.missing')],
  [/^the check digit does not match/, () => t('invalid.checkDigit')],
  [/^must be .* characters long, not (\d+)$/, (got) => t('invalid.length', { got })],
  [/^must consist of/, () => t('invalid.characters')],
  [/^must be /, () => t('invalid.format')],
];

function fieldMessage(message) {
  for (const [pattern, say] of INVALID) {
    const found = pattern.exec(message);
    if (found) return say(...found.slice(1));
  }
  return message;
}

async function post(query, variables, bearer) {
  const headers = { 'content-type': 'application/json' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  let response;
  try {
    response = await fetch(ENDPOINT, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError(t('error.network'), 'NETWORK');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(t('error.server', { status: response.status }), 'INTERNAL');
  }
  if (body.errors?.length) {
    const [error] = body.errors;
    const code = error.extensions?.code;
    const fields = (error.extensions?.fields || []).map((entry) => ({ ...entry, message: fieldMessage(entry.message) }));
    let message = error.message;
    if (code === 'FORBIDDEN') message = t('error.forbidden');
    else if (fields.length) message = t('error.fields');
    throw new ApiError(message, code, fields);
  }
  return body.data;
}

async function freshAccess() {
  if (!tokens) return null;
  const now = Date.now() / 1000;
  if (tokens.access.expires - now > REFRESH_MARGIN) return tokens.access.token;
  refreshing ??= post(REFRESH, { d: { refresh_token: tokens.refresh.token } })
    .then((data) => {
      tokens = data.refresh.tokens;
    })
    .catch((error) => {
      tokens = null;
      throw error;
    })
    .finally(() => {
      refreshing = null;
    });
  await refreshing;
  return tokens.access.token;
}

/** Runs one query or mutation as the logged-in account (or anonymously). */
export async function request(query, variables = {}) {
  return post(query, variables, await freshAccess());
}

// How long to wait for the follower to store a block, in ms.
const SYNC_WAIT = 120_000;

/**
 * Waits until the instance has synced `block`: what the chain or the private store changed from
 * that block shows in the registries and counts at login only then.
 */
export async function syncedTo(block, timeoutMessage) {
  const deadline = Date.now() + SYNC_WAIT;
  for (;;) {
    const { getSystemInfo: info } = await request(SYSTEM_INFO);
    if (info.synced_block >= block) return info.synced_block;
    if (Date.now() > deadline) throw new Error(timeoutMessage || t('error.syncTimeout'));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** The block the instance has synced. */
export async function syncedBlock() {
  return (await request(SYSTEM_INFO)).getSystemInfo.synced_block;
}

/** Keeps the tokens of a login. */
export function setTokens(next) {
  tokens = next;
}

/** Ends the session here and on the server. */
export async function logout() {
  if (!tokens) return;
  const refreshToken = tokens.refresh.token;
  tokens = null;
  await post(LOGOUT, { d: { refresh_token: refreshToken } }).catch(() => {});
}

// What each subscription field answers: a registry change, or the follower's progress.
const CHANGE = 'block_num source key username status removed';
const SELECTIONS = { followerProgress: 'block_num rolled_back' };

/** The subscription of one root field. */
export function subscriptionQuery(field) {
  return `subscription { ${field} { ${SELECTIONS[field] || CHANGE} } }`;
}

/**
 * Listens to `fields` (subscription root fields: registry changes, or `followerProgress`) and calls
 * `onChange(field, change)` for each change. The connection comes back after a drop, with
 * growing pauses; `onResume()` is called after each reconnect and when the tab becomes visible
 * again, so the screen can re-query what it might have missed. Returns a function that stops.
 */
export function live(fields, onChange, onResume) {
  let socket = null;
  let stopped = false;
  let retry = 0;
  let timer = null;
  const visible = () => {
    if (document.visibilityState === 'visible') onResume();
  };
  const open = async () => {
    const bearer = await freshAccess().catch(() => null);
    if (stopped) return;
    const url = new URL(ENDPOINT, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(url, 'graphql-transport-ws');
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: bearer ? { authorization: `Bearer ${bearer}` } : {} }));
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === 'connection_ack') {
        if (retry > 0) onResume();
        retry = 0;
        fields.forEach((field, index) => {
          const query = subscriptionQuery(field);
          socket.send(JSON.stringify({ id: String(index), type: 'subscribe', payload: { query } }));
        });
      } else if (message.type === 'next' && message.payload?.data) {
        const field = fields[Number(message.id)];
        onChange(field, message.payload.data[field]);
      } else if (message.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      }
    };
    socket.onclose = () => {
      if (stopped) return;
      retry += 1;
      timer = setTimeout(open, Math.min(1000 * 2 ** (retry - 1), 15000));
    };
  };
  document.addEventListener('visibilitychange', visible);
  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener('visibilitychange', visible);
    socket?.close();
  };
}

// Every operation the desktop sends, written out in one place next to the committed schema's
// names, so a schema change shows which of them it touches.

const REFRESH = `mutation Refresh($d: RefreshInput!) {
  refresh(data: $d) { tokens { access { token expires } refresh { token expires } } }
}`;

const LOGOUT = `mutation Logout($d: LogoutInput!) { logout(data: $d) }`;

export const SYSTEM_INFO = `query SystemInfo {
  getSystemInfo { coopname version synced_block block_num status chairman council fees }
}`;

export const AUTH_CHALLENGE = `query AuthChallenge($u: String!) { authChallenge(username: $u) }`;

export const LOGIN = `mutation Login($d: LoginInput!) {
  login(data: $d) {
    account { username role }
    tokens { access { token expires } refresh { token expires } }
  }
}`;

export const ACCOUNT = `query Account($u: String!) {
  getAccount(username: $u) {
    role block_num
    account { username kind lifecycle branch registered_at participant private_data }
  }
}`;

export const REGISTER_ACCOUNT = `mutation RegisterAccount($d: RegisterAccountInput!) {
  registerAccount(data: $d) { username transaction { transaction_id block_num } }
}`;

const GENERATED = 'hash registry_id html block_num';

export const AGREEMENTS = [
  ['generateWalletAgreement', 'wallet_agreement', 1],
  ['generateSignatureAgreement', 'signature_agreement', 2],
  ['generatePrivacyAgreement', 'privacy_agreement', 3],
  ['generateUserAgreement', 'user_agreement', 4],
].map(([operation, field, registryId]) => ({
  field,
  registryId,
  operation,
  query: `mutation Generate($u: String!) { ${operation}(data: {username: $u}) { ${GENERATED} } }`,
}));

export const GENERATE_APPLICATION = `mutation GenerateApplication($u: String!, $l: [String!], $n: String) {
  generateParticipantApplication(data: {username: $u, links: $l, braname: $n}) { ${GENERATED} }
}`;

export const REGISTER_PARTICIPANT = `mutation RegisterParticipant($d: RegisterParticipantInput!) {
  registerParticipant(data: $d) { transaction_id }
}`;

export const DOCUMENTS = `query Documents($f: DocumentsFilter, $p: PageInput, $b: Int) {
  getDocuments(filter: $f, page: $p, block: $b) {
    block_num next
    items { hash status username signers stored }
  }
}`;

export const AGENDA = `query Agenda($f: AgendaFilter, $p: PageInput, $b: Int) {
  getAgenda(filter: $f, page: $p, block: $b) {
    block_num next
    items {
      id username kind stage statement_hash created_at expired_at authorized_by
      votes_for { username } votes_against { username }
    }
  }
}`;

export const VOTE_FOR = `mutation VoteFor($d: VoteInput!) { voteFor(data: $d) { transaction_id } }`;
export const VOTE_AGAINST = `mutation VoteAgainst($d: VoteInput!) { voteAgainst(data: $d) { transaction_id } }`;

export const GENERATE_DECISION = `mutation GenerateDecision($u: String!, $i: Int!) {
  generateParticipantApplicationDecision(data: {username: $u, decision_id: $i}) { ${GENERATED} }
}`;

export const AUTHORIZE_DECISION = `mutation AuthorizeDecision($d: AuthorizeDecisionInput!) {
  authorizeDecision(data: $d) { transaction_id }
}`;

export const EXEC_DECISION = `mutation ExecDecision($i: Int!) {
  execDecision(data: {decision_id: $i}) { transaction_id }
}`;

export const ACCOUNTS = `query Accounts($f: AccountsFilter, $p: PageInput, $b: Int) {
  getAccounts(filter: $f, page: $p, block: $b) {
    block_num next
    items { username kind lifecycle branch registered_at }
  }
}`;

export const PAYMENTS = `query Payments($f: PaymentsFilter, $p: PageInput, $b: Int) {
  getPayments(filter: $f, page: $p, block: $b) {
    block_num next
    items { kind id username status purpose hash amount created_at }
  }
}`;

export const SET_PAYMENT_STATUS = `mutation SetPaymentStatus($d: SetPaymentStatusInput!) {
  setPaymentStatus(data: $d) { transaction_id }
}`;

export const EXTENSIONS = `query Extensions {
  getExtensions { name title installed enabled schema config desktop { kind id title roles } }
}`;

export const INSTALL_EXTENSION = `mutation InstallExtension($d: ExtensionInput!) {
  installExtension(data: $d) { name enabled }
}`;

export const UPDATE_EXTENSION = `mutation UpdateExtension($d: UpdateExtensionInput!) {
  updateExtension(data: $d) { name enabled }
}`;

export const UNINSTALL_EXTENSION = `mutation UninstallExtension($n: String!) {
  uninstallExtension(data: {name: $n})
}`;

export const INSTALL_SYSTEM = `mutation InstallSystem($d: InstallSystemInput!) {
  installSystem(data: $d) { created invited transaction { transaction_id block_num } }
}`;

export const UPDATE_FEES = `mutation UpdateFees($f: FeesInput!) {
  updateSystem(data: {fees: $f}) { transaction { transaction_id block_num } }
}`;

export const QRPAY_INSTRUCTIONS = `query QrpayInstructions($d: QrpayPaymentInput!) {
  qrpayPaymentInstructions(data: $d) {
    hash sum_kopecks purpose name personal_acc bank_name bic corresp_acc payee_inn kpp png
  }
}`;

export const START_RESET_KEY = `mutation StartResetKey($e: String!) { startResetKey(data: {email: $e}) }`;

export const RESET_KEY = `mutation ResetKey($d: ResetKeyInput!) {
  resetKey(data: $d) { transaction_id block_num }
}`;

export const UPDATE_ACCOUNT = `mutation UpdateAccount($d: UpdateAccountInput!) {
  updateAccount(data: $d) { version valid_from_block }
}`;

export const PAYMENT_METHODS = `query PaymentMethods($u: String!, $b: Int) {
  getPaymentMethods(username: $u, block: $b) {
    block_num
    items { method_id method_type is_default data }
  }
}`;

export const CREATE_BANK_ACCOUNT = `mutation CreateBankAccount($d: CreateBankAccountInput!) {
  createBankAccount(data: $d) { key valid_from_block }
}`;

export const UPDATE_BANK_ACCOUNT = `mutation UpdateBankAccount($d: UpdateBankAccountInput!) {
  updateBankAccount(data: $d) { key valid_from_block }
}`;

export const DELETE_PAYMENT_METHOD = `mutation DeletePaymentMethod($u: String!, $m: String!) {
  deletePaymentMethod(data: {username: $u, method_id: $m})
}`;

export const REGENERATE_DOCUMENT = `mutation RegenerateDocument($h: String!) {
  regenerateDocument(data: {hash: $h}) { hash regenerated_hash identical pdf }
}`;

export const BRANCHES = `query Branches($p: PageInput, $b: Int) {
  getBranches(page: $p, block: $b) { block_num next items { braname trustee trusted } }
}`;

export const CREATE_BRANCH = `mutation CreateBranch($d: BranchInput!) {
  createBranch(data: $d) { transaction_id block_num }
}`;

export const EDIT_BRANCH = `mutation EditBranch($d: BranchInput!) {
  editBranch(data: $d) { transaction_id block_num }
}`;

export const DELETE_BRANCH = `mutation DeleteBranch($n: String!) {
  deleteBranch(data: {braname: $n}) { transaction_id block_num }
}`;

export const GENERATE_SELECT_BRANCH = `mutation GenerateSelectBranch($u: String!, $n: String!) {
  generateSelectBranchDocument(data: {username: $u, braname: $n}) { ${GENERATED} }
}`;

export const SELECT_BRANCH = `mutation SelectBranch($d: SelectBranchInput!) {
  selectBranch(data: $d) { transaction_id block_num }
}`;

// Everything above, for the test that validates each operation against the committed schema.
export const OPERATIONS = [
  REFRESH, LOGOUT, SYSTEM_INFO, AUTH_CHALLENGE, LOGIN, ACCOUNT, REGISTER_ACCOUNT,
  ...AGREEMENTS.map((agreement) => agreement.query),
  GENERATE_APPLICATION, REGISTER_PARTICIPANT, DOCUMENTS, AGENDA, VOTE_FOR, VOTE_AGAINST,
  GENERATE_DECISION, AUTHORIZE_DECISION, EXEC_DECISION, ACCOUNTS, PAYMENTS, SET_PAYMENT_STATUS,
  EXTENSIONS, INSTALL_EXTENSION, UPDATE_EXTENSION, UNINSTALL_EXTENSION, UPDATE_FEES,
  INSTALL_SYSTEM, QRPAY_INSTRUCTIONS,
  START_RESET_KEY, RESET_KEY, UPDATE_ACCOUNT, PAYMENT_METHODS, CREATE_BANK_ACCOUNT,
  UPDATE_BANK_ACCOUNT, DELETE_PAYMENT_METHOD, REGENERATE_DOCUMENT, BRANCHES, CREATE_BRANCH,
  EDIT_BRANCH, DELETE_BRANCH, GENERATE_SELECT_BRANCH, SELECT_BRANCH,
  ...['memberChanged', 'decisionChanged', 'paymentChanged', 'documentChanged', 'followerProgress']
    .map(subscriptionQuery),
];
