//! The sync settings overlay over the config file: what an operator changed from the Sync
//! Monitor or `orgsync sync …` ([`SyncOverride`] rows in the ledger) laid over the file's
//! `[[sync]]` tables. Pure: the CLI applies it before starting the engine, `orgsync status`
//! and `orgsync config export` show the result, the engine re-reads the switches on a tick.
//!
//! Precedence: for each key the overlay sets (capture method, interval, enabled) its value
//! wins over the file's; a key it leaves unset keeps the file's value, so a later edit of the
//! file still applies to it. A removed sync is dropped whatever the file says, until the
//! override is deleted (`orgsync sync restore`). An override naming no sync of the file is
//! ignored (the file lost that sync: nothing to change) — unless it carries `fields`: then it
//! is a sync added from the dashboard or `orgsync sync add`, appended after the file's (see
//! [`SyncSettings::added`]). Should the file gain a sync of that object, the file's wins and
//! the row only overrides its keys.

use std::time::Duration;

use orgsync_core::Settings;
use orgsync_core::config::{Capture, SyncSettings};

use crate::types::SyncOverride;

/// The stored name of a capture method.
pub fn capture_name(c: Capture) -> &'static str {
    match c {
        Capture::Poll => "poll",
        Capture::Cdc => "cdc",
        Capture::Outbound => "outbound",
    }
}

/// A capture method from its stored name.
pub fn parse_capture(s: &str) -> Option<Capture> {
    match s {
        "poll" => Some(Capture::Poll),
        "cdc" => Some(Capture::Cdc),
        "outbound" => Some(Capture::Outbound),
        _ => None,
    }
}

/// The override of `object`, if any (Salesforce names are case-insensitive).
pub fn find<'a>(overrides: &'a [SyncOverride], object: &str) -> Option<&'a SyncOverride> {
    overrides
        .iter()
        .find(|o| o.object.eq_ignore_ascii_case(object))
}

/// Lay `o` over one sync of the file.
pub fn apply_one(sync: &mut SyncSettings, o: &SyncOverride) {
    if let Some(c) = o.capture.as_deref().and_then(parse_capture) {
        sync.capture = c;
    }
    if let Some(secs) = o.interval_secs {
        sync.interval = Duration::from_secs(u64::from(secs.max(1)));
    }
    if let Some(e) = o.enabled {
        sync.enabled = e;
    }
}

/// Whether laying `o` over `sync` changes how it runs — its capture method or interval — and
/// not only its `enabled` switch: a running engine follows the switch itself, but a sync so
/// changed runs as it should only after the engine restarts with it (the engine's host).
pub fn reshapes(sync: &SyncSettings, o: &SyncOverride) -> bool {
    let mut after = sync.clone();
    apply_one(&mut after, o);
    after.enabled = sync.enabled;
    after != *sync
}

/// Lay every override over `settings`: removed syncs leave `settings.syncs` (and the object
/// order), the others take the keys their override sets. Returns the objects removed.
pub fn apply(settings: &mut Settings, overrides: &[SyncOverride]) -> Vec<String> {
    let mut removed = Vec::new();
    settings.syncs.retain(|s| match find(overrides, &s.object) {
        Some(o) if o.removed => {
            removed.push(s.object.clone());
            false
        }
        _ => true,
    });
    settings
        .object_order
        .retain(|obj| !removed.iter().any(|r| r.eq_ignore_ascii_case(obj)));
    for s in &mut settings.syncs {
        if let Some(o) = find(overrides, &s.object) {
            apply_one(s, o);
        }
    }
    for o in overrides.iter().filter(|o| !o.removed) {
        let Some(fields) = &o.fields else { continue };
        if settings
            .syncs
            .iter()
            .any(|s| s.object.eq_ignore_ascii_case(&o.object))
        {
            continue;
        }
        let capture = o
            .capture
            .as_deref()
            .and_then(parse_capture)
            .unwrap_or(Capture::Poll);
        let mut sync = SyncSettings::added(&o.object, fields, capture);
        apply_one(&mut sync, o);
        settings.object_order.push(sync.object.clone());
        settings.syncs.push(sync);
    }
    removed
}

/// Whether `object`'s sync exists only in the overlay (added, not in `file`).
pub fn is_added(file: &Settings, overrides: &[SyncOverride], object: &str) -> bool {
    find(overrides, object).is_some_and(|o| o.fields.is_some())
        && !file
            .syncs
            .iter()
            .any(|s| s.object.eq_ignore_ascii_case(object))
}

/// A duration in the config's words (`90s`, `5m`, `2h`): what `orgsync config export` and the
/// dashboard write back.
pub fn duration_text(d: Duration) -> String {
    let s = d.as_secs().max(1);
    match s {
        _ if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_config_text() {
        assert_eq!(duration_text(Duration::from_secs(300)), "5m");
        assert_eq!(duration_text(Duration::from_secs(7200)), "2h");
        assert_eq!(duration_text(Duration::from_secs(90)), "90s");
        assert_eq!(duration_text(Duration::from_millis(10)), "1s");
        assert_eq!(
            parse_capture(capture_name(Capture::Cdc)),
            Some(Capture::Cdc)
        );
        assert_eq!(parse_capture("bulk"), None);
    }

    fn settings() -> Settings {
        let text = orgsync_core::config::sample::peers(&["a", "b"], &["Account", "Contact"]);
        Settings::from_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn overrides_win_key_by_key_and_removed_syncs_leave() {
        let at = chrono::Utc::now();
        let mut s = settings();
        let mut account = SyncOverride::new("account", at, "cli:root");
        account.enabled = Some(false);
        account.capture = Some("cdc".into());
        let mut contact = SyncOverride::new("Contact", at, "cli:root");
        contact.removed = true;
        let stray = SyncOverride::new("Case", at, "cli:root");
        let removed = apply(&mut s, &[account, contact, stray]);
        assert_eq!(removed, ["Contact"]);
        assert_eq!(s.syncs.len(), 1);
        let a = &s.syncs[0];
        assert_eq!((a.capture, a.enabled), (Capture::Cdc, false));
        assert_eq!(
            a.interval,
            Duration::from_secs(30),
            "unset: the file's value"
        );
        assert!(!s.object_order.iter().any(|o| o == "Contact"));
    }

    #[test]
    fn an_added_sync_joins_paused_and_the_file_wins_over_it() {
        let at = chrono::Utc::now();
        let mut s = settings();
        let mut lead = SyncOverride::new("Lead", at, "dashboard:ann");
        lead.fields = Some(vec!["LastName".into(), "Company".into()]);
        lead.capture = Some("cdc".into());
        lead.enabled = Some(false);
        // a field list on a sync the file has: only its keys apply
        let mut account = SyncOverride::new("Account", at, "dashboard:ann");
        account.fields = Some(vec!["Phone".into()]);
        apply(&mut s, &[lead.clone(), account]);
        assert_eq!(s.syncs.len(), 3);
        assert_eq!(s.syncs[0].fields.len(), 1, "the file's fields stay");
        let l = &s.syncs[2];
        assert_eq!(
            (l.object.as_str(), l.capture, l.enabled),
            ("Lead", Capture::Cdc, false)
        );
        assert_eq!(l.fields.len(), 2);
        assert_eq!(s.object_order.last().map(String::as_str), Some("Lead"));
        // applying twice (the CLI at start, the dashboard per request) adds it once
        apply(&mut s, &[lead.clone()]);
        assert_eq!(s.syncs.len(), 3);
        lead.removed = true;
        let mut again = settings();
        apply(&mut again, &[lead]);
        assert_eq!(again.syncs.len(), 2, "a removed added sync is gone");
    }

    #[test]
    fn only_a_new_method_or_interval_reshapes_a_sync() {
        let at = chrono::Utc::now();
        let s = settings();
        let account = &s.syncs[0];
        let mut o = SyncOverride::new("Account", at, "dashboard:ann");
        o.enabled = Some(!account.enabled);
        assert!(!reshapes(account, &o), "the switch alone");
        o.interval_secs = Some(30);
        assert!(!reshapes(account, &o), "the interval it has already");
        o.interval_secs = Some(5);
        assert!(reshapes(account, &o));
        o.interval_secs = None;
        o.capture = Some(capture_name(Capture::Outbound).into());
        assert!(reshapes(account, &o));
    }
}
