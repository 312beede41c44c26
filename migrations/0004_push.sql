-- Web Push. A browser's subscription: where its push service takes messages for it
-- (`endpoint`, a capability URL, unique), and the keys its payloads are encrypted to
-- (RFC 8291: `p256dh` is the browser's P-256 public key, `auth` its 16-byte secret).
-- One user may have several (browsers, devices); `user_id` is who they are to rooms.
CREATE TABLE push_subscriptions (
    id         INTEGER PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    endpoint   TEXT    NOT NULL UNIQUE,
    p256dh     BLOB    NOT NULL,
    auth       BLOB    NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id, created_ms);

-- The server's VAPID key pair (RFC 8292): made on first start and kept, because every
-- subscription is bound to its public key. One row; the P-256 private scalar.
CREATE TABLE vapid_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    private_key BLOB    NOT NULL,
    created_ms  INTEGER NOT NULL
);
