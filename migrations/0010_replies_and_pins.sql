-- Replies and pins (issue 17). A reply keeps only the seq of the message it answers (in
-- the same room): history quotes that message as it is when read, so an edit shows and
-- a deleted message's words are not kept alive in its replies.
ALTER TABLE messages ADD COLUMN reply_to INTEGER;

-- When the message was pinned to its room, ms since the epoch (NULL: not pinned). A
-- room's pins are listed newest pin first.
ALTER TABLE messages ADD COLUMN pinned_at INTEGER;

CREATE INDEX messages_pinned ON messages (room_id, pinned_at) WHERE pinned_at IS NOT NULL;
