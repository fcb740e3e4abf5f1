// Drives a running `mono devnet` with @wharfkit/antelope, a client written against nodeos, used
// unmodified: Chain API reads, a transaction it signs itself, the block read back, and the SHiP
// stream decoded with the ABI the server sent as its first frame.
//
// Usage: node wharfkit.mjs '<ready line of mono devnet>'
// Prints one JSON line of what it found; exits non-zero on any mismatch.

import {
  ABI,
  Action,
  APIClient,
  Bytes,
  FetchProvider,
  Name,
  PackedTransaction,
  PrivateKey,
  Serializer,
  SignedTransaction,
  Transaction,
} from '@wharfkit/antelope'
import WebSocket from 'ws'

/** Every wait of this script ends by this many milliseconds after start. */
const DEADLINE_MS = 30_000
const started = Date.now()

class Mismatch extends Error {}

function expect(condition, message) {
  if (!condition) {
    throw new Mismatch(message)
  }
}

function remainingMs() {
  return Math.max(0, DEADLINE_MS - (Date.now() - started))
}

/** A fresh 12-letter account name, distinct on every run. */
function freshName() {
  const letters = 'abcdefghijklmnopqrstuvwxyz'
  let name = 'interop'
  for (let i = 0; i < 5; i++) {
    name += letters[Math.floor(Math.random() * letters.length)]
  }
  return name
}

/** Chain API: get_info, the ABI both ways, a signed push, the block read back. */
async function chainApi(ready, found) {
  const client = new APIClient({ provider: new FetchProvider(ready.http) })
  const coopname = ready.coopname
  const cooperative = ready.accounts.find((account) => account.role === 'cooperative')
  expect(cooperative && cooperative.private_key, 'the ready line holds the cooperative key')

  const info = await client.v1.chain.get_info()
  expect(String(info.chain_id) === ready.chain_id, `chain_id ${info.chain_id} is ${ready.chain_id}`)
  expect(Number(info.head_block_num) >= 2, 'the bootstrap blocks are produced')
  found.chain_id = String(info.chain_id)
  found.head_block_num = Number(info.head_block_num)

  const { abi: abiDef } = await client.v1.chain.get_abi('registrator')
  expect(abiDef, 'get_abi returns the registrator ABI')
  const abi = ABI.from(abiDef)
  const raw = await client.v1.chain.get_raw_abi('registrator')
  const rawAbi = ABI.from(raw.abi)
  expect(rawAbi.equals(abi), 'get_raw_abi and get_abi describe the same ABI')
  expect(abi.getStruct('adduser'), 'the ABI has the adduser struct')

  const username = freshName()
  const data = {
    coopname,
    referer: '',
    username,
    type: 'individual',
    created_at: '2025-01-01T00:00:00',
    initial: '100.0000 RUB',
    minimum: '300.0000 RUB',
    spread_initial: true,
    meta: '',
    registration_hash: '5'.repeat(64),
  }
  const action = Action.from(
    {
      account: 'registrator',
      name: 'adduser',
      authorization: [{ actor: coopname, permission: 'active' }],
      data,
    },
    abi,
  )
  const transaction = Transaction.from({ ...info.getTransactionHeader(), actions: [action] })
  const key = PrivateKey.from(cooperative.private_key)
  const signature = key.signDigest(transaction.signingDigest(info.chain_id))
  const signed = SignedTransaction.from({ ...transaction, signatures: [signature] })
  const pushed = await client.v1.chain.push_transaction(signed)
  const trxId = String(transaction.id)
  expect(pushed.transaction_id === trxId, `pushed id ${pushed.transaction_id} is ${trxId}`)
  const blockNum = Number(pushed.processed.block_num)
  expect(blockNum > found.head_block_num, `the trace names a new block: ${blockNum}`)
  found.username = username
  found.transaction_id = trxId
  found.block_num = blockNum

  // The block is produced on the devnet's clock; wait for it within the deadline.
  let head = 0
  for (let attempt = 0; attempt < 200 && head < blockNum && remainingMs() > 0; attempt++) {
    head = Number((await client.v1.chain.get_info()).head_block_num)
    if (head < blockNum) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  expect(head >= blockNum, `block ${blockNum} is produced (head ${head})`)

  // wharfkit 1.2.0 types get_block's `block_extensions` with a type it never registers, so its
  // typed `get_block` throws on the `[]` nodeos sends; read the block untyped and type its parts.
  const block = await client.call({ path: '/v1/chain/get_block', params: { block_num_or_id: blockNum } })
  expect(block.block_num === blockNum, 'get_block answers the block asked for')
  expect(Array.isArray(block.block_extensions), 'get_block has block_extensions as nodeos')
  const receipt = block.transactions.find((candidate) => candidate.trx.id === trxId)
  expect(receipt, `block ${blockNum} holds transaction ${trxId}`)
  expect(receipt.status === 'executed', `receipt status ${receipt.status}`)
  // nodeos prints the compression by name, wharfkit types it as its number.
  const compression = { none: 0, zlib: 1 }[receipt.trx.compression]
  const inBlock = PackedTransaction.from({ ...receipt.trx, compression }).getTransaction()
  expect(String(inBlock.id) === trxId, 'the packed transaction hashes to its id')
  const decoded = inBlock.actions[0].decodeData(abi)
  expect(String(decoded.username) === username, 'the packed transaction decodes to the action')
  expect(receipt.trx.transaction.actions[0].data.username === username, 'get_block decodes the data')
  found.block_id = block.id
  found.block_transaction_id = receipt.trx.id
  const blockInfo = await client.v1.chain.get_block_info(blockNum)
  expect(String(blockInfo.id) === found.block_id, 'get_block_info agrees with get_block')
  return { abi }
}

/** Reads websocket frames in order, each awaited with the remaining time. */
function frameQueue(socket) {
  const frames = []
  const waiters = []
  let failure = null
  const deliver = () => {
    while (waiters.length > 0 && (frames.length > 0 || failure)) {
      const waiter = waiters.shift()
      if (frames.length > 0) {
        waiter.resolve(frames.shift())
      } else {
        waiter.reject(failure)
      }
    }
  }
  socket.on('message', (data, isBinary) => {
    frames.push({ data, isBinary })
    deliver()
  })
  socket.on('error', (error) => {
    failure = error
    deliver()
  })
  socket.on('close', () => {
    failure = failure || new Mismatch('the SHiP server closed the connection')
    deliver()
  })
  return () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Mismatch('no SHiP frame in time')), remainingMs())
      waiters.push({
        resolve: (frame) => {
          clearTimeout(timer)
          resolve(frame)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      deliver()
    })
}

/** SHiP: ABI frame, status, blocks with traces and deltas, acks, the pushed trace. */
async function ship(ready, contractAbi, found) {
  const socket = new WebSocket(ready.ship)
  socket.binaryType = 'nodebuffer'
  const next = frameQueue(socket)
  try {
    const first = await next()
    expect(!first.isBinary, 'the first SHiP frame is text')
    const shipAbi = ABI.from(JSON.parse(first.data.toString('utf8')))
    found.ship_abi_tables = shipAbi.tables.map((table) => String(table.name))
    const send = (request) => socket.send(Serializer.encode({ object: request, type: 'request', abi: shipAbi }).array)
    const receive = async () => {
      const frame = await next()
      expect(frame.isBinary, 'SHiP results are binary')
      const [kind, value] = Serializer.decode({ data: Bytes.from(frame.data), type: 'result', abi: shipAbi })
      return { kind, value }
    }

    send(['get_status_request_v0', {}])
    const status = await receive()
    expect(status.kind === 'get_status_result_v0', `status answer is ${status.kind}`)
    const headNum = Number(status.value.head.block_num)
    expect(headNum >= found.block_num, `SHiP head ${headNum} has the pushed block`)
    expect(String(status.value.chain_id) === ready.chain_id, 'SHiP status names the chain')
    found.ship_head_block_num = headNum

    const maxInFlight = 2
    send([
      'get_blocks_request_v0',
      {
        start_block_num: 1,
        end_block_num: found.block_num + 1,
        max_messages_in_flight: maxInFlight,
        have_positions: [],
        irreversible_only: false,
        fetch_block: true,
        fetch_traces: true,
        fetch_deltas: true,
      },
    ])
    let unacked = 0
    let previous = 0
    let deltaRows = 0
    const deltaNames = new Set()
    for (let received = 0; received < found.block_num; received++) {
      const { kind, value } = await receive()
      expect(kind === 'get_blocks_result_v0', `blocks answer is ${kind}`)
      unacked += 1
      const blockNum = Number(value.this_block.block_num)
      expect(blockNum === previous + 1, `block ${blockNum} follows ${previous}`)
      previous = blockNum
      expect(value.block, `block ${blockNum} carries its signed block`)
      const signedBlock = Serializer.decode({ data: value.block, type: 'signed_block', abi: shipAbi })
      expect(String(signedBlock.producer) === 'eosio', 'blocks are produced by eosio')
      const traces = Serializer.decode({ data: value.traces, type: 'transaction_trace[]', abi: shipAbi })
      const deltas = Serializer.decode({ data: value.deltas, type: 'table_delta[]', abi: shipAbi })
      for (const [, delta] of deltas) {
        deltaNames.add(delta.name)
        for (const row of delta.rows) {
          // Every row decodes as the type the ABI's table list names for the delta.
          const table = shipAbi.tables.find((candidate) => String(candidate.name) === delta.name)
          expect(table, `the SHiP ABI lists the ${delta.name} table`)
          Serializer.decode({ data: row.data, type: table.type, abi: shipAbi })
          deltaRows += 1
        }
      }
      if (blockNum === found.block_num) {
        expect(String(value.this_block.block_id) === found.block_id, 'SHiP and get_block agree on the id')
        const trace = traces.map(([, t]) => t).find((t) => String(t.id) === found.transaction_id)
        expect(trace, `block ${blockNum} traces transaction ${found.transaction_id}`)
        const actions = trace.action_traces.map(([, t]) => t)
        const [, receipt] = actions[0].receipt
        found.trace = {
          status: Number(trace.status),
          actions: actions.map((t) => `${t.receiver}:${t.act.account}::${t.act.name}`),
          global_sequence: String(receipt.global_sequence),
        }
        const act = Action.from(actions[0].act)
        const decoded = act.decodeData(contractAbi)
        found.ship_action = {
          account: String(act.account),
          name: String(act.name),
          coopname: String(decoded.coopname),
          username: String(decoded.username),
          initial: String(decoded.initial),
        }
        const rows = deltas
          .map(([, delta]) => delta)
          .filter((delta) => delta.name === 'contract_row')
          .flatMap((delta) => delta.rows)
          .map((row) => Serializer.decode({ data: row.data, type: 'contract_row', abi: shipAbi })[1])
          .filter((row) => String(row.table) === 'accounts' && String(row.code) === 'registrator')
        found.account_row_keys = rows.map((row) => String(Name.from(row.primary_key)))
      }
      if (unacked === maxInFlight) {
        send(['get_blocks_ack_request_v0', { num_messages: unacked }])
        unacked = 0
      }
    }
    found.ship_blocks = previous
    found.ship_delta_rows = deltaRows
    found.ship_delta_names = [...deltaNames].sort()
  } finally {
    socket.close()
  }
}

async function main() {
  const text = process.argv[2]
  expect(text, 'pass the ready line of mono devnet as the first argument')
  const ready = JSON.parse(text)
  const found = {}
  const { abi } = await chainApi(ready, found)
  await ship(ready, abi, found)
  expect(found.trace && found.trace.status === 0, 'the trace is executed')
  expect(found.ship_action.username === found.username, 'SHiP action is the pushed one')
  expect(found.account_row_keys.includes(found.username), 'SHiP deltas hold the new account card')
  process.stdout.write(`${JSON.stringify(found)}\n`)
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`interop: ${error instanceof Mismatch ? 'mismatch' : 'error'}: ${error.stack || error}\n`)
    process.exit(1)
  },
)
