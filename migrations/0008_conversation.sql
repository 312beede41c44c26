-- Conversation tools (issue 17): edits, deletes and reactions are changes of a message,
-- stored in `updates` like its card; the message's row holds what it is now.

-- 0 as sent, 1 edited, 2 deleted (`ChatMessage::EDITED`, `ChatMessage::DELETED`).
ALTER TABLE messages ADD COLUMN state INTEGER NOT NULL DEFAULT 0;

-- The seq of the message's newest change (0: none).
ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;

-- Its reactions as they are now, `[[emoji, [name, …]], …]` as JSON; NULL for none.
ALTER TABLE messages ADD COLUMN reactions TEXT;

-- Who reacted with what: one row per person and emoji, so a second click takes it back
-- and a person counts once. `name` is what the page shows.
CREATE TABLE reactions (
    room_id INTEGER NOT NULL,
    target  INTEGER NOT NULL,
    emoji   TEXT    NOT NULL,
    user_id TEXT    NOT NULL,
    name    TEXT    NOT NULL,
    at_ms   INTEGER NOT NULL,
    PRIMARY KEY (room_id, target, emoji, user_id)
);
