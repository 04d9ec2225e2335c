//! Checks on the URLs and hosts of an org (`login_url`, `pubsub_endpoint`, `instance_hosts`)
//! with the rule of [`super::org_url`], each problem reported at the value with a fix that
//! fits the problem.

use toml::Spanned;

use super::org_url::{self, UrlProblem};
use super::validate::Ctx;

/// What the usual fix is for a key, when the problem is not one with its own fix.
fn fix_for(problem: &UrlProblem, usual: &str) -> String {
    match problem {
        UrlProblem::Userinfo => format!(
            "remove the `…@` part (credentials belong in auth = {{ … }}, never in a URL); {usual}"
        ),
        UrlProblem::PlainHttp(_) => {
            format!("{usual} (plain http:// is only for 127.0.0.1, [::1] or localhost)")
        }
        UrlProblem::PrivateNetwork { .. } => format!(
            "{usual}; if this org really is reached through a private network, set allow_private_network = true in its [orgs.<name>] table"
        ),
        UrlProblem::Metadata(_) => format!("{usual}; a cloud metadata endpoint is never an org"),
        _ => usual.to_string(),
    }
}

const LOGIN_FIX: &str = "use https://login.salesforce.com, https://test.salesforce.com or the org's My Domain URL (https://<name>.my.salesforce.com)";

/// The org's login URL, checked and normalised (no trailing slash). A path is allowed: an
/// Experience Cloud site logs in under one.
pub(super) fn login_url(ctx: &mut Ctx<'_>, raw: &Spanned<String>, allow_private: bool) -> String {
    match org_url::check_url(raw.get_ref(), allow_private, true) {
        Ok(url) => url,
        Err(p) => {
            ctx.err(
                raw.span(),
                format!("login_url `{}` {p}", raw.get_ref()),
                fix_for(&p, LOGIN_FIX),
            );
            raw.get_ref().trim_end_matches('/').to_string()
        }
    }
}

/// An org's Pub/Sub endpoint, checked: scheme, host and port only.
pub(super) fn pubsub_endpoint(
    ctx: &mut Ctx<'_>,
    raw: Option<&Spanned<String>>,
    allow_private: bool,
) -> Option<String> {
    let e = raw?;
    match org_url::check_url(e.get_ref(), allow_private, false) {
        Ok(url) => Some(url),
        Err(p) => {
            ctx.err(
                e.span(),
                format!("pubsub_endpoint `{}` {p}", e.get_ref()),
                fix_for(&p, "use https://api.pubsub.salesforce.com:7443 (or https://api.deu.pubsub.salesforce.com:7443 for Hyperforce EU), or leave it out"),
            );
            None
        }
    }
}

/// The extra hosts that may be the org's instance (where its access token is sent).
pub(super) fn instance_hosts(
    ctx: &mut Ctx<'_>,
    raw: Option<&Spanned<Vec<Spanned<String>>>>,
    allow_private: bool,
) -> Vec<String> {
    let Some(list) = raw else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for h in list.get_ref() {
        match org_url::check_host(h.get_ref(), allow_private) {
            Ok(host) if !out.contains(&host) => out.push(host),
            Ok(_) => {}
            Err(p) => ctx.err(
                h.span(),
                format!("instance_hosts entry `{}` {p}", h.get_ref()),
                fix_for(
                    &p,
                    "write the host name alone, exactly as the token response's instance_url names it, e.g. \"acme.my.salesforce.com\"",
                ),
            ),
        }
    }
    out
}
