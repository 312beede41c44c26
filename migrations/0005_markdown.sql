-- A formatted message's tree (`protocol::rich`, as JSON), parsed from its markdown once
-- when it was stored; NULL for plain text.
ALTER TABLE messages ADD COLUMN doc TEXT;
