//! The URL rule on its own: a table of hosts and properties over generated addresses.

use std::net::Ipv4Addr;

use orgsync_core::config::org_url::{HostClass, UrlProblem, check_host, check_url, classify};
use proptest::prelude::*;

fn class_of(url: &str) -> HostClass {
    let u = url::Url::parse(url).unwrap();
    classify(&u.host().unwrap())
}

#[test]
fn hosts_are_classified_by_what_they_are() {
    let private = HostClass::PrivateNetwork;
    let cases = [
        ("http://127.0.0.1", HostClass::Loopback),
        ("http://127.255.0.9", HostClass::Loopback),
        ("http://0x7f.1", HostClass::Loopback), // WHATWG: 127.0.0.1
        ("http://2130706433", HostClass::Loopback), // 127.0.0.1 as one number
        ("http://[::1]", HostClass::Loopback),
        ("http://[::ffff:127.0.0.1]", HostClass::Loopback),
        ("http://localhost", HostClass::Loopback),
        ("http://LOCALHOST", HostClass::Loopback),
        ("http://localhost.evil.example", HostClass::Public),
        ("http://127.0.0.1.nip.io", HostClass::Public),
        ("http://login.salesforce.com", HostClass::Public),
        ("http://8.8.8.8", HostClass::Public),
        ("http://[2001:db8::1]", HostClass::Public),
        ("http://169.254.169.254", HostClass::Metadata),
        ("http://[fd00:ec2::254]", HostClass::Metadata),
        ("http://metadata.google.internal", HostClass::Metadata),
        ("http://metadata.google.internal.", HostClass::Metadata),
        ("http://10.1.2.3", private("private")),
        ("http://172.31.255.255", private("private")),
        ("http://172.32.0.1", HostClass::Public),
        ("http://192.168.0.1", private("private")),
        ("http://100.64.0.1", private("shared (carrier-grade NAT)")),
        ("http://100.128.0.1", HostClass::Public),
        ("http://169.254.0.1", private("link-local")),
        ("http://0.0.0.0", private("unspecified")),
        ("http://0.1.2.3", private("unspecified")),
        ("http://255.255.255.255", private("broadcast")),
        ("http://224.0.0.1", private("multicast")),
        ("http://240.0.0.1", private("reserved")),
        ("http://[::]", private("unspecified")),
        ("http://[fc00::1]", private("unique-local")),
        ("http://[fdff::1]", private("unique-local")),
        ("http://[fe80::1]", private("link-local")),
        ("http://[febf::1]", private("link-local")),
        ("http://[fec0::1]", private("site-local")),
        ("http://[ff02::1]", private("multicast")),
        ("http://[::ffff:192.168.1.1]", private("private")),
        ("http://[::ffff:169.254.169.254]", HostClass::Metadata),
    ];
    for (url, class) in cases {
        assert_eq!(class_of(url), class, "{url}");
    }
}

#[test]
fn metadata_is_refused_even_with_the_opt_in() {
    for url in [
        "https://169.254.169.254",
        "https://[fd00:ec2::254]",
        "https://metadata.google.internal",
        "https://[::ffff:a9fe:a9fe]", // 169.254.169.254, IPv4-mapped
    ] {
        assert!(
            matches!(check_url(url, true, true), Err(UrlProblem::Metadata(_))),
            "{url}"
        );
    }
}

#[test]
fn paths_only_where_allowed() {
    assert_eq!(
        check_url("https://acme.my.site.com/partners/", false, true).as_deref(),
        Ok("https://acme.my.site.com/partners")
    );
    assert_eq!(
        check_url("https://acme.my.site.com/partners", false, false),
        Err(UrlProblem::Path)
    );
    assert_eq!(
        check_url("https://api.pubsub.salesforce.com:7443/", false, false).as_deref(),
        Ok("https://api.pubsub.salesforce.com:7443")
    );
}

#[test]
fn bare_hosts() {
    assert_eq!(
        check_host(" Acme.My.Salesforce.com ", false).as_deref(),
        Ok("acme.my.salesforce.com")
    );
    assert_eq!(check_host("[::1]", false).as_deref(), Ok("[::1]"));
    assert_eq!(check_host("127.0.0.1", false).as_deref(), Ok("127.0.0.1"));
    for bad in [
        "",
        "https://x.example",
        "x.example:443",
        "*.x.example",
        "a@x.example",
        "x.example/p",
        "[::1]:80",
    ] {
        assert!(check_host(bad, true).is_err(), "{bad:?}");
    }
}

fn private_v4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        any::<[u8; 3]>().prop_map(|[b, c, d]| Ipv4Addr::new(10, b, c, d)),
        (16u8..32, any::<[u8; 2]>()).prop_map(|(b, [c, d])| Ipv4Addr::new(172, b, c, d)),
        any::<[u8; 2]>().prop_map(|[c, d]| Ipv4Addr::new(192, 168, c, d)),
        any::<[u8; 2]>()
            .prop_map(|[c, d]| Ipv4Addr::new(169, 254, c, d))
            .prop_filter("not the metadata address", |ip| *ip
                != Ipv4Addr::new(169, 254, 169, 254)),
        (64u8..128, any::<[u8; 2]>()).prop_map(|(b, [c, d])| Ipv4Addr::new(100, b, c, d)),
    ]
}

proptest! {
    #[test]
    fn private_v4_needs_the_opt_in_and_https(ip in private_v4(), port in 1u16..) {
        let https = format!("https://{ip}:{port}");
        let refused = matches!(check_url(&https, false, true), Err(UrlProblem::PrivateNetwork { .. }));
        prop_assert!(refused);
        prop_assert!(check_url(&https, true, true).is_ok());
        let plain = format!("http://{ip}:{port}");
        prop_assert!(matches!(check_url(&plain, true, true), Err(UrlProblem::PlainHttp(_))));
    }

    #[test]
    fn any_127_address_may_use_plain_http(b: u8, c: u8, d: u8, port in 1u16..) {
        let url = format!("http://127.{b}.{c}.{d}:{port}");
        // normalised as the url crate serialises it: http's default port is left out
        let want = match port {
            80 => format!("http://127.{b}.{c}.{d}"),
            _ => url.clone(),
        };
        prop_assert_eq!(check_url(&url, false, true), Ok(want));
    }

    #[test]
    fn userinfo_is_always_refused(user in "[a-z0-9.]{1,12}", pass in proptest::option::of("[a-z0-9]{0,6}"), host in prop_oneof![Just("127.0.0.1"), Just("login.salesforce.com"), Just("10.0.0.1")]) {
        let auth = match &pass { Some(p) => format!("{user}:{p}"), None => user.clone() };
        for scheme in ["http", "https"] {
            let url = format!("{scheme}://{auth}@{host}/");
            prop_assert_eq!(check_url(&url, true, true), Err(UrlProblem::Userinfo), "{}", url);
        }
    }

    #[test]
    fn names_that_start_like_loopback_are_not_loopback(label in "[a-z][a-z0-9-]{0,10}", tld in "[a-z]{2,6}") {
        for host in [format!("127.0.0.1.{label}.{tld}"), format!("localhost.{label}.{tld}"), format!("{label}localhost.{tld}")] {
            let url = format!("http://{host}");
            prop_assert!(matches!(check_url(&url, true, true), Err(UrlProblem::PlainHttp(_))), "{}", url);
        }
    }

    #[test]
    fn accepted_urls_are_stable_and_nothing_panics(s in "\\PC{0,40}", t in "(https?://)?[a-z0-9.:@\\[\\]/%-]{0,30}") {
        for raw in [s, t] {
            for allow in [false, true] {
                if let Ok(n) = check_url(&raw, allow, true) {
                    prop_assert_eq!(check_url(&n, allow, true), Ok(n.clone()));
                    prop_assert!(n.starts_with("https://") || n.starts_with("http://"));
                }
                let _ = check_host(&raw, allow);
            }
        }
    }
}
