//! `[monitor]`: the Sync Monitor's settings. Why a file of its own: the dashboard's one secret
//! (the admin password) has rules unlike the push tokens' — it is typed by a person, and it
//! turns the dashboard on.

use toml::Spanned;

use super::Secret;
use super::raw::RawMonitor;
use super::validate::Ctx;

/// Shortest accepted admin password: the login form faces whoever reaches `engine.listen`.
pub const MIN_ADMIN_PASSWORD_LEN: usize = 12;

/// The Sync Monitor, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorSettings {
    /// The login form's password (never printed: [`Secret`]'s Debug hides it).
    pub admin_password: Secret,
}

pub(super) fn build_monitor(
    ctx: &mut Ctx<'_>,
    raw: Option<Spanned<RawMonitor>>,
) -> Option<MonitorSettings> {
    let raw = raw?;
    let span = raw.span();
    let raw = raw.into_inner();
    let Some(password) = raw.admin_password else {
        ctx.err(
            span,
            "[monitor] has no admin_password",
            "add admin_password = \"${ORGSYNC_ADMIN_PASSWORD}\" (the dashboard's login), or remove [monitor]",
        );
        return None;
    };
    if password.get_ref().trim().chars().count() < MIN_ADMIN_PASSWORD_LEN {
        ctx.err(
            password.span(),
            format!("[monitor] admin_password is shorter than {MIN_ADMIN_PASSWORD_LEN} characters"),
            "use a long random value (e.g. `openssl rand -hex 16`) from an environment variable: \"${ORGSYNC_ADMIN_PASSWORD}\"",
        );
        return None;
    }
    Some(MonitorSettings {
        admin_password: Secret(password.into_inner()),
    })
}
