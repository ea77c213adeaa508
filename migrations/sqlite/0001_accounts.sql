-- Accounts and the admin audit log (SQLite dialect).
-- `INTEGER PRIMARY KEY` is SQLite's rowid: ids are assigned by the database.
-- Flags are INTEGER 0/1: sqlx's Any driver cannot map SQLite's BOOLEAN type.
CREATE TABLE players (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL DEFAULT 'player' CHECK (role IN ('player', 'admin')),
    banned        INTEGER NOT NULL DEFAULT 0 CHECK (banned IN (0, 1)),
    created_at    BIGINT  NOT NULL
);

CREATE TABLE admin_audit (
    id     INTEGER PRIMARY KEY,
    at     BIGINT  NOT NULL,
    actor  TEXT    NOT NULL,
    line   TEXT    NOT NULL,
    ok     INTEGER NOT NULL CHECK (ok IN (0, 1)),
    output TEXT    NOT NULL
);
