-- Chain events: append-only, each table keyed by its natural key.
-- u64 keys (global_sequence, primary_key) are stored as INTEGER with the top bit flipped
-- (value - 2^63), which keeps their order; see src/store/codec.rs.
-- Names sort bytewise (BINARY collation), as in PostgreSQL with "C".

CREATE TABLE blocks (
    block_num INTEGER PRIMARY KEY,
    block_id BLOB NOT NULL,
    previous BLOB NOT NULL,
    timestamp_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE actions (
    global_sequence INTEGER PRIMARY KEY,
    block_num INTEGER NOT NULL,
    trx_id BLOB NOT NULL,
    action_ordinal INTEGER NOT NULL,
    creator_action_ordinal INTEGER NOT NULL,
    receiver TEXT NOT NULL,
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    "authorization" TEXT NOT NULL,
    data TEXT,
    raw BLOB NOT NULL,
    abi_hash BLOB
) STRICT;
CREATE INDEX actions_block_num ON actions (block_num);
CREATE INDEX actions_account_name ON actions (account, name, block_num);

CREATE TABLE deltas (
    code TEXT NOT NULL,
    scope TEXT NOT NULL,
    table_name TEXT NOT NULL,
    primary_key INTEGER NOT NULL,
    block_num INTEGER NOT NULL,
    present INTEGER NOT NULL,
    payer TEXT NOT NULL,
    value TEXT,
    raw BLOB NOT NULL,
    abi_hash BLOB,
    PRIMARY KEY (code, scope, table_name, primary_key, block_num)
) STRICT;
CREATE INDEX deltas_block_num ON deltas (block_num);

CREATE TABLE abis (
    account TEXT NOT NULL,
    block_num INTEGER NOT NULL,
    abi_hash BLOB NOT NULL,
    abi BLOB NOT NULL,
    PRIMARY KEY (account, block_num)
) STRICT;
CREATE INDEX abis_block_num ON abis (block_num);

CREATE TABLE undecodable (
    block_num INTEGER NOT NULL,
    kind TEXT NOT NULL,
    locator TEXT NOT NULL,
    raw BLOB NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (block_num, kind, locator)
) STRICT;

-- The single row says which block was committed last, together with its events.
CREATE TABLE cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    block_num INTEGER NOT NULL,
    block_id BLOB NOT NULL,
    lib INTEGER NOT NULL
) STRICT;
