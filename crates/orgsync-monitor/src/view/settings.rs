//! The sync settings page (the admin guide's page): a row per synced object with its method,
//! interval and enable switch as now in effect (the config file with the ledger's overlay
//! over it), where the overlay differs from the file, and per org its status dot, last sync,
//! error count and latest error; removed syncs, to restore.

use chrono::{DateTime, Utc};
use orgsync_core::Settings;
use orgsync_core::mapping::object_name;
use orgsync_store::overlay::{self, capture_name, duration_text};
use orgsync_store::{SyncOverride, SyncRow};

use super::overview::{Dot, dot};
use super::{ago, exact};

/// The capture methods offered.
pub const METHODS: &[&str] = &["cdc", "poll", "outbound"];
/// The admin guide's interval quick picks.
pub const QUICK_PICKS: &[&str] = &["5m", "10m", "15m", "30m"];

/// One org's side of a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// The org.
    pub org: String,
    /// The object's name there.
    pub object: String,
    /// Status dot.
    pub dot: Dot,
    /// Last completed capture, relative.
    pub last_sync: String,
    /// Capture errors since the last success.
    pub error_count: u32,
    /// The latest error, or the reason of a non-Active status.
    pub latest_error: String,
}

/// One synced object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The sync's (source-side) object: the row's key.
    pub object: String,
    /// Capture method in effect.
    pub method: String,
    /// Interval in effect, as config text.
    pub interval: String,
    /// Enabled.
    pub enabled: bool,
    /// "the file says poll, 30s, enabled" when the overlay changes anything; else empty.
    pub file_differs: String,
    /// "changed by dashboard:ann 3 min ago" when overridden.
    pub changed: String,
    /// For a sync added from the dashboard or `orgsync sync add`: who added it, and whether
    /// the running engine has it yet (the service restarts its engine for it within seconds).
    pub added: String,
    /// Added (or restored) since the engine last started: it has no capture for it yet — for
    /// the few seconds until the service restarts its engine with it (it shows "Paused" when
    /// disabled, "starting" when enabled).
    pub not_running: bool,
    /// The running engine has this sync with another method or interval (or other keys):
    /// "applying" until the service has restarted its engine with the new ones.
    pub applying: bool,
    /// Per org.
    pub sides: Vec<Side>,
    /// Shown red (some side in Error or Circuit open).
    pub red: bool,
}

/// A removed sync, to restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// Its object.
    pub object: String,
    /// "by cli:root 2 h ago".
    pub by: String,
}

/// The settings page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsView {
    /// A row per sync.
    pub rows: Vec<Row>,
    /// Removed syncs.
    pub removed: Vec<Removed>,
}

fn changed(o: &SyncOverride, now: DateTime<Utc>) -> String {
    format!(
        "changed by {} {} ({})",
        o.updated_by,
        ago(Some(o.updated_at), now),
        exact(Some(o.updated_at))
    )
}

/// Build the page from the settings in effect (`settings`: the file with the overlay now over
/// it), the configuration file's (`file`), the running engine's (`running`: the file with the
/// overlay as it was at the engine's last start), the overlay now, and the sync status rows.
pub fn build(
    settings: &Settings,
    file: &Settings,
    running: &Settings,
    overrides: &[SyncOverride],
    syncs: &[SyncRow],
    now: DateTime<Utc>,
) -> SettingsView {
    let orgs = settings.topology.orgs();
    let rows = settings
        .syncs
        .iter()
        .filter(|s| !overlay::find(overrides, &s.object).is_some_and(|o| o.removed))
        .map(|effective| {
            // what the file says (an added sync: as it was added), with the overlay over it
            let file = file
                .syncs
                .iter()
                .find(|r| r.object.eq_ignore_ascii_case(&effective.object))
                .unwrap_or(effective);
            let o = overlay::find(overrides, &file.object);
            let now_in_effect = effective;
            let text = |s: &orgsync_core::config::SyncSettings| {
                format!(
                    "{}, {}, {}",
                    capture_name(s.capture),
                    duration_text(s.interval),
                    if s.enabled { "enabled" } else { "disabled" }
                )
            };
            let file_differs = match text(file) == text(now_in_effect) {
                true => String::new(),
                false => format!("the file says {}", text(file)),
            };
            let sides: Vec<Side> = orgs
                .iter()
                .map(|org| {
                    let name = object_name(file, settings.topology.is_source_side(org));
                    let row = syncs
                        .iter()
                        .find(|r| r.org == *org && r.object.eq_ignore_ascii_case(name));
                    Side {
                        org: org.to_string(),
                        object: name.to_string(),
                        dot: row.map_or(Dot::Paused, |r| dot(r, now)),
                        last_sync: ago(row.and_then(|r| r.last_sync_at), now),
                        error_count: row.map_or(0, |r| r.error_count),
                        latest_error: row.and_then(|r| r.last_error.clone()).unwrap_or_default(),
                    }
                })
                .collect();
            let engine_has = running
                .syncs
                .iter()
                .find(|r| r.object.eq_ignore_ascii_case(&effective.object));
            let not_running = engine_has.is_none();
            let applying = engine_has.is_some_and(|r| {
                let mut r = r.clone();
                r.enabled = effective.enabled;
                r != *effective
            });
            let added = match o.filter(|o| o.fields.is_some()) {
                None => String::new(),
                Some(o) => {
                    let mut t = format!(
                        "added by {} {} (not in the configuration file)",
                        o.updated_by,
                        ago(Some(o.updated_at), now)
                    );
                    if not_running {
                        t.push_str(match effective.enabled {
                            true => "; the service starts it within seconds",
                            false => "; the service takes it up, paused, within seconds",
                        });
                    }
                    t
                }
            };
            Row {
                added,
                not_running,
                applying,
                object: file.object.clone(),
                method: capture_name(now_in_effect.capture).to_string(),
                interval: duration_text(now_in_effect.interval),
                enabled: now_in_effect.enabled,
                file_differs,
                changed: o.map(|o| changed(o, now)).unwrap_or_default(),
                red: sides.iter().any(|s| s.dot.red()),
                sides,
            }
        })
        .collect();
    let removed = overrides
        .iter()
        .filter(|o| o.removed)
        .map(|o| Removed {
            object: o.object.clone(),
            by: changed(o, now),
        })
        .collect();
    SettingsView { rows, removed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Settings {
        let text = orgsync_core::config::sample::peers(&["a", "b"], &["Account"]);
        match Settings::from_str(&text, "t.toml") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn rows_compare_with_the_file_and_say_what_the_engine_has_not_picked_up_yet() {
        let file = file();
        let now = Utc::now();
        let mut interval = SyncOverride::new("Account", now, "dashboard:ann");
        interval.interval_secs = Some(300);
        let mut added = SyncOverride::new("Contact", now, "dashboard:ann");
        added.fields = Some(vec!["LastName".into()]);
        added.enabled = Some(true);
        let overrides = [interval, added];
        let mut effective = file.clone();
        overlay::apply(&mut effective, &overrides);

        // the engine still runs the file as it was: the new interval is being applied, the
        // added sync is starting
        let v = build(&effective, &file, &file, &overrides, &[], now);
        let account = &v.rows[0];
        assert_eq!(account.interval, "5m");
        assert_eq!(account.file_differs, "the file says poll, 30s, enabled");
        assert!(account.applying && !account.not_running);
        let contact = &v.rows[1];
        assert!(contact.not_running && contact.enabled);
        assert!(contact.added.contains("starts it within seconds"));

        // restarted with them: nothing pending, and the row still says what the file says
        let v = build(&effective, &file, &effective, &overrides, &[], now);
        assert!(!v.rows[0].applying && !v.rows[1].not_running);
        assert_eq!(v.rows[0].file_differs, "the file says poll, 30s, enabled");
    }
}
