-- Every stored contract row version knows the block at which the next version of the same row
-- replaced it (valid_to_block; NULL while it is the latest), so "the table as of block N" is a
-- range check on indexed columns: block_num <= N < valid_to_block. The store keeps the column in
-- the transaction that commits the next version, and clears it again on a rollback.

ALTER TABLE deltas ADD COLUMN valid_to_block BIGINT;

UPDATE deltas SET valid_to_block = next.next_block
FROM (
    SELECT code, scope, table_name, primary_key, block_num,
        LEAD(block_num) OVER (
            PARTITION BY code, scope, table_name, primary_key ORDER BY block_num
        ) AS next_block
    FROM deltas
) AS next
WHERE deltas.code = next.code AND deltas.scope = next.scope
    AND deltas.table_name = next.table_name AND deltas.primary_key = next.primary_key
    AND deltas.block_num = next.block_num AND next.next_block IS NOT NULL;

-- A rollback reopens the versions its removed blocks had closed.
CREATE INDEX deltas_valid_to_block ON deltas (valid_to_block) WHERE valid_to_block IS NOT NULL;
