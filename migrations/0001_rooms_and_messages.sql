-- Rooms are fixed topics for now; messages are numbered per room by `seq`.
CREATE TABLE rooms (
    id         INTEGER PRIMARY KEY,
    slug       TEXT    NOT NULL UNIQUE,
    title      TEXT    NOT NULL,
    topic      TEXT    NOT NULL,
    created_ms INTEGER NOT NULL
);

-- Clustered on (room_id, seq): a history page is one contiguous range read.
CREATE TABLE messages (
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    seq     INTEGER NOT NULL,
    cid     TEXT    NOT NULL,
    author  TEXT    NOT NULL,
    text    TEXT    NOT NULL,
    at_ms   INTEGER NOT NULL,
    PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;

-- A retried send carries the same client id: this is what stores it once.
CREATE UNIQUE INDEX messages_room_cid ON messages (room_id, cid);

INSERT INTO rooms (slug, title, topic, created_ms) VALUES
    ('general', 'General', 'Anything goes. Say hello!', 0),
    ('random',  'Random',  'Off-topic, links, and whatever else.', 0),
    ('tech',    'Tech',    'Code, gadgets and the tools we build with.', 0),
    ('music',   'Music',   'What are you listening to?', 0),
    ('games',   'Games',   'Board, video and word games.', 0);
