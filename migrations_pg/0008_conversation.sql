ALTER TABLE messages ADD COLUMN state BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN reactions TEXT;

-- `id` orders who reacted (SQLite's rowid does it there).
CREATE TABLE reactions (
    id      BIGINT GENERATED ALWAYS AS IDENTITY,
    room_id BIGINT NOT NULL,
    target  BIGINT NOT NULL,
    emoji   TEXT   NOT NULL,
    user_id TEXT   NOT NULL,
    name    TEXT   NOT NULL,
    at_ms   BIGINT NOT NULL,
    PRIMARY KEY (room_id, target, emoji, user_id)
);
