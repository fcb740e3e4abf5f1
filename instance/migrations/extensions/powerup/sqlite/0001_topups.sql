-- Each top-up powerup pushed: what it paid, so the daily spending cap holds across restarts.
CREATE TABLE powerup_topups (
    transaction_id TEXT PRIMARY KEY,
    topped_up_at INTEGER NOT NULL,
    block_num INTEGER NOT NULL,
    amount TEXT NOT NULL,
    amount_units INTEGER NOT NULL
) STRICT;
CREATE INDEX powerup_topups_by_time ON powerup_topups (topped_up_at);
