-- Search: a message's words as a tsvector kept by PostgreSQL itself (English stemming,
-- accents removed, as SQLite's porter + remove_diacritics), in one GIN index for all
-- rooms. `search_id` orders hits newest first, as SQLite's FTS5 rowid does; several
-- nodes store at once, so it comes from a sequence (its gaps order nothing wrongly).
CREATE EXTENSION IF NOT EXISTS unaccent;

-- English stemming without English stop words: SQLite's porter tokenizer keeps "the"
-- and "again", so a search for them finds them here too.
CREATE TEXT SEARCH DICTIONARY natter_stem (TEMPLATE = snowball, LANGUAGE = english);
CREATE TEXT SEARCH CONFIGURATION natter (COPY = english);
ALTER TEXT SEARCH CONFIGURATION natter
    ALTER MAPPING FOR asciiword, word, hword, hword_part, asciihword, hword_asciipart,
        numword, numhword
    WITH natter_stem;

-- unaccent() is only STABLE (its dictionary could change); a generated column needs an
-- IMMUTABLE expression, which naming the dictionary makes it.
CREATE FUNCTION natter_words(text TEXT) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector('natter'::regconfig, public.unaccent('public.unaccent'::regdictionary, text));

CREATE FUNCTION natter_query(words TEXT) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN plainto_tsquery('natter'::regconfig, public.unaccent('public.unaccent'::regdictionary, words));

CREATE SEQUENCE messages_search_id;
ALTER TABLE messages ADD COLUMN search_id BIGINT NOT NULL DEFAULT nextval('messages_search_id');
ALTER TABLE messages ADD COLUMN words tsvector GENERATED ALWAYS AS (natter_words(text)) STORED;

CREATE UNIQUE INDEX messages_search ON messages (search_id);
CREATE INDEX messages_words ON messages USING gin (words);
