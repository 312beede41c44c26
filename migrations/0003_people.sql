-- Private rooms and conversations are rooms with members. `kind` is 'public', 'private'
-- or 'direct'; `owner` (a user id) may invite and remove people in a private room;
-- `people` is a conversation's sorted member ids, so one set of people has one.
ALTER TABLE rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'public';
ALTER TABLE rooms ADD COLUMN owner TEXT;
ALTER TABLE rooms ADD COLUMN people TEXT;
CREATE UNIQUE INDEX rooms_people ON rooms (people) WHERE people IS NOT NULL;

-- Who may see a private room or conversation. `name` is what they were called when they
-- joined, to name them while they are offline.
CREATE TABLE members (
    room_id   INTEGER NOT NULL REFERENCES rooms (id),
    user_id   TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    joined_ms INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_by_user ON members (user_id);

-- One person's relation to one room: how much they want to hear of it (NULL: the
-- default for its kind), how far they have read it (registered users), and the newest
-- message that mentions them.
CREATE TABLE readers (
    user_id   TEXT    NOT NULL,
    room_id   INTEGER NOT NULL REFERENCES rooms (id),
    notify    TEXT,
    last_read INTEGER NOT NULL DEFAULT 0,
    mentioned INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, room_id)
) WITHOUT ROWID;

-- The names a message mentions, '\n'-separated ('' for none).
ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
