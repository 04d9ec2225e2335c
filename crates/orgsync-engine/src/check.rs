//! `orgsync check`: read-only checks of what breaks syncs in practice — login per org,
//! `SELECT Id FROM X LIMIT 1` per object, and describe: every mapped field exists and is
//! createable/updateable for the integration user, and the global-id field exists as a unique
//! external id; for `capture = "cdc"`, that the object's change events can be subscribed to
//! (one GetTopic RPC). One line per org and object, and one "how to fix" line per problem.

use orgsync_core::Settings;
use orgsync_core::config::Capture;
use orgsync_core::mapping::{object_name, synced_fields};

use crate::options::EngineOptions;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    /// The org.
    pub org: String,
    /// The object, or None for the login line.
    pub object: Option<String>,
    /// Passed.
    pub ok: bool,
    /// What was found.
    pub message: String,
    /// How to fix each problem, one per line.
    pub fixes: Vec<String>,
}

/// Everything `check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// In org, then object order.
    pub lines: Vec<CheckLine>,
}

impl CheckReport {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.lines.iter().all(|l| l.ok)
    }
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for l in &self.lines {
            let what = match &l.object {
                Some(o) => format!("{} {o}", l.org),
                None => format!("{} login", l.org),
            };
            writeln!(
                f,
                "{} {what}: {}",
                if l.ok { "ok  " } else { "FAIL" },
                l.message
            )?;
            for fix in &l.fixes {
                writeln!(f, "       fix: {fix}")?;
            }
        }
        Ok(())
    }
}

/// Run every check; never writes anything.
pub async fn check(settings: &Settings, opts: &EngineOptions) -> CheckReport {
    let mut report = CheckReport::default();
    for org in settings.orgs.values() {
        let name = org.name.to_string();
        let conn = match crate::login::login(settings, org, opts).await {
            Ok(c) => {
                report.lines.push(CheckLine {
                    org: name.clone(),
                    object: None,
                    ok: true,
                    message: format!("logged in, organization {}", c.org_id),
                    fixes: Vec::new(),
                });
                c
            }
            Err(e) => {
                report.lines.push(CheckLine {
                    org: name.clone(),
                    object: None,
                    ok: false,
                    message: e.to_string(),
                    fixes: vec![format!(
                        "check login_url and the credentials of [orgs.{name}] (and that the connected app allows this flow)"
                    )],
                });
                continue;
            }
        };
        let side = settings.topology.is_source_side(&org.name);
        for sync in &settings.syncs {
            let object = object_name(sync, side).to_string();
            let mut fixes = Vec::new();
            if let Err(e) = conn
                .client
                .query_page(&format!("SELECT Id FROM {object} LIMIT 1"), false)
                .await
            {
                fixes.push(format!(
                    "the integration user cannot query {object} ({}): grant Read on {object} in its profile or permission set",
                    crate::policy::message(&e)
                ));
            }
            match conn.client.describe(&object).await {
                Err(e) => fixes.push(format!(
                    "cannot describe {object} ({}): check the object's API name and the user's access",
                    crate::policy::message(&e)
                )),
                Ok(d) => {
                    for f in synced_fields(sync, side) {
                        match d.field(&f) {
                            None => fixes.push(format!(
                                "field {object}.{f} does not exist or is not visible: create it or grant field-level security"
                            )),
                            Some(fd) if !(fd.createable && fd.updateable) => fixes.push(format!(
                                "field {object}.{f} is not createable and updateable for the integration user: make it editable in field-level security"
                            )),
                            Some(_) => {}
                        }
                    }
                    let g = &sync.global_id_field;
                    match d.field(g) {
                        None => fixes.push(format!(
                            "global-id field {object}.{g} is missing: create a Text(37) field marked External ID and Unique"
                        )),
                        Some(fd) if !(fd.external_id && unique(&d.raw, g)) => fixes.push(format!(
                            "field {object}.{g} must be an External ID and Unique: edit the field and tick both"
                        )),
                        Some(_) => {}
                    }
                }
            }
            if sync.capture == Capture::Cdc
                && let Err(e) = crate::capture::cdc::can_subscribe(&conn, org, &object).await
            {
                fixes.push(format!(
                    "capture = \"cdc\" but {object}'s change events cannot be subscribed to ({e}): select {object} in Setup → Integrations → Change Data Capture, or use capture = \"poll\""
                ));
            }
            report.lines.push(CheckLine {
                org: name.clone(),
                object: Some(object.clone()),
                ok: fixes.is_empty(),
                message: if fixes.is_empty() {
                    "query, fields and global-id field ok".into()
                } else {
                    format!("{} problem(s)", fixes.len())
                },
                fixes,
            });
        }
    }
    report
}

/// `unique` from the raw describe (the typed describe does not carry it).
fn unique(raw: &serde_json::Value, field: &str) -> bool {
    raw.get("fields")
        .and_then(|f| f.as_array())
        .and_then(|fs| {
            fs.iter().find(|f| {
                f.get("name")
                    .and_then(|n| n.as_str())
                    .is_some_and(|n| n.eq_ignore_ascii_case(field))
            })
        })
        .and_then(|f| f.get("unique"))
        .and_then(|u| u.as_bool())
        .unwrap_or(false)
}
