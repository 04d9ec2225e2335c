-- When an operator dismissed a Failed item in the Sync Monitor (epoch ms): it leaves the
-- problems list but stays in the ledger as history. Cleared whenever the item leaves Failed
-- (a retry, a new change merged into it, a new outcome).
ALTER TABLE sync_items ADD COLUMN dismissed_at BIGINT;
