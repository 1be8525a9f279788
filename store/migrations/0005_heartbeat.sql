-- One row that /readyz rewrites to prove the database takes writes: a
-- read answers also when the disk is full or another process holds the
-- write lock, while every webhook is answered 503.
CREATE TABLE heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL  -- unix milliseconds of the last check
);
INSERT INTO heartbeat (id, at) VALUES (1, 0);
