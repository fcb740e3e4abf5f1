-- Chain events: append-only, each table keyed by its natural key.
-- u64 keys (global_sequence, primary_key) are stored as BIGINT with the top bit flipped
-- (value - 2^63), which keeps their order; see src/store/codec.rs.
-- Names use the "C" collation so they sort bytewise, as in SQLite.

CREATE TABLE blocks (
    block_num BIGINT PRIMARY KEY,
    block_id BYTEA NOT NULL,
    previous BYTEA NOT NULL,
    timestamp_ms BIGINT NOT NULL
);

CREATE TABLE actions (
    global_sequence BIGINT PRIMARY KEY,
    block_num BIGINT NOT NULL,
    trx_id BYTEA NOT NULL,
    action_ordinal BIGINT NOT NULL,
    creator_action_ordinal BIGINT NOT NULL,
    receiver TEXT COLLATE "C" NOT NULL,
    account TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    "authorization" JSON NOT NULL,
    data JSON,
    raw BYTEA NOT NULL,
    abi_hash BYTEA
);
CREATE INDEX actions_block_num ON actions (block_num);
CREATE INDEX actions_account_name ON actions (account, name, block_num);

CREATE TABLE deltas (
    code TEXT COLLATE "C" NOT NULL,
    scope TEXT COLLATE "C" NOT NULL,
    table_name TEXT COLLATE "C" NOT NULL,
    primary_key BIGINT NOT NULL,
    block_num BIGINT NOT NULL,
    present BOOLEAN NOT NULL,
    payer TEXT COLLATE "C" NOT NULL,
    value JSON,
    raw BYTEA NOT NULL,
    abi_hash BYTEA,
    PRIMARY KEY (code, scope, table_name, primary_key, block_num)
);
CREATE INDEX deltas_block_num ON deltas (block_num);

CREATE TABLE abis (
    account TEXT COLLATE "C" NOT NULL,
    block_num BIGINT NOT NULL,
    abi_hash BYTEA NOT NULL,
    abi BYTEA NOT NULL,
    PRIMARY KEY (account, block_num)
);
CREATE INDEX abis_block_num ON abis (block_num);

CREATE TABLE undecodable (
    block_num BIGINT NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    locator TEXT COLLATE "C" NOT NULL,
    raw BYTEA NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (block_num, kind, locator)
);

-- The single row says which block was committed last, together with its events.
CREATE TABLE cursor (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    block_num BIGINT NOT NULL,
    block_id BYTEA NOT NULL,
    lib BIGINT NOT NULL
);
