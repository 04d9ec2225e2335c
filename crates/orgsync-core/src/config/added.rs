//! A sync added at run time (the Sync Monitor's "Add object", `orgsync sync add`) rather than
//! written in the file: the same object and field names in every org, both ways, with the
//! defaults a `[[sync]]` table gets when it names only `object` and `fields`.
//!
//! Why defaults only: an operator adding an object from a list picks fields, not lookups,
//! constants or row criteria; anything beyond that belongs in the file (`orgsync config
//! export` prints the added sync so it can be moved there).

use std::time::Duration;

use indexmap::IndexMap;

use super::{
    Capture, ConflictPolicy, DEFAULT_GLOBAL_ID_FIELD, Direction, FieldMap, Start, SyncSettings,
};

/// The backup poll of an added `cdc` sync (the file's `backup_interval` default).
pub const ADDED_BACKUP_INTERVAL: Duration = Duration::from_secs(900);
/// The poll interval of an added `poll` sync (the file's `interval` default).
pub const ADDED_POLL_INTERVAL: Duration = Duration::from_secs(60);

impl SyncSettings {
    /// The sync of `object` over `fields` (API names, the same in every org), captured by
    /// `capture`, disabled: it starts paused until an operator resumes it.
    pub fn added(object: &str, fields: &[String], capture: Capture) -> SyncSettings {
        SyncSettings {
            object: object.to_string(),
            target_object: object.to_string(),
            fields: fields
                .iter()
                .map(|f| FieldMap {
                    source: f.clone(),
                    target: f.clone(),
                    direction: Direction::Both,
                })
                .collect(),
            constants: IndexMap::new(),
            where_clause: None,
            capture,
            interval: match capture {
                Capture::Poll => ADDED_POLL_INTERVAL,
                _ => ADDED_BACKUP_INTERVAL,
            },
            conflict: ConflictPolicy::LastWriterWins,
            parents: Vec::new(),
            start: Start::Everything,
            global_id_field: DEFAULT_GLOBAL_ID_FIELD.to_string(),
            enabled: false,
            files: false,
            reconcile: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_added_sync_starts_paused_with_the_file_defaults() {
        let s = SyncSettings::added("Contact", &["LastName".into()], Capture::Cdc);
        assert!(!s.enabled);
        assert_eq!(s.interval, ADDED_BACKUP_INTERVAL);
        assert_eq!(s.target_object, "Contact");
        assert_eq!(s.fields[0].target, "LastName");
        assert_eq!(s.global_id_field, DEFAULT_GLOBAL_ID_FIELD);
        let p = SyncSettings::added("Contact", &[], Capture::Poll);
        assert_eq!(p.interval, ADDED_POLL_INTERVAL);
    }
}
