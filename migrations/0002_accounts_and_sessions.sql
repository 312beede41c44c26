-- Registered names. `name_key` is the case-folded name: "Ana" and "ana" are one account.
-- `user_id` is who the account is to rooms and presence (a guest who registers keeps theirs).
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    user_id       TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    name_key      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_ms    INTEGER NOT NULL
);

-- Sessions of guests (no account) and of accounts. Only a hash of the cookie's token is
-- kept, so a copy of the database does not let anyone in.
CREATE TABLE sessions (
    token_hash BLOB    PRIMARY KEY,
    account_id INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_account ON sessions (account_id);
