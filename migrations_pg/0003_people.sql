ALTER TABLE rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'public';
ALTER TABLE rooms ADD COLUMN owner TEXT;
ALTER TABLE rooms ADD COLUMN people TEXT;
CREATE UNIQUE INDEX rooms_people ON rooms (people) WHERE people IS NOT NULL;

CREATE TABLE members (
    room_id   BIGINT NOT NULL REFERENCES rooms (id),
    user_id   TEXT   NOT NULL,
    name      TEXT   NOT NULL,
    joined_ms BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id);

CREATE TABLE readers (
    user_id   TEXT   NOT NULL,
    room_id   BIGINT NOT NULL REFERENCES rooms (id),
    notify    TEXT,
    last_read BIGINT NOT NULL DEFAULT 0,
    mentioned BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, room_id)
);

ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
