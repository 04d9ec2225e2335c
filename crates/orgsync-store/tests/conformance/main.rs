//! Conformance suite: the same tests against every Store implementation — SQLite on a temp
//! file always, PostgreSQL (a fresh database per test) when `ORGSYNC_TEST_PG_URL` is set —
//! plus property tests of the merge rule. Each suite test is a generic `async fn` over
//! `S: Store` in the module for its topic, listed once in `conformance!` below.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod admin;
mod capture;
mod claims;
mod follow_ups;
mod monitor;
mod outcomes;
mod props;
mod reconcile;
mod records;
mod samples;
mod support;

macro_rules! conformance {
    ($($module:ident::$name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _dir) = crate::support::sqlite().await;
                    crate::$module::$name(&store).await;
                    store.close().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some((store, db)) = crate::support::postgres(stringify!($name)).await else { return };
                    crate::$module::$name(&store).await;
                    db.drop_db(store).await;
                }
            )*
        }
    };
}

conformance!(
    capture::merge_into_open_item,
    capture::checkpoint_atomic_with_items,
    capture::transaction_hashes,
    follow_ups::follow_up_for_in_flight,
    follow_ups::retry_merges_into_follow_up,
    follow_ups::completion_follow_ups,
    claims::lease_expiry_reclaim,
    claims::concurrent_claimers_never_share,
    outcomes::pending_wakes_when_parent_lands,
    outcomes::retry_failed_requeues,
    outcomes::dismiss_failed_keeps_history,
    outcomes::only_failed_writes_count_attempts,
    outcomes::failed_writes_per_target_and_object,
    claims::a_reclaim_is_flagged,
    records::shadow_and_id_map_round_trip,
    records::agreed_versions_merge,
    records::agreed_life_merges,
    records::deleted_flag_keeps_the_newer_fact,
    records::children_found_by_their_parent,
    admin::audit_in_append_order,
    admin::orgs_syncs_conflicts,
    admin::listing_counts_prune,
    monitor::timeline_of_one_record,
    monitor::newest_first_listings,
    monitor::records_across_orgs,
    monitor::overlay_round_trip_and_remove,
    monitor::problems_counted_and_paged,
    monitor::chart_data,
    samples::added_sync_fields_round_trip,
    samples::org_samples_read_back_and_age_out,
    reconcile::records_in_and_live_count,
    reconcile::reconcile_runs_keep_the_last,
);

/// Two stores on one SQLite file (two processes) share the work without overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_replicas_share_work() {
    let (a, dir) = support::sqlite().await;
    let url = format!("sqlite:{}", dir.path().join("ledger.db").display());
    let b = orgsync_store::SqlStore::open(&url).await.unwrap();
    claims::two_replicas_share_work(&a, &b).await;
}

/// Two replicas on one PostgreSQL database share the work without overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_replicas_share_work() {
    let Some((a, db)) = support::postgres("two_replicas_share_work").await else {
        return;
    };
    let b = orgsync_store::SqlStore::open(&db.url).await.unwrap();
    claims::two_replicas_share_work(&a, &b).await;
    b.close().await;
    db.drop_db(a).await;
}

/// `sqlite::memory:` works as a whole store (one connection kept for the store's life).
#[tokio::test]
async fn sqlite_memory_store_works() {
    let store = orgsync_store::SqlStore::open("sqlite::memory:")
        .await
        .unwrap();
    capture::merge_into_open_item(&store).await;
}

/// Reopening a SQLite file keeps its contents and does not re-run migrations.
#[tokio::test]
async fn sqlite_file_survives_reopen() {
    use orgsync_store::Store;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("l.db").display());
    let store = orgsync_store::SqlStore::open(&url).await.unwrap();
    let items = vec![support::upsert("b", 1, &[("Name", "x")], support::at(0))];
    support::capture(&store, items, support::at(0)).await;
    store.close().await;
    let again = orgsync_store::SqlStore::open(&url).await.unwrap();
    assert_eq!(again.counts().await.unwrap().values().sum::<u64>(), 1);
}

/// A URL naming no supported database is refused with a clear error.
#[tokio::test]
async fn bad_url_is_refused() {
    let err = orgsync_store::SqlStore::open("mysql://localhost/x")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unsupported ledger URL"), "{err}");
}
