-- Pruning old rows (serve --retention) deletes messages; SQLite checks each
-- deleted message against outbox.message_id (a foreign key), which without
-- an index scans the whole outbox for every message. Replies are appended
-- in message order, so this index grows at its end and costs little.
CREATE INDEX outbox_message ON outbox (message_id) WHERE message_id IS NOT NULL;
