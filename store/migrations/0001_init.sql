-- Raw webhook deliveries exactly as Meta posted them. A row exists before the
-- webhook is answered 200; processed_at is set once its events were handled.
CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY,
    received_at  INTEGER NOT NULL,            -- unix milliseconds
    body         BLOB    NOT NULL,
    processed_at INTEGER,                     -- NULL until handled
    error        TEXT    NOT NULL DEFAULT ''  -- why processing failed (it is retried at start)
);
CREATE INDEX inbox_unprocessed ON inbox(id) WHERE processed_at IS NULL;

-- One conversation per business number and customer (business-scoped user id,
-- else the phone number).
CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY,
    phone_number_id TEXT    NOT NULL,
    customer        TEXT    NOT NULL,
    wa_id           TEXT    NOT NULL DEFAULT '',
    user_id         TEXT    NOT NULL DEFAULT '',
    name            TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL DEFAULT '',
    session         TEXT    NOT NULL DEFAULT '{}',  -- JSON object
    handoff_until   INTEGER NOT NULL DEFAULT 0,     -- unix ms, 0 = none
    last_inbound_at INTEGER NOT NULL DEFAULT 0,     -- unix ms of the customer's last message
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (phone_number_id, customer)
);

-- Every message, inbound and outbound.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    direction       TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    dedupe_key      TEXT UNIQUE,                    -- inbound: wamid (+ emoji for reactions); NULL outbound
    wamid           TEXT    NOT NULL DEFAULT '',    -- outbound: set once Meta accepted it
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    inbox_id        INTEGER,
    type            TEXT    NOT NULL,
    text            TEXT    NOT NULL DEFAULT '',
    rule            TEXT    NOT NULL DEFAULT '',    -- the rule that answered (in) or produced it (out)
    outcome         TEXT    NOT NULL DEFAULT '',    -- inbound: answered | unmatched | handoff
    status          TEXT    NOT NULL DEFAULT '',    -- outbound: queued | sent | delivered | read | played | failed
    error_code      INTEGER NOT NULL DEFAULT 0,
    error_title     TEXT    NOT NULL DEFAULT '',
    payload         TEXT    NOT NULL,               -- inbound: the message object as received; outbound: the reply
    timestamp       INTEGER NOT NULL DEFAULT 0,     -- unix seconds (Meta's for inbound)
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX messages_wamid ON messages (wamid) WHERE wamid <> '';
CREATE INDEX messages_conversation ON messages (conversation_id, id);

-- Replies, read receipts and typing indicators waiting to be sent. Within a
-- conversation they are sent in id order.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    message_id      INTEGER REFERENCES messages (id),  -- the outbound message; NULL for receipts
    phone_number_id TEXT    NOT NULL,
    to_number       TEXT    NOT NULL DEFAULT '',       -- customer's number, sent as "+" + to_number
    to_user_id      TEXT    NOT NULL DEFAULT '',       -- business-scoped user id when there is no number
    kind            TEXT    NOT NULL,                  -- message | read | typing
    reply           TEXT    NOT NULL DEFAULT '',       -- rules.Reply as JSON (kind message)
    context_wamid   TEXT    NOT NULL DEFAULT '',       -- the customer's message (quote, react, read)
    window_start    INTEGER NOT NULL,                  -- unix ms of the customer's last message
    state           TEXT    NOT NULL DEFAULT 'pending',-- pending | sent | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,                  -- unix ms
    last_error      TEXT    NOT NULL DEFAULT '',
    error_code      TEXT    NOT NULL DEFAULT '',       -- Meta's code, http_NNN or network
    wamid           TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX outbox_pending ON outbox (id) WHERE state = 'pending';

-- Delivery statuses of outbound messages, once per (wamid, status).
CREATE TABLE statuses (
    id          INTEGER PRIMARY KEY,
    wamid       TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    timestamp   INTEGER NOT NULL DEFAULT 0,
    recipient   TEXT    NOT NULL DEFAULT '',
    error_code  INTEGER NOT NULL DEFAULT 0,
    error_title TEXT    NOT NULL DEFAULT '',
    payload     TEXT    NOT NULL,
    inbox_id    INTEGER,
    created_at  INTEGER NOT NULL,
    UNIQUE (wamid, status)
);

-- Webhook fields other than messages (account_update, template status, quality,
-- alerts, value.errors, anything unknown): stored, never dropped.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    inbox_id   INTEGER,
    entry_id   TEXT    NOT NULL DEFAULT '',
    field      TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
