-- Extensions installed in this instance: one row each, with whether it runs and its
-- configuration (JSON, validated against the extension's JSON Schema before it is written;
-- fields the schema marks `writeOnly` are secrets, stored here and never returned by the API).
-- Uninstalling removes the row; what the extension's own migrations created stays, so a
-- reinstall finds its data again.

CREATE TABLE extensions (
    name TEXT COLLATE "C" PRIMARY KEY,
    version TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    config TEXT NOT NULL,
    installed_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The extensions' own migrations applied so far, by extension and number.
CREATE TABLE extension_migrations (
    extension TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    description TEXT NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (extension, version)
);
