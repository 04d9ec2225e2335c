//! The names of the service's Prometheus metrics, in one place: the engine records them, the
//! Sync Monitor describes and serves them (`GET /metrics`), and dashboards and alerts depend
//! on them, so a name is never a free string at its point of use.

/// Counter: changes captured that were news to the ledger. Labels `org`, `object`.
pub const CHANGES_CAPTURED: &str = "orgsync_changes_captured_total";
/// Counter: items written to their target org. Labels `org` (the target), `object`.
pub const CHANGES_APPLIED: &str = "orgsync_changes_applied_total";
/// Counter: items that became Failed (permanent error or retries exhausted). Labels `org`
/// (the target), `object`.
pub const CHANGES_FAILED: &str = "orgsync_changes_failed_total";
/// Counter: changes dropped as echoes. Labels `org` (where captured), `object`, `layer`
/// ([`LAYER_ORIGIN`], [`LAYER_SHADOW`], [`LAYER_TXN`]).
pub const ECHOES_DROPPED: &str = "orgsync_echoes_dropped_total";
/// Counter: API calls sent to an org (every kind, as the client counts them). Label `org`.
pub const API_CALLS: &str = "orgsync_api_calls_total";
/// Histogram: seconds from an item's first capture into the ledger to its successful write.
/// Label `org` (the target).
pub const CAPTURE_TO_APPLY: &str = "orgsync_capture_to_apply_seconds";
/// Gauge: items in the ledger. Labels `org` (the target), `state`.
pub const BACKLOG: &str = "orgsync_backlog_items";
/// Gauge: API requests used in the org's rolling 24 h window, as last observed. Label `org`.
pub const API_BUDGET_USED: &str = "orgsync_api_budget_used";
/// Gauge: the org's daily API allocation. Label `org`.
pub const API_BUDGET_MAX: &str = "orgsync_api_budget_max";
/// Gauge: 1 while the org's circuit is open (calls stopped), else 0. Label `org`.
pub const CIRCUIT_OPEN: &str = "orgsync_circuit_open";

/// Counter: writes of the files component in a target org. Labels `org` (the target), `op`
/// ([`FILE_OP_UPLOAD`], [`FILE_OP_LINK`], [`FILE_OP_UNLINK`], [`FILE_OP_DELETE`],
/// [`FILE_OP_RETITLE`]).
pub const FILES_WRITTEN: &str = "orgsync_files_written_total";
/// Counter: file bytes uploaded to a target org. Label `org` (the target).
pub const FILE_BYTES: &str = "orgsync_file_bytes_total";
/// Counter: failed file reads or writes (each retried next round). Label `org`.
pub const FILE_ERRORS: &str = "orgsync_file_errors_total";

/// File op: a version uploaded (a new document or a new version).
pub const FILE_OP_UPLOAD: &str = "upload";
/// File op: a link made besides the one an upload made.
pub const FILE_OP_LINK: &str = "link";
/// File op: a link removed (unlinked elsewhere).
pub const FILE_OP_UNLINK: &str = "unlink";
/// File op: a document deleted (deleted elsewhere).
pub const FILE_OP_DELETE: &str = "delete";
/// File op: a version's Title set (renamed elsewhere).
pub const FILE_OP_RETITLE: &str = "retitle";

/// Echo layer: our own write, told by the origin tag (`client=` in the change origin).
pub const LAYER_ORIGIN: &str = "origin";
/// Echo layer: the values equal what the ledger last wrote or agreed (shadow values).
pub const LAYER_SHADOW: &str = "shadow";
/// Echo layer: the transaction id was already processed for the target.
pub const LAYER_TXN: &str = "txn";
