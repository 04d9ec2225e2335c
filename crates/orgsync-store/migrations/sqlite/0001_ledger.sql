-- The orgsync ledger on SQLite. Timestamps are epoch milliseconds (BIGINT), JSON is TEXT,
-- flags are 0/1: the same representation as the PostgreSQL schema, so both run the same SQL.

CREATE TABLE orgs (
    name TEXT PRIMARY KEY,
    org_id TEXT,
    status TEXT NOT NULL DEFAULT 'ok',
    circuit TEXT NOT NULL DEFAULT 'closed' CHECK (circuit IN ('closed', 'open', 'half_open')),
    circuit_until BIGINT,
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    budget_used BIGINT,
    budget_max BIGINT,
    budget_observed_at BIGINT
);

CREATE TABLE syncs (
    org TEXT NOT NULL,
    object TEXT NOT NULL,
    capture TEXT NOT NULL,
    interval_secs BIGINT NOT NULL,
    enabled BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'error', 'circuit_open')),
    last_sync_at BIGINT,
    error_count BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (org, object)
);

CREATE TABLE checkpoints (
    org TEXT NOT NULL,
    object TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('poll', 'cdc')),
    watermark_ts BIGINT,
    watermark_id TEXT,
    replay_id BLOB,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org, object, source)
);

CREATE TABLE sync_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target_org TEXT NOT NULL CHECK (length(target_org) > 0),
    object TEXT NOT NULL CHECK (length(object) > 0),
    global_id TEXT NOT NULL CHECK (length(global_id) > 0),
    op TEXT NOT NULL CHECK (op IN ('upsert', 'delete', 'undelete')),
    payload TEXT NOT NULL,
    source_org TEXT,
    source_record_id TEXT,
    txn_id TEXT,
    state TEXT NOT NULL CHECK (state IN ('queued', 'in_flight', 'synced', 'failed', 'pending')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    waiting_for TEXT,
    error_code TEXT,
    error_message TEXT,
    error_kind TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- at most one waiting item and one in-flight item per record and target. Key indexes start
-- with the global id, the selective column, so batch lookups (`global_id IN (...)`) use it as
-- an index condition even before the planner has statistics.
CREATE UNIQUE INDEX sync_items_one_waiting ON sync_items (global_id, target_org, object)
    WHERE state IN ('queued', 'pending', 'failed');
CREATE UNIQUE INDEX sync_items_one_in_flight ON sync_items (global_id, target_org, object)
    WHERE state = 'in_flight';
-- claims: due queued items and expired leases (partial, so that key lookups never pick them)
CREATE INDEX sync_items_due ON sync_items (target_org, next_attempt_at) WHERE state = 'queued';
CREATE INDEX sync_items_leases ON sync_items (target_org, lease_until) WHERE state = 'in_flight';
CREATE INDEX sync_items_waiting_for ON sync_items (waiting_for, target_org) WHERE state = 'pending';
CREATE INDEX sync_items_state ON sync_items (state, id);

CREATE TABLE records (
    org TEXT NOT NULL,
    object TEXT NOT NULL,
    global_id TEXT NOT NULL,
    local_id TEXT,
    fingerprint BLOB,
    shadow TEXT NOT NULL,
    deleted BIGINT NOT NULL DEFAULT 0,
    last_modstamp BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (global_id, org, object)
);
CREATE INDEX records_local ON records (local_id);

CREATE TABLE agreed (
    object TEXT NOT NULL,
    global_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (object, global_id)
);

CREATE TABLE transactions (
    target_org TEXT NOT NULL,
    txn_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (target_org, txn_id)
);
CREATE INDEX transactions_at ON transactions (at);

CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    object TEXT NOT NULL,
    global_id TEXT NOT NULL,
    field TEXT NOT NULL,
    incoming_value TEXT NOT NULL,
    incoming_org TEXT NOT NULL,
    incoming_ts BIGINT NOT NULL,
    current_value TEXT NOT NULL,
    current_org TEXT NOT NULL,
    current_ts BIGINT NOT NULL,
    winner TEXT,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX conflicts_global ON conflicts (global_id, id);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    org TEXT,
    object TEXT,
    global_id TEXT,
    item_id BIGINT,
    detail TEXT NOT NULL
);
