-- Status webhooks look up outbound messages by wamid. The first index also
-- held every inbound message (which statuses never look up), and the status
-- query could not use it (a partial index is used only when the query names
-- its condition), so each status scanned the whole table.
DROP INDEX messages_wamid;
CREATE INDEX messages_out_wamid ON messages (wamid) WHERE direction = 'out' AND wamid <> '';
