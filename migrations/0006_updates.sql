-- Changes to messages are events of the room's stream too (issue 16: a link's card;
-- later edits, deletes, reactions), so a message keeps its seq and gains a number `n`
-- among the room's messages only: read marks (`readers.last_read`, `readers.mentioned`)
-- and unread counts are in message numbers from now on. Until today every event was a
-- message, so each stored message's number is its seq, and the marks stay right.
ALTER TABLE messages ADD COLUMN n INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET n = seq;

-- Who wrote it (a user id; NULL for messages stored before): only they may change it.
ALTER TABLE messages ADD COLUMN author_id TEXT;

-- A message's link card as it is now (`protocol::Preview`, JSON); NULL for none.
ALTER TABLE messages ADD COLUMN preview TEXT;

-- Every change, in the room's seq order with its messages: what a client resuming
-- after seq N is sent. `change` is the `protocol::Change`, as JSON.
CREATE TABLE updates (
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    seq     INTEGER NOT NULL,
    target  INTEGER NOT NULL,
    cid     TEXT    NOT NULL,
    change  TEXT    NOT NULL,
    at_ms   INTEGER NOT NULL,
    PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;

-- A retried change carries the same id: this is what applies it once.
CREATE UNIQUE INDEX updates_room_cid ON updates (room_id, cid);

-- Cards by link, fetched once and reused (`card` NULL: the page had none to give) ...
CREATE TABLE previews (
    url        TEXT    PRIMARY KEY,
    card       TEXT,
    fetched_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- ... and their thumbnails, re-encoded by Natter, by the hash of their bytes.
CREATE TABLE preview_images (
    hash  TEXT PRIMARY KEY,
    bytes BLOB NOT NULL
) WITHOUT ROWID;
