-- Extensions installed in this instance: one row each, with whether it runs and its
-- configuration (JSON, validated against the extension's JSON Schema before it is written;
-- fields the schema marks `writeOnly` are secrets, stored here and never returned by the API).
-- Uninstalling removes the row; what the extension's own migrations created stays, so a
-- reinstall finds its data again.

CREATE TABLE extensions (
    name TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    config TEXT NOT NULL,
    installed_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- The extensions' own migrations applied so far, by extension and number.
CREATE TABLE extension_migrations (
    extension TEXT NOT NULL,
    version INTEGER NOT NULL,
    description TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (extension, version)
) STRICT;
