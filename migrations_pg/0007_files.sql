CREATE TABLE files (
    id         TEXT   PRIMARY KEY,
    hash       TEXT   NOT NULL,
    thumb      TEXT,
    room_id    BIGINT NOT NULL REFERENCES rooms (id),
    uploader   TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    mime       TEXT   NOT NULL,
    size       BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    width      BIGINT NOT NULL DEFAULT 0,
    height     BIGINT NOT NULL DEFAULT 0,
    created_ms BIGINT NOT NULL
);

CREATE INDEX files_uploader ON files (uploader, created_ms);

ALTER TABLE messages ADD COLUMN file TEXT;
