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
 * The implicit `eosio::onblock` transaction that opens every block. With no_duplicate_deferred_id
 * active its header is all zero; nodeos records its packed form, so `partial` is present.
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

/** An input transaction executed in block n, as its trace and its receipt in the block. */
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
const indexTable = (table, index) => Name.from(UInt64.from((BigInt(nameValue(table)) & ~0xfn) | BigInt(index)))

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
    return Bytes.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00, name.length + 1, name.length, ...name])
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

