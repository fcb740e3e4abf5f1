-- Sessions of the GraphQL API: login challenges (single use, short-lived) and refresh tokens.
-- A refresh token is stored only as its SHA-256, so a copy of the database cannot log anyone in.
-- Tokens that descend from one login share a family; presenting a spent token again revokes
-- the whole family, since either its holder or a thief is replaying it.

CREATE TABLE auth_challenges (
    challenge TEXT COLLATE "C" PRIMARY KEY,
    username TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX auth_challenges_expires ON auth_challenges (expires_at);

CREATE TABLE refresh_tokens (
    token_hash BYTEA PRIMARY KEY,
    family BYTEA NOT NULL,
    username TEXT COLLATE "C" NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    spent BOOLEAN NOT NULL DEFAULT FALSE,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
