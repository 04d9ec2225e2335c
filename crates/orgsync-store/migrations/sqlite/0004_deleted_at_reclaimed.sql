-- When each org copy's deleted flag was last known true or false (epoch ms): a fact older than
-- the one stored never replaces it (a completion arriving after a newer capture, say).
ALTER TABLE records ADD COLUMN deleted_at BIGINT;
-- The item was claimed again after its previous claim ended without a completion (the worker
-- died): its last write may have landed unrecorded.
ALTER TABLE sync_items ADD COLUMN reclaimed BIGINT NOT NULL DEFAULT 0;
