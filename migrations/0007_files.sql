-- Files sent with messages. One row per upload: the bytes live in the file store under
-- `hash` (SHA-256 of what is served, hex), so the same bytes sent twice are kept once,
-- while each upload belongs to one room and is served only to who may read that room.
-- An image has a thumbnail under `thumb` (its own hash); other kinds have none.
CREATE TABLE files (
    id         TEXT    PRIMARY KEY,
    hash       TEXT    NOT NULL,
    thumb      TEXT,
    room_id    INTEGER NOT NULL REFERENCES rooms (id),
    uploader   TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    mime       TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    width      INTEGER NOT NULL DEFAULT 0,
    height     INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- A user's quota: what they uploaded, newest last.
CREATE INDEX files_uploader ON files (uploader, created_ms);

-- The file a message carries (its `Attachment`, JSON), or NULL.
ALTER TABLE messages ADD COLUMN file TEXT;
