// Writes State History (SHiP) websocket messages of a small COOPOS chain as test fixtures for
// MONO's SHiP decoder. The messages are encoded by @wharfkit/antelope, an Antelope library
// independent of MONO, from the published Leap 5 SHiP ABI (and Spring 1.x's, which this script
// derives from it) and the real COOPOS contract ABIs, so a decoder that reads them back as the
// `expect` section says agrees with an encoder it does not share code with.
//
// Six irreversible blocks of cooperative `voskhod`: contract ABIs set (1), a member added with
// inline actions (2), council votes, one of another cooperative (3), a failed deferred transaction
// next to a successful one (4), an empty block (5), a transfer of a contract not followed (6).
// Everything is derived from fixed texts (keys, ids, times), so two runs write identical files.
//
// Usage: node ship_fixtures.mjs [--check]
//   without a flag, writes ../data/ship/spring1-ship-abi.json, leap5.frames.json, spring1.frames.json
//   --check writes nothing and exits 1 naming each file whose content differs from what it would write

import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {basename, dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

import {
  ABI,
  Asset,
  Bytes,
  Checksum256,
  KeyType,
  Name,
  PrivateKey,
  Serializer,
  TimePoint,
  Transaction,
  UInt64,
} from '@wharfkit/antelope'

const HERE = dirname(fileURLToPath(import.meta.url))
const REPO = join(HERE, '..', '..', '..')
const SHIP_DIR = join(HERE, '..', 'data', 'ship')
const CONTRACT_ABI_DIR = join(HERE, '..', 'data', 'coopos-abi')
const GENERATOR = 'instance/tests/interop/ship_fixtures.mjs'

const COOPNAME = 'voskhod'
const FOLLOWED = new Set([
  'registrator', 'soviet', 'gateway', 'wallet', 'draft', 'branch',
  'fund', 'meet', 'marketplace', 'capital', 'ledger', 'loan',
])
const LAST_BLOCK = 6
const FIRST_GLOBAL_SEQUENCE = 1000
/** `system_error_code::generic_system_error`: the code nodeos reports for a failed assertion. */
const GENERIC_SYSTEM_ERROR = '10000000000000000000'

// ---------------------------------------------------------------------------------------------
// Bytes, hashes, keys, names, times

const utf8 = (text) => Bytes.from(text, 'utf8')
const sha256 = (text) => Checksum256.hash(utf8(text))
const ZERO_ID = Checksum256.from(new Uint8Array(32))
const CHAIN_ID = sha256('mono ship fixtures')

/** A K1 key derived from the account's name: sha256('key <account>'). */
function keyOf(account) {
  return new PrivateKey(KeyType.K1, Bytes.from(sha256(`key ${account}`).array))
}
const publicKeyOf = (account) => keyOf(account).toPublic()

/** The u64 value of a name, as a decimal string (a table's primary key). */
const nameValue = (name) => Name.from(name).value.toString()

/** Block n: slot 1_600_000_000 + n, i.e. half-second steps from 2025-05-08T06:13:20. */
const slotOf = (n) => 1_600_000_000 + n
const blockMs = (n) => slotOf(n) * 500 + 946_684_800_000
const blockSec = (n) => Math.floor(blockMs(n) / 1000)
/** A time_point_sec of block n as the ISO text contract data carries. */
const isoSec = (n) => new Date(blockSec(n) * 1000).toISOString().slice(0, 19)

/** Block id: 4 bytes of the number big-endian, then 28 bytes of sha256('block n'). */
function blockId(n) {
  const id = new Uint8Array(32)
  new DataView(id.buffer).setUint32(0, n)
  id.set(sha256(`block ${n}`).array.subarray(0, 28), 4)
  return Checksum256.from(id)
}
const previousId = (n) => (n > 1 ? blockId(n - 1) : ZERO_ID)
const position = (n) => ({block_num: n, block_id: blockId(n)})

// ---------------------------------------------------------------------------------------------
// ABIs

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'))

/** Spring 1.x's SHiP ABI: Leap 5's plus the v1 status and blocks messages, in Spring's order. */
function springShipAbi(leap) {
  const abi = structuredClone(leap)
  const fieldsOf = (name) => abi.structs.find((struct) => struct.name === name).fields
  const insertAfter = (name, struct) =>
    abi.structs.splice(abi.structs.findIndex((s) => s.name === name) + 1, 0, struct)
  insertAfter('get_status_request_v0', {name: 'get_status_request_v1', fields: []})
  insertAfter('get_status_result_v0', {
    name: 'get_status_result_v1',
    fields: [
      ...fieldsOf('get_status_result_v0').map((field) =>
        field.name === 'chain_id' ? {name: 'chain_id', type: 'checksum256'} : field
      ),
      {name: 'finality_data_begin_block', type: 'uint32'},
      {name: 'finality_data_end_block', type: 'uint32'},
    ],
  })
  insertAfter('get_blocks_request_v0', {
    name: 'get_blocks_request_v1',
    fields: [...fieldsOf('get_blocks_request_v0'), {name: 'fetch_finality_data', type: 'bool'}],
  })
  insertAfter('get_blocks_result_v0', {
    name: 'get_blocks_result_v1',
    fields: [...fieldsOf('get_blocks_result_v0'), {name: 'finality_data', type: 'bytes?'}],
  })
  const variant = (name) => abi.variants.find((v) => v.name === name)
  variant('request').types = [
    'get_status_request_v0', 'get_blocks_request_v0', 'get_blocks_ack_request_v0',
    'get_blocks_request_v1', 'get_status_request_v1',
  ]
  variant('result').types = [
    'get_status_result_v0', 'get_blocks_result_v0', 'get_blocks_result_v1', 'get_status_result_v1',
  ]
  return abi
}

const LEAP_ABI_JSON = readJson(join(SHIP_DIR, 'leap5-ship-abi.json'))
const SPRING_ABI_JSON = springShipAbi(LEAP_ABI_JSON)
const SHIP = ABI.from(LEAP_ABI_JSON)

/** The COOPOS contracts' ABIs by account; eosio.system.abi is the `eosio` account's. */
const CONTRACT_ABIS = new Map(
  readdirSync(CONTRACT_ABI_DIR)
    .filter((file) => file.endsWith('.abi'))
    .sort()
    .map((file) => [
      file === 'eosio.system.abi' ? 'eosio' : basename(file, '.abi'),
      ABI.from(readJson(join(CONTRACT_ABI_DIR, file))),
    ])
)
/** eosio.token is not followed and its ABI never appears on this chain: only encoding uses it. */
const TOKEN_ABI = ABI.from({
  version: 'eosio::abi/1.1',
  structs: [
    {
      name: 'transfer',
      base: '',
      fields: [
        {name: 'from', type: 'name'},
        {name: 'to', type: 'name'},
        {name: 'quantity', type: 'asset'},
        {name: 'memo', type: 'string'},
      ],
    },
    {name: 'account', base: '', fields: [{name: 'balance', type: 'asset'}]},
  ],
  actions: [{name: 'transfer', type: 'transfer', ricardian_contract: ''}],
  tables: [{name: 'accounts', index_type: 'i64', key_names: [], key_types: [], type: 'account'}],
})
const encodingAbiOf = (account) => (account === 'eosio.token' ? TOKEN_ABI : CONTRACT_ABIS.get(account))

const encode = (type, object, abi = SHIP) => Serializer.encode({object, type, abi})
/** An ABI in the binary form `setabi` and the `account` table carry. */
const binaryAbi = (account) => Serializer.encode({object: CONTRACT_ABIS.get(account)})

function actionData(account, name, data) {
  const abi = encodingAbiOf(account)
  return encode(abi.getActionType(name), data, abi)
}

const tableType = (abi, table) => abi.tables.find((t) => String(t.name) === table).type

// ---------------------------------------------------------------------------------------------
// Transactions and traces

const act = (account, name, actors, data) => ({
  account,
  name,
  authorization: actors.map((actor) => ({actor, permission: 'active'})),
  data: actionData(account, name, data),
})

/** TaPoS of the previous block (none before block 2). */
function reference(n) {
  const id = previousId(n).array
  return {
    ref_block_num: n > 1 ? (n - 1) & 0xffff : 0,
    ref_block_prefix: new DataView(id.buffer, id.byteOffset).getUint32(8, true),
  }
}

/** A transaction with its id, packed form and K1 signatures of `signers` over its digest. */
function transaction(header, actions, signers) {
  const trx = Transaction.from({
    max_net_usage_words: 0,
    max_cpu_usage_ms: 0,
    delay_sec: 0,
    ...header,
    context_free_actions: [],
    actions,
    transaction_extensions: [],
  })
  const digest = trx.signingDigest(CHAIN_ID)
  return {
    id: trx.id,
    header: {
      expiration: trx.expiration,
      ref_block_num: trx.ref_block_num,
      ref_block_prefix: trx.ref_block_prefix,
      max_net_usage_words: trx.max_net_usage_words,
      max_cpu_usage_ms: trx.max_cpu_usage_ms,
      delay_sec: trx.delay_sec,
    },
    packed: Serializer.encode({object: trx}),
    signatures: signers.map((signer) => keyOf(signer).signDigest(digest)),
  }
}

/** An input transaction of block n, expiring 30 s after the block. */
const inputTransaction = (n, actions, signers) =>
  transaction({expiration: blockSec(n) + 30, ...reference(n)}, actions, signers)

const partial = (trx) => [
  'partial_transaction_v0',
  {...trx.header, transaction_extensions: [], signatures: trx.signatures, context_free_data: []},
]

/** Counters of the action receipts: global, per receiver and per authorizing actor. */
const sequences = {global: FIRST_GLOBAL_SEQUENCE, recv: new Map(), auth: new Map()}
const next = (map, key) => {
  map.set(key, (map.get(key) ?? 0) + 1)
  return map.get(key)
}

/** The receipt of an action executed by `receiver`; call in execution order. */
function actionReceipt(receiver, action) {
  const actors = [...new Set(action.authorization.map((level) => level.actor))].sort((a, b) =>
    BigInt(nameValue(a)) < BigInt(nameValue(b)) ? -1 : 1
  )
  return [
    'action_receipt_v0',
    {
      receiver,
      act_digest: Checksum256.hash(encode('action', action)),
      global_sequence: sequences.global++,
      recv_sequence: next(sequences.recv, receiver),
      auth_sequence: actors.map((account) => ({account, sequence: next(sequences.auth, account)})),
      code_sequence: 1,
      abi_sequence: 1,
    },
  ]
}

/**
 * An action trace, `action_trace_v1` unless `version` says otherwise. Executed traces get their
 * receipt here, so traces are built in execution order; failed ones carry `except` instead.
 */
function actionTrace(ordinal, receiver, action, options = {}) {
  const {creator = 0, version = 'action_trace_v1', ramDeltas = [], elapsed = 60, except = null} =
    options
  const trace = {
    action_ordinal: ordinal,
    creator_action_ordinal: creator,
    receipt: except === null ? actionReceipt(receiver, action) : null,
    receiver,
    act: action,
    context_free: false,
    elapsed,
    console: '',
    account_ram_deltas: ramDeltas,
    except,
    error_code: except === null ? null : GENERIC_SYSTEM_ERROR,
  }
  if (version === 'action_trace_v1') {
    trace.return_value = ''
  }
  return [version, trace]
}

const transactionTrace = (fields) => [
  'transaction_trace_v0',
  {
    status: 0,
    cpu_usage_us: 0,
    net_usage_words: 0,
    elapsed: 0,
    net_usage: 0,
    scheduled: false,
    account_ram_delta: null,
    except: null,
    error_code: null,
    failed_dtrx_trace: null,
    partial: null,
    ...fields,
  },
]

/** A block header; block n+1's `onblock` carries block n's. */
const blockHeader = (n) => ({
  timestamp: slotOf(n),
  producer: 'eosio',
  confirmed: 0,
  previous: previousId(n),
  transaction_mroot: sha256(`transaction_mroot ${n}`),
  action_mroot: sha256(`action_mroot ${n}`),
  schedule_version: 0,
  new_producers: null,
  header_extensions: [],
})

/**
 * The implicit `eosio::onblock` transaction that opens every block, its action traced as `version`
 * (v1 by default). With no_duplicate_deferred_id active its header is all zero; nodeos records its
 * packed form like any other transaction's, so `partial` is present, without signatures.
 */
function onblock(n, version) {
  const action = {
    account: 'eosio',
    name: 'onblock',
    authorization: [{actor: 'eosio', permission: 'active'}],
    data: encode('block_header', blockHeader(n - 1)),
  }
  const trx = transaction({expiration: 0, ref_block_num: 0, ref_block_prefix: 0}, [action], [])
  return {
    trace: transactionTrace({
      id: trx.id,
      elapsed: 180,
      action_traces: [actionTrace(1, 'eosio', action, {version, elapsed: 120})],
      partial: partial(trx),
    }),
  }
}

/** An executed input transaction: its trace (with `fields`) and its receipt in the block. */
function executed(trx, cpu, fields) {
  const packedTransaction = {
    signatures: trx.signatures,
    compression: 0,
    packed_context_free_data: '',
    packed_trx: trx.packed,
  }
  const size = encode('packed_transaction', packedTransaction).length
  const netWords = Math.ceil((size + 12) / 8)
  return {
    trace: transactionTrace({
      id: trx.id,
      cpu_usage_us: cpu,
      net_usage_words: netWords,
      elapsed: cpu - 40,
      net_usage: netWords * 8,
      partial: partial(trx),
      ...fields,
    }),
    receipt: {
      status: 0,
      cpu_usage_us: cpu,
      net_usage_words: netWords,
      trx: ['packed_transaction', packedTransaction],
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Table deltas

/** A row of a SHiP table: the table's variant (`<table>_v<version>`) serialized. */
const row = (table, object, {present = true, version = 0} = {}) => ({
  present,
  data: encode(table, [`${table}_v${version}`, object]),
})

const contractRow = (code, scope, table, primaryKey, payer, value, present = true) => {
  const abi = encodingAbiOf(code)
  return row(
    'contract_row',
    {code, scope, table, primary_key: primaryKey, payer, value: encode(tableType(abi, table), value, abi)},
    {present}
  )
}

/** The table of secondary index `index` of a multi_index table (eosio.cdt's naming). */
const indexTable = (table, index) =>
  Name.from(UInt64.from((BigInt(nameValue(table)) & ~0xfn) | BigInt(index)))

const usage = (lastOrdinal, valueEx, consumed) => [
  'usage_accumulator_v0',
  {last_ordinal: lastOrdinal, value_ex: valueEx, consumed},
]

const resourceUsage = (n, owner, ram) =>
  row('resource_usage', {
    owner,
    net_usage: usage(slotOf(n), 1_843_200 + n, 230 + n),
    cpu_usage: usage(slotOf(n), 3_686_400 + n, 410 + n),
    ram_usage: ram,
  })

const resourceLimitsState = (n) =>
  row('resource_limits_state', {
    average_block_net_usage: usage(slotOf(n), 15_000 * n, 120),
    average_block_cpu_usage: usage(slotOf(n), 40_000 * n, 300),
    total_net_weight: '5000000000',
    total_cpu_weight: '5000000000',
    total_ram_bytes: '68719476736',
    virtual_net_limit: 1_048_576_000,
    virtual_cpu_limit: 200_000_000,
  })

/** Leap 5's default chain configuration. */
const CHAIN_CONFIG = {
  max_block_net_usage: 1_048_576,
  target_block_net_usage_pct: 1000,
  max_transaction_net_usage: 524_288,
  base_per_transaction_net_usage: 12,
  net_usage_leeway: 500,
  context_free_discount_net_usage_num: 20,
  context_free_discount_net_usage_den: 100,
  max_block_cpu_usage: 200_000,
  target_block_cpu_usage_pct: 1000,
  max_transaction_cpu_usage: 150_000,
  min_transaction_cpu_usage: 100,
  max_transaction_lifetime: 3600,
  deferred_trx_expiration_window: 600,
  max_transaction_delay: 3_888_000,
  max_inline_action_size: 524_288,
  max_inline_action_depth: 4,
  max_authority_depth: 6,
}

const WASM_CONFIG = {
  max_mutable_global_bytes: 1024,
  max_table_elements: 1024,
  max_section_elements: 8192,
  max_linear_memory_init: 65_536,
  max_func_local_bytes: 8192,
  max_nested_structures: 1024,
  max_symbol_bytes: 8192,
  max_module_bytes: 20_971_520,
  max_code_bytes: 20_971_520,
  max_pages: 528,
  max_call_depth: 251,
}

const elasticLimits = (target, max) => [
  'elastic_limit_parameters_v0',
  {
    target,
    max,
    periods: 120,
    max_multiplier: 1000,
    contract_rate: ['resource_limits_ratio_v0', {numerator: 99, denominator: 100}],
    expand_rate: ['resource_limits_ratio_v0', {numerator: 1000, denominator: 999}],
  },
]

const singleKeyAuthority = (account) => ({
  threshold: 1,
  keys: [{key: publicKeyOf(account), weight: 1}],
  accounts: [],
  waits: [],
})

/** A minimal valid WebAssembly module: the header and a custom section named after the contract. */
function contractCode(account) {
  const name = utf8(account).array
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  return Bytes.from([...header, 0x00, name.length + 1, name.length, ...name])
}

/** A signed COOPOS document (document2). */
function document(signer, label, n) {
  const hash = sha256(`${label} hash`)
  return {
    version: '1.0.0',
    hash,
    doc_hash: sha256(`${label} doc`),
    meta_hash: sha256(`${label} meta`),
    meta: '{"lang":"ru"}',
    signatures: [
      {
        id: 1,
        signed_hash: hash,
        signer,
        public_key: publicKeyOf(signer),
        signature: keyOf(signer).signDigest(hash),
        signed_at: isoSec(n),
        meta: '',
      },
    ],
  }
}

const EMPTY_DOCUMENT = {
  version: '',
  hash: ZERO_ID,
  doc_hash: ZERO_ID,
  meta_hash: ZERO_ID,
  meta: '',
  signatures: [],
}

/** A soviet decision on a member's application, as its `decisions` row holds it. */
function decision(id, coopname, username, votesFor, n) {
  return {
    id,
    coopname,
    username,
    type: 'joincoop',
    batch_id: 0,
    statement: document(username, `statement ${coopname} ${id}`, n - 1),
    votes_for: votesFor,
    votes_against: [],
    validated: true,
    approved: false,
    authorized: false,
    authorized_by: '',
    authorization: EMPTY_DOCUMENT,
    created_at: isoSec(n - 1),
    expired_at: isoSec(n + 1000),
    meta: '',
    callback_contract: 'registrator',
    confirm_callback: 'confirmreg',
    decline_callback: 'declinereg',
    hash: sha256(`decision ${coopname} ${id}`),
  }
}

// ---------------------------------------------------------------------------------------------
// The chain
//
// Each block returns its transactions (trace, and receipt unless implicit) and its table deltas,
// both in the order nodeos writes them. Action receipts draw the sequence counters, so traces are
// built in execution order, block after block.

const MEMBER = 'petrovivanov'
const COUNCIL_MEMBER = 'sergeevanna1'
const OTHER_COOP = 'othercoop'
const OTHER_MEMBER = 'smirnovoleg1'

const assertionFailure = (message) =>
  '3050003 eosio_assert_message_exception: eosio_assert_message assertion failure\n' +
  `assertion failure with message: ${message}\npending console output: `

/** The deferred transaction registrator schedules in block 3 and that fails in block 4. */
const DEFERRED_SENDER_ID = ((1n << 64n) + 17n).toString()
const DEFERRED_ACTION = act('registrator', 'verificate', ['registrator'], {
  username: MEMBER,
  procedure: 'offline',
})
const DEFERRED = transaction({expiration: blockSec(4) + 600, ...reference(3)}, [DEFERRED_ACTION], [])
const deferredRow = (present) =>
  row('generated_transaction', {
    sender: 'registrator',
    sender_id: DEFERRED_SENDER_ID,
    payer: 'registrator',
    trx_id: DEFERRED.id,
    packed_trx: DEFERRED.packed,
  }, {present})

/** Block 1: registrator's and soviet's ABIs set in one transaction. */
function block1(n) {
  const accounts = ['registrator', 'soviet']
  const [registratorAbi, sovietAbi] = accounts.map((account) =>
    act('eosio', 'setabi', [account], {account, abi: binaryAbi(account)})
  )
  const trx = inputTransaction(n, [registratorAbi, sovietAbi], accounts)
  const transactions = [
    onblock(n),
    executed(trx, 512, {
      action_traces: [
        actionTrace(1, 'eosio', registratorAbi, {
          ramDeltas: [{account: 'registrator', delta: binaryAbi('registrator').length}],
          elapsed: 190,
        }),
        actionTrace(2, 'eosio', sovietAbi, {
          ramDeltas: [{account: 'soviet', delta: binaryAbi('soviet').length}],
          elapsed: 240,
        }),
      ],
    }),
  ]
  const codeHash = (account) => Checksum256.hash(contractCode(account))
  const deltas = [
    ['account', accounts.map((name) =>
      row('account', {name, creation_date: slotOf(n), abi: binaryAbi(name)}))],
    ['account_metadata', accounts.map((name) =>
      row('account_metadata', {
        name,
        privileged: false,
        last_code_update: TimePoint.fromMilliseconds(blockMs(n)),
        code: {vm_type: 0, vm_version: 0, code_hash: codeHash(name)},
      }))],
    ['code', accounts.map((name) =>
      row('code', {vm_type: 0, vm_version: 0, code_hash: codeHash(name), code: contractCode(name)}))],
    ['global_property', [
      row('global_property', {
        proposed_schedule_block_num: null,
        proposed_schedule: {version: 0, producers: []},
        configuration: ['chain_config_v0', CHAIN_CONFIG],
      }),
    ]],
    ['protocol_state', [
      row('protocol_state', {
        activated_protocol_features: [
          ['activated_protocol_feature_v0', {
            // PREACTIVATE_FEATURE
            feature_digest: '0ec7e080177b2c02b278d5088611686b49d739925a92d9bfcacd7fc6b74053bd',
            activation_block_num: n,
          }],
        ],
      }),
    ]],
    ['resource_limits_state', [resourceLimitsState(n)]],
  ]
  return {transactions, deltas}
}

/** Block 2: the cooperative adds a member; registrator creates the account and tells soviet. */
function block2(n) {
  const terms = {
    created_at: isoSec(n),
    initial: '100.0000 RUB',
    minimum: '300.0000 RUB',
    spread_initial: true,
  }
  const adduser = act('registrator', 'adduser', [COOPNAME], {
    coopname: COOPNAME,
    referer: '',
    username: MEMBER,
    type: 'individual',
    ...terms,
    meta: '',
    registration_hash: sha256(`registration ${MEMBER}`),
  })
  const newaccount = act('eosio', 'newaccount', ['registrator'], {
    creator: 'registrator',
    name: MEMBER,
    owner: singleKeyAuthority(MEMBER),
    active: singleKeyAuthority(MEMBER),
  })
  const addpartcpnt = act('soviet', 'addpartcpnt', ['registrator'], {
    coopname: COOPNAME,
    username: MEMBER,
    braname: '',
    type: 'individual',
    ...terms,
  })
  const trx = inputTransaction(n, [adduser], [COOPNAME])
  const transactions = [
    onblock(n),
    executed(trx, 1310, {
      action_traces: [
        actionTrace(1, 'registrator', adduser, {
          ramDeltas: [{account: COOPNAME, delta: 412}],
          elapsed: 610,
        }),
        actionTrace(2, 'eosio', newaccount, {creator: 1, elapsed: 95}),
        actionTrace(3, 'soviet', addpartcpnt, {creator: 1, elapsed: 240}),
      ],
      account_ram_delta: {account: COOPNAME, delta: 412},
    }),
  ]
  const memberKey = nameValue(MEMBER)
  const secondary = {code: 'registrator', scope: 'registrator', primary_key: memberKey, payer: COOPNAME}
  const permission = (name, parent) =>
    row('permission', {
      owner: MEMBER,
      name,
      parent,
      last_updated: TimePoint.fromMilliseconds(blockMs(n)),
      auth: singleKeyAuthority(MEMBER),
    })
  const deltas = [
    ['account', [row('account', {name: MEMBER, creation_date: slotOf(n), abi: ''})]],
    ['account_metadata', [
      row('account_metadata', {name: MEMBER, privileged: false, last_code_update: 0, code: null}),
    ]],
    ['contract_row', [
      contractRow('registrator', 'registrator', 'accounts', memberKey, COOPNAME, {
        username: MEMBER,
        referer: '',
        registrator: COOPNAME,
        type: 'individual',
        status: 'active',
        meta: '',
        storages: [COOPNAME],
        verifications: [],
        registered_at: isoSec(n),
      }),
      contractRow('soviet', COOPNAME, 'participants', memberKey, COOPNAME, {
        username: MEMBER,
        created_at: isoSec(n),
        last_update: isoSec(n),
        last_min_pay: isoSec(n),
        status: 'accepted',
        is_initial: true,
        is_minimum: true,
        has_vote: true,
        type: 'individual',
        braname: '',
        initial_amount: '100.0000 RUB',
        minimum_amount: '300.0000 RUB',
      }),
    ]],
    ['contract_index64', [
      row('contract_index64', {
        ...secondary,
        table: indexTable('accounts', 0),
        secondary_key: nameValue(COOPNAME),
      }),
    ]],
    ['contract_index128', [
      row('contract_index128', {
        ...secondary,
        table: indexTable('accounts', 1),
        secondary_key: ((BigInt(nameValue(COOPNAME)) << 64n) | BigInt(memberKey)).toString(),
      }),
    ]],
    ['contract_index256', [
      row('contract_index256', {
        ...secondary,
        table: indexTable('accounts', 2),
        secondary_key: sha256(`registration ${MEMBER}`),
      }),
    ]],
    ['global_property', [
      row('global_property', {
        proposed_schedule_block_num: n,
        proposed_schedule: {
          version: 1,
          producers: [{
            producer_name: 'eosio',
            authority: ['block_signing_authority_v0', {
              threshold: 1,
              keys: [{key: publicKeyOf('eosio'), weight: 1}],
            }],
          }],
        },
        configuration: ['chain_config_v1', {...CHAIN_CONFIG, max_action_return_value_size: 256}],
        chain_id: CHAIN_ID,
        wasm_configuration: ['wasm_config_v0', WASM_CONFIG],
      }, {version: 1}),
    ]],
    ['permission', [permission('owner', ''), permission('active', 'owner')]],
    ['permission_link', [
      row('permission_link', {
        account: MEMBER,
        code: 'soviet',
        message_type: 'votefor',
        required_permission: 'active',
      }),
    ]],
    ['resource_limits', [
      row('resource_limits', {owner: MEMBER, net_weight: -1, cpu_weight: -1, ram_bytes: -1}),
    ]],
    ['resource_usage', [resourceUsage(n, COOPNAME, 7_412)]],
    ['resource_limits_state', [resourceLimitsState(n)]],
  ]
  return {transactions, deltas}
}

/**
 * Block 3, as an older node recorded it (action_trace_v0): a council member of voskhod votes,
 * and so does one of another cooperative, whose action and rows are not voskhod's.
 */
function block3(n) {
  const vote = (coopname, username, decisionId) => {
    const signedHash = sha256(`vote ${coopname} ${decisionId} ${username}`)
    return {
      version: '1.0.0',
      coopname,
      username,
      decision_id: decisionId,
      signed_at: isoSec(n),
      signed_hash: signedHash,
      signature: keyOf(username).signDigest(signedHash),
      public_key: publicKeyOf(username),
    }
  }
  const votefor = act('soviet', 'votefor', [COUNCIL_MEMBER, COOPNAME], vote(COOPNAME, COUNCIL_MEMBER, 17))
  const otherVotefor = act('soviet', 'votefor', [OTHER_MEMBER], vote(OTHER_COOP, OTHER_MEMBER, 5))
  const trx = inputTransaction(n, [votefor], [COUNCIL_MEMBER, COOPNAME])
  const otherTrx = inputTransaction(n, [otherVotefor], [OTHER_MEMBER])
  const version = 'action_trace_v0'
  const transactions = [
    onblock(n, version),
    executed(trx, 780, {action_traces: [actionTrace(1, 'soviet', votefor, {version, elapsed: 330})]}),
    executed(otherTrx, 690, {
      action_traces: [actionTrace(1, 'soviet', otherVotefor, {version, elapsed: 300})],
    }),
  ]
  const decisions = {code: 'soviet', scope: COOPNAME, primary_key: 17, payer: COOPNAME}
  const deltas = [
    ['contract_table', [
      row('contract_table', {code: 'soviet', scope: COOPNAME, table: 'decisions', payer: COOPNAME}),
    ]],
    ['contract_row', [
      contractRow('soviet', COOPNAME, 'decisions', 17, COOPNAME,
        decision(17, COOPNAME, MEMBER, [COUNCIL_MEMBER], n)),
      contractRow('soviet', COOPNAME, 'autosigner', 17, COOPNAME, {decision_id: 17}, false),
      contractRow('soviet', OTHER_COOP, 'decisions', 5, OTHER_COOP,
        decision(5, OTHER_COOP, 'kuznetsovivn', [OTHER_MEMBER], n)),
    ]],
    ['contract_index_double', [
      row('contract_index_double', {...decisions, table: indexTable('decisions', 0), secondary_key: 0.75}),
    ]],
    ['contract_index_long_double', [
      row('contract_index_long_double', {
        ...decisions,
        table: indexTable('decisions', 1),
        // 0.75 as IEEE 754 binary128, little-endian: wharfkit takes float128 as 16 raw bytes
        secondary_key: '0000000000000000000000000080fe3f',
      }),
    ]],
    ['generated_transaction', [deferredRow(true)]],
    ['resource_limits_state', [resourceLimitsState(n)]],
    ['resource_limits_config', [
      row('resource_limits_config', {
        cpu_limit_parameters: elasticLimits(20_000, 200_000),
        net_limit_parameters: elasticLimits(104_857, 1_048_576),
        account_cpu_usage_average_window: 172_800,
        account_net_usage_average_window: 172_800,
      }),
    ]],
  ]
  return {transactions, deltas}
}

/**
 * Block 4: the deferred transaction fails and so does registrator's onerror handler, so the block
 * holds a hard_fail receipt naming the deferred transaction's id, whose trace is the onerror
 * trace carrying the deferred one in failed_dtrx_trace (nodeos sends the deferred transaction's
 * header there, and no partial on the outer trace). Then a successful registrator action.
 */
function block4(n) {
  const verificationFailed = assertionFailure('Только онлайн-верификация доступна сейчас')
  const failedDeferred = transactionTrace({
    id: DEFERRED.id,
    status: 3,
    elapsed: 350,
    scheduled: true,
    action_traces: [
      actionTrace(1, 'registrator', DEFERRED_ACTION, {elapsed: 210, except: verificationFailed}),
    ],
    except: verificationFailed,
    error_code: GENERIC_SYSTEM_ERROR,
    partial: partial(DEFERRED),
  })
  const onerror = {
    account: 'eosio',
    name: 'onerror',
    authorization: [{actor: 'registrator', permission: 'active'}],
    data: actionData('eosio', 'onerror', {sender_id: DEFERRED_SENDER_ID, sent_trx: DEFERRED.packed}),
  }
  const onerrorTrx = transaction({expiration: 0, ref_block_num: 0, ref_block_prefix: 0}, [onerror], [])
  const onerrorFailed = assertionFailure('deferred verification failed')
  const hardFail = {
    trace: transactionTrace({
      id: onerrorTrx.id,
      status: 3,
      cpu_usage_us: 420,
      elapsed: 520,
      action_traces: [actionTrace(1, 'registrator', onerror, {elapsed: 90, except: onerrorFailed})],
      account_ram_delta: {account: 'registrator', delta: -(96 + DEFERRED.packed.length)},
      except: onerrorFailed,
      error_code: GENERIC_SYSTEM_ERROR,
      failed_dtrx_trace: failedDeferred,
    }),
    receipt: {status: 3, cpu_usage_us: 420, net_usage_words: 0, trx: ['transaction_id', DEFERRED.id]},
  }
  const stcoopstatus = act('registrator', 'stcoopstatus', [COOPNAME], {
    coopname: COOPNAME,
    username: COOPNAME,
    status: 'active',
  })
  const trx = inputTransaction(n, [stcoopstatus], [COOPNAME])
  const transactions = [
    onblock(n),
    hardFail,
    executed(trx, 640, {action_traces: [actionTrace(1, 'registrator', stcoopstatus, {elapsed: 280})]}),
  ]
  const deltas = [
    ['contract_row', [
      contractRow('registrator', 'registrator', 'coops', nameValue(COOPNAME), 'registrator', {
        username: COOPNAME,
        parent_username: '',
        announce: 'Потребительский кооператив «Восход»',
        description: 'Кооператив жителей посёлка Восход',
        is_cooperative: true,
        is_branched: false,
        is_enrolled: true,
        coop_type: 'conscoop',
        registration: '100.0000 RUB',
        initial: '100.0000 RUB',
        minimum: '300.0000 RUB',
        org_registration: '1000.0000 RUB',
        org_initial: '1000.0000 RUB',
        org_minimum: '3000.0000 RUB',
        status: 'active',
        created_at: isoSec(1),
        document: document(COOPNAME, 'charter voskhod', 1),
        active_participants_count: 2,
      }),
    ]],
    ['generated_transaction', [deferredRow(false)]],
    ['resource_usage', [resourceUsage(n, COOPNAME, 7_412)]],
    ['resource_limits_state', [resourceLimitsState(n)]],
  ]
  return {transactions, deltas}
}

/** Block 5: nothing but onblock, as most blocks are. */
function block5(n) {
  return {transactions: [onblock(n)], deltas: [['resource_limits_state', [resourceLimitsState(n)]]]}
}

/** Block 6: a transfer of eosio.token (not followed) with its notifications, and a soviet row. */
function block6(n) {
  const transfer = act('eosio.token', 'transfer', [COOPNAME], {
    from: COOPNAME,
    to: MEMBER,
    quantity: '10.0000 RUB',
    memo: 'паевой взнос',
  })
  const trx = inputTransaction(n, [transfer], [COOPNAME])
  const transactions = [
    onblock(n),
    executed(trx, 230, {
      action_traces: [
        actionTrace(1, 'eosio.token', transfer, {elapsed: 70}),
        actionTrace(2, COOPNAME, transfer, {creator: 1, elapsed: 5}),
        actionTrace(3, MEMBER, transfer, {creator: 1, elapsed: 4}),
      ],
    }),
  ]
  const rub = Asset.SymbolCode.from('RUB').value.toString()
  const deltas = [
    ['contract_row', [
      contractRow('eosio.token', COOPNAME, 'accounts', rub, COOPNAME, {balance: '990.0000 RUB'}),
      contractRow('eosio.token', MEMBER, 'accounts', rub, COOPNAME, {balance: '10.0000 RUB'}),
      contractRow('soviet', 'soviet', 'counts', nameValue('decisions'), 'soviet', {
        key: 'decisions',
        secondary_key: COOPNAME,
        value: 18,
      }),
    ]],
    ['resource_usage', [resourceUsage(n, COOPNAME, 7_412)]],
    ['resource_limits_state', [resourceLimitsState(n)]],
  ]
  return {transactions, deltas}
}

/** Each block's `block`, `traces` and `deltas` as SHiP serializes them; built once, in order. */
function buildChain() {
  return [block1, block2, block3, block4, block5, block6].map((build, index) => {
    const n = index + 1
    const {transactions, deltas} = build(n)
    const header = blockHeader(n)
    const signedBlock = {
      ...header,
      producer_signature: keyOf('eosio').signDigest(Checksum256.hash(encode('block_header', header))),
      transactions: transactions.filter((t) => t.receipt).map((t) => t.receipt),
      block_extensions: [],
    }
    return {
      n,
      block: encode('signed_block', signedBlock),
      traces: encode('transaction_trace[]', transactions.map((t) => t.trace)),
      deltas: encode('table_delta[]', deltas.map(([name, rows]) => ['table_delta_v0', {name, rows}])),
    }
  })
}

// ---------------------------------------------------------------------------------------------
// What the messages hold, read back with wharfkit

const toJson = (value) => JSON.parse(JSON.stringify(value))

/** Decoded contract data, or null for a contract with no ABI in ../data/coopos-abi (eosio.token). */
function decodeContract(account, type, data) {
  const abi = CONTRACT_ABIS.get(account)
  return abi && type(abi) ? toJson(Serializer.decode({data, type: type(abi), abi})) : null
}

const ours = (name) => name === COOPNAME || FOLLOWED.has(name)

/** The follower's filter for an action trace, given its decoded data. */
function keepsAction(trxStatus, actionTrace, data) {
  if (trxStatus !== 0 || !actionTrace.receipt) {
    return false
  }
  const receiver = String(actionTrace.receiver)
  const account = String(actionTrace.act.account)
  if (FOLLOWED.has(receiver) && FOLLOWED.has(account)) {
    return data === null || !('coopname' in data) || data.coopname === COOPNAME
  }
  if (account !== 'eosio' || receiver !== 'eosio' || data === null) {
    return false
  }
  const [first, second] = Object.values(data)
  switch (String(actionTrace.act.name)) {
    case 'setabi':
    case 'updateauth':
      return ours(first)
    case 'newaccount':
      return ours(first) || ours(second)
    case 'createaccnt':
      return first === COOPNAME
    default:
      return false
  }
}

const keepsRow = (code, scope) => FOLLOWED.has(code) && (scope === COOPNAME || FOLLOWED.has(scope))

const ramDelta = (delta) =>
  delta ? {account: String(delta.account), delta: delta.delta.toNumber()} : null

/** What the block messages hold, decoded with the SHiP ABI they were encoded with. */
function expectations(abi, messages) {
  const expect = {blocks: [], actions: [], rows: [], abis: []}
  for (const message of messages) {
    const [, result] = Serializer.decode({data: message, type: 'result', abi})
    const n = result.this_block.block_num.toNumber()
    const block = Serializer.decode({data: result.block, type: 'signed_block', abi})
    const traces = Serializer.decode({data: result.traces, type: 'transaction_trace[]', abi})
    const deltas = Serializer.decode({data: result.deltas, type: 'table_delta[]', abi})
    expect.blocks.push({
      block_num: n,
      block_id: result.this_block.block_id.hexString,
      previous: block.previous.hexString,
      timestamp: String(block.timestamp),
      traces: traces.map(([, trace]) => ({
        id: trace.id.hexString,
        status: trace.status.toNumber(),
        partial_signatures: trace.partial ? trace.partial[1].signatures.map(String) : null,
        account_ram_delta: ramDelta(trace.account_ram_delta),
        failed_dtrx_trace_id: trace.failed_dtrx_trace ? trace.failed_dtrx_trace[1].id.hexString : null,
        actions: trace.action_traces.length,
      })),
      deltas: deltas.map(([, delta]) => ({name: delta.name, rows: delta.rows.length})),
    })
    for (const [, trace] of traces) {
      const trxStatus = trace.status.toNumber()
      for (const [, actionTrace] of trace.action_traces) {
        if (!actionTrace.receipt) {
          continue
        }
        const {account, name, authorization, data} = actionTrace.act
        const decoded = decodeContract(String(account), (a) => a.getActionType(name), data)
        expect.actions.push({
          block_num: n,
          global_sequence: actionTrace.receipt[1].global_sequence.toNumber(),
          trx_id: trace.id.hexString,
          trx_status: trxStatus,
          action_ordinal: actionTrace.action_ordinal.toNumber(),
          creator_action_ordinal: actionTrace.creator_action_ordinal.toNumber(),
          receiver: String(actionTrace.receiver),
          account: String(account),
          name: String(name),
          authorization: authorization.map((level) => ({
            actor: String(level.actor),
            permission: String(level.permission),
          })),
          data_hex: data.hexString,
          data: decoded,
          kept: keepsAction(trxStatus, actionTrace, decoded),
        })
      }
    }
    for (const [, delta] of deltas) {
      for (const {present, data} of delta.rows) {
        const [, value] = Serializer.decode({data, type: delta.name, abi})
        if (delta.name === 'contract_row') {
          const [code, scope, table] = [value.code, value.scope, value.table].map(String)
          expect.rows.push({
            block_num: n,
            code,
            scope,
            table,
            primary_key: value.primary_key.toString(),
            present,
            payer: String(value.payer),
            value_hex: value.value.hexString,
            value: decodeContract(code, (a) => tableType(a, table), value.value),
            kept: keepsRow(code, scope),
          })
        } else if (delta.name === 'account' && present && value.abi.length > 0) {
          expect.abis.push({block_num: n, account: String(value.name)})
        }
      }
    }
  }
  return expect
}

// ---------------------------------------------------------------------------------------------
// The files

const STATUS = {
  head: position(LAST_BLOCK),
  last_irreversible: position(LAST_BLOCK),
  trace_begin_block: 1,
  trace_end_block: LAST_BLOCK + 1,
  chain_state_begin_block: 1,
  chain_state_end_block: LAST_BLOCK + 1,
  chain_id: CHAIN_ID,
}

const blocksResult = ({n, block, traces, deltas}) => ({
  head: position(LAST_BLOCK),
  last_irreversible: position(LAST_BLOCK),
  this_block: position(n),
  prev_block: n > 1 ? position(n - 1) : null,
  block,
  traces,
  deltas,
})

/** Spring's finality data is opaque here: 40 bytes derived from the block number. */
function finalityData(n) {
  const digest = sha256(`finality data ${n}`).array
  return Bytes.from([...digest, ...digest.subarray(0, 8)])
}

const NODES = [
  {
    file: 'leap5.frames.json',
    about: 'SHiP messages of six irreversible COOPOS blocks as a Leap 5 node sends them ' +
      '(get_status_result_v0, get_blocks_result_v0), encoded by @wharfkit/antelope; ' +
      '`expect` is what wharfkit reads back from them.',
    abiFile: 'leap5-ship-abi.json',
    abi: SHIP,
    status: ['get_status_result_v0', STATUS],
    blocks: (block) => ['get_blocks_result_v0', blocksResult(block)],
  },
  {
    file: 'spring1.frames.json',
    about: 'SHiP messages of six irreversible COOPOS blocks as a Spring 1.x node sends them ' +
      '(get_status_result_v1, get_blocks_result_v1 with finality_data), encoded by ' +
      '@wharfkit/antelope; `expect` is what wharfkit reads back from them.',
    abiFile: 'spring1-ship-abi.json',
    abi: ABI.from(SPRING_ABI_JSON),
    status: ['get_status_result_v1', {
      ...STATUS,
      finality_data_begin_block: 1,
      finality_data_end_block: LAST_BLOCK + 1,
    }],
    blocks: (block) => ['get_blocks_result_v1', {
      ...blocksResult(block),
      finality_data: finalityData(block.n),
    }],
  },
]

function framesFile(node, chain) {
  const messages = chain.map((block) => encode('result', node.blocks(block), node.abi))
  return {
    about: node.about,
    generator: GENERATOR,
    abi: node.abiFile,
    coopname: COOPNAME,
    chain_id: CHAIN_ID.hexString,
    status: encode('result', node.status, node.abi).hexString,
    blocks: messages.map((message) => message.hexString),
    expect: expectations(node.abi, messages),
  }
}

const pretty = (value) => JSON.stringify(value, null, 2) + '\n'

function main(args) {
  if (args.length > 1 || (args.length === 1 && args[0] !== '--check')) {
    console.error('usage: node ship_fixtures.mjs [--check]')
    process.exit(2)
  }
  const chain = buildChain()
  const outputs = [
    [join(SHIP_DIR, 'spring1-ship-abi.json'), pretty(SPRING_ABI_JSON)],
    ...NODES.map((node) => [join(SHIP_DIR, node.file), pretty(framesFile(node, chain))]),
  ]
  if (args[0] !== '--check') {
    for (const [file, content] of outputs) {
      writeFileSync(file, content)
    }
    return
  }
  const current = (file) => {
    try {
      return readFileSync(file, 'utf8')
    } catch {
      return null
    }
  }
  const stale = outputs.filter(([file, content]) => current(file) !== content)
  for (const [file] of stale) {
    console.error(`${relative(REPO, file)} differs from what ${GENERATOR} writes`)
  }
  process.exit(stale.length > 0 ? 1 : 0)
}

main(process.argv.slice(2))
