-- Registry projections: every version of every contract row a registry reads, and every
-- document an action carried, with the columns registries filter and sort on. Written by the
-- store in the transaction that commits the block's events, from the pure projection in
-- src/registry/projection.rs; rolled back with them. Versioned like deltas: a row version is in
-- force at block N when block_num <= N < valid_to_block (NULL: still in force).
-- A removed contract row only closes its last version.

CREATE TABLE registry_rows (
    source TEXT NOT NULL,
    row_key TEXT NOT NULL,
    block_num INTEGER NOT NULL,
    valid_to_block INTEGER,
    coopname TEXT NOT NULL,
    username TEXT,
    status TEXT,
    kind TEXT,
    reference TEXT,
    -- Seconds since 1970.
    created_at INTEGER,
    -- Smallest units of the row's asset.
    amount INTEGER,
    -- JSON text: the row as decoded, or the document occurrence.
    data TEXT NOT NULL,
    PRIMARY KEY (source, row_key, block_num)
) STRICT;
CREATE INDEX registry_rows_list ON registry_rows (source, coopname, row_key, block_num);
CREATE INDEX registry_rows_username ON registry_rows (source, coopname, username, block_num);
CREATE INDEX registry_rows_status ON registry_rows (source, coopname, status, row_key);
CREATE INDEX registry_rows_reference ON registry_rows (source, reference);
CREATE INDEX registry_rows_block_num ON registry_rows (block_num);
CREATE INDEX registry_rows_valid_to_block ON registry_rows (valid_to_block)
    WHERE valid_to_block IS NOT NULL;

-- Which projection code wrote registry_rows; the store rebuilds them from the events when it
-- differs from the running code's (after an upgrade that changes a projection).
CREATE TABLE registry_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    projection_version INTEGER NOT NULL
) STRICT;
