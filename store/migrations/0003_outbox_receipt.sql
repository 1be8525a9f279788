-- Read receipts are not stored in the outbox (they are harmless to lose and
-- storing them doubled the outbox writes). A reply records the receipt that
-- was queued just before it, so that after a restart the sender sends that
-- receipt again before the reply: an answered message is always marked read.
ALTER TABLE outbox ADD COLUMN receipt TEXT NOT NULL DEFAULT ''; -- '' | read | typing
