ALTER TABLE messages ADD COLUMN n BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN author_id TEXT;
ALTER TABLE messages ADD COLUMN preview TEXT;

CREATE TABLE updates (
    room_id BIGINT NOT NULL REFERENCES rooms (id),
    seq     BIGINT NOT NULL,
    target  BIGINT NOT NULL,
    cid     TEXT   NOT NULL,
    change  TEXT   NOT NULL,
    at_ms   BIGINT NOT NULL,
    PRIMARY KEY (room_id, seq)
);

CREATE UNIQUE INDEX updates_room_cid ON updates (room_id, cid);

CREATE TABLE previews (
    url        TEXT   PRIMARY KEY,
    card       TEXT,
    fetched_ms BIGINT NOT NULL
);

CREATE TABLE preview_images (
    hash  TEXT  PRIMARY KEY,
    bytes BYTEA NOT NULL
);
