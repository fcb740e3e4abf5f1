-- Sessions of the GraphQL API: login challenges (single use, short-lived) and refresh tokens.
-- A refresh token is stored only as its SHA-256, so a copy of the database cannot log anyone in.
-- Tokens that descend from one login share a family; presenting a spent token again revokes
-- the whole family, since either its holder or a thief is replaying it.

CREATE TABLE auth_challenges (
    challenge TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX auth_challenges_expires ON auth_challenges (expires_at);

CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY,
    family BLOB NOT NULL,
    username TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    spent INTEGER NOT NULL DEFAULT 0,
    revoked INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
