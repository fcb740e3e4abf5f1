-- One-time tokens resetting the key an account logs in with, sent by e-mail. A token is
-- stored only as its SHA-256, is used at most once (used_at), and expires; reset tokens of
-- an account that are neither used nor expired are the only live ones.

CREATE TABLE key_resets (
    token_hash BYTEA PRIMARY KEY,
    username TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX key_resets_expires ON key_resets (expires_at);
