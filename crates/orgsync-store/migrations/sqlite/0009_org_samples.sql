-- The Sync Monitor's history charts: once a minute each running replica writes, per org, its
-- API calls so far (a counter of this process, reset at its start), the org's API usage as
-- last observed, and the org's backlog. Kept 8 days (the charts show at most 7).
CREATE TABLE org_samples (
    replica TEXT NOT NULL,
    org TEXT NOT NULL,
    at BIGINT NOT NULL,
    api_calls BIGINT NOT NULL,
    budget_used BIGINT,
    budget_max BIGINT,
    backlog BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    PRIMARY KEY (replica, org, at)
);
CREATE INDEX org_samples_at ON org_samples (at);
