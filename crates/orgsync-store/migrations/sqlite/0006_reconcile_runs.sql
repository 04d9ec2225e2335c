-- One row per reconcile run (`orgsync reconcile`, or scheduled inside `orgsync run`): when it
-- ran, which pass, and its whole report as JSON text. `orgsync status` shows the last one, and
-- the next quick pass reads changes since the last run's start.
CREATE TABLE reconcile_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    full_pass BIGINT NOT NULL,
    mode TEXT NOT NULL,
    report TEXT NOT NULL
);
