//! The rule for every URL and host an org's configuration names (`login_url`,
//! `pubsub_endpoint`, `instance_hosts`): parsed with the `url` crate (WHATWG rules, the same
//! parsing an HTTP client applies), never matched by prefix, because a prefix check accepts
//! `http://127.0.0.1.nip.io` or `http://127.0.0.1@169.254.169.254` — URLs that look local but
//! send credentials elsewhere.
//!
//! The rule:
//! - `https`, or plain `http` only for a loopback host (127.0.0.0/8, `::1`, or exactly
//!   `localhost`: the local emulator);
//! - no user name or password before the host (`user:pass@host`);
//! - no query or fragment (and, where the caller says so, no path);
//! - private-network hosts (private, shared, link-local, unique-local, unspecified, broadcast,
//!   multicast and reserved addresses) only when the org opts in with
//!   `allow_private_network = true`;
//! - cloud instance-metadata endpoints never: they are never an org, and a token sent there
//!   can leak the machine's own cloud credentials.
//!
//! The rule looks at the URL's text. A public DNS name that resolves to a private address
//! passes: names are not resolved here.

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// What a host is, as far as its name or address tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostClass {
    /// 127.0.0.0/8, `::1` or exactly `localhost`: this machine.
    Loopback,
    /// A public address or a DNS name.
    Public,
    /// Reachable only inside some network; the text names the range (`private`, `link-local`…).
    PrivateNetwork(&'static str),
    /// A cloud instance-metadata endpoint (169.254.169.254, fd00:ec2::254,
    /// metadata.google.internal).
    Metadata,
}

/// Why a URL or host was refused. The message completes "login_url `…` …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    /// Not parseable as an absolute URL (or host).
    #[error("is not a valid URL: {0}")]
    NotAUrl(String),
    /// A scheme other than https / http.
    #[error("uses the scheme `{0}`; only https:// is allowed (http:// on loopback)")]
    Scheme(String),
    /// `user[:password]@` before the host.
    #[error("has a user name or password before the host (`…@`), which hides where it really goes")]
    Userinfo,
    /// No host at all.
    #[error("names no host")]
    NoHost,
    /// `http://` on a host that is not loopback.
    #[error("uses plain http:// on `{0}`, which is not a loopback host")]
    PlainHttp(String),
    /// A private-network host without the org's opt-in.
    #[error("names the {range} address `{host}`")]
    PrivateNetwork {
        /// The host as parsed.
        host: String,
        /// Which range.
        range: &'static str,
    },
    /// A cloud metadata endpoint.
    #[error("names the cloud instance-metadata endpoint `{0}`")]
    Metadata(String),
    /// `?query` or `#fragment`.
    #[error("has a query or fragment")]
    QueryOrFragment,
    /// A path where only scheme, host and port belong.
    #[error("has a path; only scheme, host and port belong here")]
    Path,
    /// An `instance_hosts` entry that is a URL, a pattern or a host with a port.
    #[error("is not a bare host name (no scheme, port, path or wildcard)")]
    NotAHost,
}

/// Cloud metadata endpoints by name (compared without a trailing dot).
const METADATA_NAMES: [&str; 1] = ["metadata.google.internal"];

/// Classifies a parsed host.
pub fn classify(host: &Host<&str>) -> HostClass {
    match host {
        Host::Domain(d) => {
            let d = d.strip_suffix('.').unwrap_or(d);
            if d.eq_ignore_ascii_case("localhost") {
                HostClass::Loopback
            } else if METADATA_NAMES.iter().any(|m| d.eq_ignore_ascii_case(m)) {
                HostClass::Metadata
            } else {
                HostClass::Public
            }
        }
        Host::Ipv4(ip) => classify_v4(*ip),
        Host::Ipv6(ip) => classify_v6(*ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> HostClass {
    let [a, b, ..] = ip.octets();
    let private = HostClass::PrivateNetwork;
    if ip == Ipv4Addr::new(169, 254, 169, 254) {
        HostClass::Metadata
    } else if ip.is_loopback() {
        HostClass::Loopback
    } else if ip.is_unspecified() || a == 0 {
        private("unspecified")
    } else if ip.is_broadcast() {
        private("broadcast")
    } else if ip.is_private() {
        private("private")
    } else if ip.is_link_local() {
        private("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        private("shared (carrier-grade NAT)")
    } else if ip.is_multicast() {
        private("multicast")
    } else if a >= 240 {
        private("reserved")
    } else {
        HostClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> HostClass {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let first = ip.segments()[0];
    let private = HostClass::PrivateNetwork;
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        HostClass::Metadata
    } else if ip.is_loopback() {
        HostClass::Loopback
    } else if ip.is_unspecified() {
        private("unspecified")
    } else if first & 0xfe00 == 0xfc00 {
        private("unique-local")
    } else if first & 0xffc0 == 0xfe80 {
        private("link-local")
    } else if first & 0xffc0 == 0xfec0 {
        private("site-local")
    } else if first & 0xff00 == 0xff00 {
        private("multicast")
    } else {
        HostClass::Public
    }
}

/// Refuses metadata endpoints always and private-network hosts without the opt-in.
fn check_class(host: &Host<&str>, allow_private_network: bool) -> Result<HostClass, UrlProblem> {
    match classify(host) {
        HostClass::Metadata => Err(UrlProblem::Metadata(host.to_string())),
        HostClass::PrivateNetwork(range) if !allow_private_network => {
            Err(UrlProblem::PrivateNetwork {
                host: host.to_string(),
                range,
            })
        }
        class => Ok(class),
    }
}

/// Checks an org URL and returns it normalised (as the `url` crate serialises it, without a
/// trailing slash). `allow_path`: whether a path may follow the host (a login URL of an
/// Experience Cloud site has one; an endpoint does not).
pub fn check_url(
    raw: &str,
    allow_private_network: bool,
    allow_path: bool,
) -> Result<String, UrlProblem> {
    let url = Url::parse(raw.trim()).map_err(|e| UrlProblem::NotAUrl(e.to_string()))?;
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(UrlProblem::Scheme(scheme.to_string()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::Userinfo);
    }
    let host = url.host().ok_or(UrlProblem::NoHost)?;
    let class = check_class(&host, allow_private_network)?;
    if scheme == "http" && class != HostClass::Loopback {
        return Err(UrlProblem::PlainHttp(host.to_string()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(UrlProblem::QueryOrFragment);
    }
    if !allow_path && url.path() != "/" {
        return Err(UrlProblem::Path);
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Checks a bare host name (an `instance_hosts` entry) and returns it normalised (lower
/// case, IDNA, IPv6 in brackets).
pub fn check_host(raw: &str, allow_private_network: bool) -> Result<String, UrlProblem> {
    let raw = raw.trim();
    if raw.is_empty() || raw.contains(['/', '@', '*', '?', '#']) || raw.contains("://") {
        return Err(UrlProblem::NotAHost);
    }
    // A port after a name or an IPv4 address (an IPv6 literal is bracketed).
    if !raw.starts_with('[') && raw.contains(':') {
        return Err(UrlProblem::NotAHost);
    }
    let url =
        Url::parse(&format!("https://{raw}/")).map_err(|e| UrlProblem::NotAUrl(e.to_string()))?;
    if url.port().is_some() {
        return Err(UrlProblem::NotAHost);
    }
    let host = url.host().ok_or(UrlProblem::NoHost)?;
    check_class(&host, allow_private_network)?;
    Ok(host.to_string())
}
