-- Personal data that never goes on chain (individuals, organizations, entrepreneurs, payment
-- methods, the cooperative's vars, …), versioned by block: a change closes the current version
-- (valid_to_block) and adds the next one, a deletion only closes it. Nothing is overwritten or
-- removed, so the data as of any block is one indexed query.
-- A version closed in the block it opened ([b, b)) was replaced within that block: it stays in
-- the history and is never the state as of any block.

CREATE TABLE private_records (
    kind TEXT NOT NULL,
    record_key TEXT NOT NULL,
    version INTEGER NOT NULL,
    valid_from_block INTEGER NOT NULL,
    valid_to_block INTEGER,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, record_key, version),
    CHECK (valid_to_block IS NULL OR valid_to_block >= valid_from_block)
) STRICT;
CREATE INDEX private_records_as_of ON private_records (kind, record_key, valid_from_block);
-- At most one open version per record.
CREATE UNIQUE INDEX private_records_open ON private_records (kind, record_key)
    WHERE valid_to_block IS NULL;
