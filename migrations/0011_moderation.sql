-- Moderation (issue 19): who may moderate, who is muted or banned, rooms' rules, and a
-- log of every moderation action.

-- Server admins (user ids of accounts). The first account registered is one: the
-- trigger makes it so, in the same transaction as the account.
CREATE TABLE admins (
    user_id  TEXT    PRIMARY KEY,
    since_ms INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO admins (user_id, since_ms)
    SELECT user_id, created_ms FROM accounts ORDER BY id LIMIT 1;

CREATE TRIGGER first_account_is_admin AFTER INSERT ON accounts
    WHEN NOT EXISTS (SELECT 1 FROM admins)
BEGIN
    INSERT INTO admins (user_id, since_ms) VALUES (NEW.user_id, NEW.created_ms);
END;

-- Roles in rooms: 'owner' (who made a public room; a private room's owner is
-- rooms.owner) and 'moderator'.
CREATE TABLE room_roles (
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    user_id TEXT    NOT NULL,
    role    TEXT    NOT NULL,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;

-- A room's rules: read-only (locked), and at most one message per `slow_s` seconds per
-- person (0: no slow mode).
ALTER TABLE rooms ADD COLUMN locked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN slow_s INTEGER NOT NULL DEFAULT 0;

-- Mutes and bans, in a room or (room_id 0) on the whole server, until `until_ms` (NULL:
-- until lifted). A banned guest is also banned by address (`addr`).
CREATE TABLE sanctions (
    room_id  INTEGER NOT NULL,
    user_id  TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    until_ms INTEGER,
    addr     TEXT,
    PRIMARY KEY (room_id, user_id, kind)
) WITHOUT ROWID;

-- Messages people reported, for admins to look at; `resolved_ms` once one acted.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    room_id     INTEGER NOT NULL REFERENCES rooms (id),
    seq         INTEGER NOT NULL,
    reporter    TEXT    NOT NULL,
    at_ms       INTEGER NOT NULL,
    resolved_ms INTEGER,
    UNIQUE (room_id, seq, reporter)
);
CREATE INDEX reports_open ON reports (at_ms) WHERE resolved_ms IS NULL;

-- Every moderation action: who (name and id), what, to whom, where, when.
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at_ms    INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    target   TEXT    NOT NULL DEFAULT '',
    room     TEXT    NOT NULL DEFAULT '',
    detail   TEXT    NOT NULL DEFAULT ''
);

-- Bumped by every moderation change, from the server or from `natter admin`: a running
-- server that sees it move reloads what it keeps in memory.
CREATE TABLE moderation_clock (v INTEGER NOT NULL);
INSERT INTO moderation_clock (v) VALUES (0);

-- An archived room: read-only for everyone, and left out of room lists.
ALTER TABLE rooms ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;

-- What `natter admin` asks of the server (JSON, `server::admin::request`): the running
-- server carries each out through the same code as the page's moderators, and writes
-- its outcome; one asked while no server runs is carried out when it starts.
CREATE TABLE admin_requests (
    id       INTEGER PRIMARY KEY,
    at_ms    INTEGER NOT NULL,
    request  TEXT    NOT NULL,
    done_ms  INTEGER,
    outcome  TEXT
);
CREATE INDEX admin_requests_pending ON admin_requests (id) WHERE done_ms IS NULL;
