-- Search (issue 17): every message's words in one FTS5 index for all rooms, stemmed
-- (porter) with accents removed. Its rowid grows with every message stored, so "newest
-- first" is the index's own order, read backwards. `search_id` is a message's row in it,
-- given when the message is stored, counting up (NULL: no words, e.g. a file sent
-- without a caption). The writer indexes new messages just after they are sent, in
-- batches, from the newest row of the index on; an edit or a delete changes the index
-- in the same transaction as the change.
CREATE VIRTUAL TABLE search USING fts5(
    text,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

ALTER TABLE messages ADD COLUMN search_id INTEGER;

-- The messages stored before: numbered in the order they were sent.
UPDATE messages SET search_id = ordered.n
FROM (
    SELECT room_id, seq, row_number() OVER (ORDER BY at_ms, room_id, seq) AS n
    FROM messages WHERE text != ''
) AS ordered
WHERE messages.room_id = ordered.room_id AND messages.seq = ordered.seq;

INSERT INTO search (rowid, text) SELECT search_id, text FROM messages
    WHERE search_id IS NOT NULL AND state < 2;

-- From a hit back to its message.
CREATE UNIQUE INDEX messages_search ON messages (search_id) WHERE search_id IS NOT NULL;

