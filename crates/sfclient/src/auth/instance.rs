//! Which instance URL a login may hand us: every later request carries the access token to
//! it, so a login server (or anything between us and it) that answers
//! `instance_url = http://10.255.255.1:9` must not receive the token in plain HTTP, nor
//! anywhere else that is not the org.
//!
//! Accepted: `https` on a Salesforce domain, on the login URL's own host, or on a host the
//! configuration lists ([`crate::OrgConfig::instance_hosts`]); a loopback host (http or https)
//! only when the login URL is loopback too (the local emulator) or the host is listed. Never
//! a user name or password, a query or a fragment. Hosts are compared exactly (after the
//! `url` crate's normalisation), domain suffixes only at a label boundary.

use url::{Host, Url};

/// Salesforce's own domains: an instance on any subdomain of these is the org.
///
/// Sources: `salesforce.com`, `force.com`, `cloudforce.com` from Salesforce's own CLI library
/// (forcedotcom/sfdx-core, `SfdcUrl.isSalesforceDomain`, which cites Salesforce Help article
/// 000003652 "Salesforce domains to allow"; newer versions add `crmforce.mil`); `my.site.com`
/// from Salesforce Help "My Domain" (`https://mycompany.my.site.com`); `salesforce-setup.com`
/// (Setup pages with enhanced domains), `salesforce.mil` (Government Cloud Plus – Defense) and
/// `sfcrmproducts.cn` (Salesforce on Alibaba Cloud) per Salesforce's domain allowlist as
/// quoted in orgsync issue 10 (the Help page itself was not available to check: UNCONFIRMED).
pub const SALESFORCE_DOMAINS: [&str; 8] = [
    "salesforce.com",
    "force.com",
    "cloudforce.com",
    "my.site.com",
    "salesforce-setup.com",
    "salesforce.mil",
    "crmforce.mil",
    "sfcrmproducts.cn",
];

/// Whether a host name is a Salesforce domain or one of its subdomains.
pub fn is_salesforce_domain(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    SALESFORCE_DOMAINS.iter().any(|d| {
        host == *d
            || host
                .strip_suffix(d)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1)
    })
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Checks the instance URL a login returned, for a client that logged in at `login_url`
/// and may also trust `extra_hosts`. Returns the URL to use (no trailing slash) or why not.
pub fn check_instance_url(
    login_url: &str,
    instance_url: &str,
    extra_hosts: &[String],
) -> Result<String, String> {
    let url = Url::parse(instance_url.trim())
        .map_err(|e| format!("instance URL {instance_url:?} is not a URL ({e})"))?;
    let host = url
        .host()
        .ok_or_else(|| format!("instance URL {instance_url:?} names no host"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "instance URL {instance_url:?} has a user name or password before the host"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "instance URL {instance_url:?} has a query or fragment"
        ));
    }
    let host_name = host.to_string();
    let listed = extra_hosts
        .iter()
        .any(|h| h.trim().eq_ignore_ascii_case(&host_name));
    let login_host = Url::parse(login_url)
        .ok()
        .and_then(|u| u.host().map(|h| (h.to_string(), is_loopback(&h))));
    let (login_host, login_loopback) = login_host.unwrap_or_default();
    let trusted = if is_loopback(&host) {
        url.scheme() == "http" || url.scheme() == "https"
    } else {
        url.scheme() == "https"
    };
    if !trusted {
        return Err(format!(
            "instance URL {instance_url:?} is not https (plain http only on loopback)"
        ));
    }
    let allowed = listed
        || if is_loopback(&host) {
            login_loopback
        } else {
            host_name.eq_ignore_ascii_case(&login_host)
                || matches!(host, Host::Domain(d) if is_salesforce_domain(d))
        };
    if !allowed {
        return Err(format!(
            "instance URL {instance_url:?} is neither a Salesforce domain nor the login host {login_host:?}; \
             the access token is not sent there (list the host in instance_hosts if it really serves this org)"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::{check_instance_url, is_salesforce_domain};

    #[test]
    fn salesforce_domains_match_at_a_label_boundary() {
        for yes in [
            "na1.salesforce.com",
            "acme.my.salesforce.com",
            "acme--uat.sandbox.my.salesforce.com",
            "ACME.lightning.force.com",
            "acme.my.site.com",
            "acme.my.salesforce-setup.com",
            "acme.my.salesforce.mil",
            "acme.my.crmforce.mil",
            "acme.my.sfcrmproducts.cn",
            "x.cloudforce.com",
            "salesforce.com",
            "acme.my.salesforce.com.",
        ] {
            assert!(is_salesforce_domain(yes), "{yes}");
        }
        for no in [
            "evilsalesforce.com",
            "salesforce.com.evil.example",
            "salesforce.co",
            "site.com",
            "acme.site.com",
            "xforce.com",
            ".salesforce.com",
            "127.0.0.1",
        ] {
            assert!(!is_salesforce_domain(no), "{no}");
        }
    }

    #[test]
    fn instance_urls_by_case() {
        let sf = "https://login.salesforce.com";
        let emu = "http://127.0.0.1:8484";
        let gw = ["sf-gateway.example.com".to_string()];
        let ok = [
            (sf, "https://na1.salesforce.com", &[][..]),
            (sf, "https://acme.my.salesforce.com/", &[][..]),
            (sf, "https://sf-gateway.example.com", &gw[..]),
            (
                "https://sso.example.com",
                "https://sso.example.com:8443",
                &[][..],
            ),
            (emu, "http://127.0.0.1:8484", &[][..]),
            (emu, "https://127.0.0.1:9999", &[][..]),
            ("http://localhost:1", "http://[::1]:2", &[][..]),
            ("https://localhost:1", "https://localhost:1", &[][..]),
        ];
        for (login, instance, extra) in ok {
            assert!(
                check_instance_url(login, instance, extra).is_ok(),
                "{login} → {instance}"
            );
        }
        let refused = [
            (sf, "http://10.255.255.1:9", &[][..], "not https"),
            (
                sf,
                "https://10.255.255.1:9",
                &[][..],
                "neither a Salesforce domain",
            ),
            (
                sf,
                "http://127.0.0.1:8484",
                &[][..],
                "neither a Salesforce domain",
            ),
            (
                sf,
                "https://evilsalesforce.com",
                &[][..],
                "neither a Salesforce domain",
            ),
            (
                sf,
                "https://salesforce.com.evil.example",
                &[][..],
                "neither",
            ),
            (sf, "https://169.254.169.254", &[][..], "neither"),
            (sf, "http://na1.salesforce.com", &[][..], "not https"),
            (sf, "http://sf-gateway.example.com", &gw[..], "not https"),
            (
                sf,
                "https://x@na1.salesforce.com",
                &[][..],
                "user name or password",
            ),
            (
                sf,
                "https://na1.salesforce.com/?a=b",
                &[][..],
                "query or fragment",
            ),
            (sf, "na1.salesforce.com", &[][..], "is not a URL"),
            (sf, "file:///etc/passwd", &[][..], "no host"),
            (emu, "http://10.0.0.1:8484", &[][..], "not https"),
            (emu, "https://example.com", &[][..], "neither"),
            (
                "https://sso.example.com",
                "https://sso.example.com.evil",
                &[][..],
                "neither",
            ),
        ];
        for (login, instance, extra, says) in refused {
            let e = check_instance_url(login, instance, extra).unwrap_err();
            assert!(e.contains(says), "{login} → {instance}: {e}");
        }
    }
}
