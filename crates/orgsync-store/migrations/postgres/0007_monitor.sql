-- The Sync Monitor. The record explorer reads one record's audit by global id and the
-- activity log reads operators' actions by kind, newest first: both need an index.
CREATE INDEX audit_global ON audit (global_id, id);
CREATE INDEX audit_kind ON audit (kind, id);
-- The charts count audit events by time.
CREATE INDEX audit_at ON audit (at);
-- Sync settings changed from the dashboard or `orgsync sync …`: an overlay over the config
-- file, one row per sync (the file's source-side object). A NULL column keeps the file's
-- value; `removed` = 1 drops the file's sync until the row is deleted.
CREATE TABLE sync_overlay (
    object TEXT PRIMARY KEY,
    capture TEXT CHECK (capture IN ('poll', 'cdc', 'outbound')),
    interval_secs BIGINT CHECK (interval_secs > 0),
    enabled BIGINT,
    removed BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
