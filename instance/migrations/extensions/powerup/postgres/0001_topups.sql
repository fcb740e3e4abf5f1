-- Each top-up powerup pushed: what it paid, so the daily spending cap holds across restarts.
CREATE TABLE powerup_topups (
    transaction_id TEXT COLLATE "C" PRIMARY KEY,
    topped_up_at BIGINT NOT NULL,
    block_num BIGINT NOT NULL,
    amount TEXT NOT NULL,
    amount_units BIGINT NOT NULL
);
CREATE INDEX powerup_topups_by_time ON powerup_topups (topped_up_at);
