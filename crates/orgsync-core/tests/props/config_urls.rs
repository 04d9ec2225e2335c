//! `orgsync config validate` on org URLs: every bad login_url, pubsub_endpoint and
//! instance_hosts entry refused at its line and column with a fix; the good ones accepted.

use orgsync_core::config::*;

fn load(text: &str) -> Result<Settings, ConfigError> {
    Settings::from_files(&[("orgsync.toml", text)], &|v| Some(format!("v-{v}")))
}

/// Org `a`'s login_url value starts at line 3, column 13; `#A` adds keys to org `a`.
fn config(login_url: &str, extra: &str) -> String {
    format!(
        r#"
[orgs.a]
login_url = "{login_url}"
auth = {{ flow = "client_credentials", client_id = "id", client_secret = "s" }}
{extra}

[orgs.b]
login_url = "https://test.salesforce.com"
auth = {{ flow = "client_credentials", client_id = "id", client_secret = "s" }}

[topology]
kind = "peer"
orgs = ["a", "b"]

[[sync]]
object = "Account"
fields = ["Name"]
"#
    )
}

/// The one problem of a config that must be refused.
fn problem(text: &str) -> Problem {
    let e = load(text).expect_err("refused");
    assert_eq!(e.problems.len(), 1, "{e}");
    e.problems[0].clone()
}

#[test]
fn bad_login_urls_are_refused_at_their_line_with_a_fix() {
    // (url, what the problem says, what the fix says)
    let cases = [
        // finding 6: prefix-matched before
        (
            "http://127.0.0.1.nip.io",
            "plain http:// on `127.0.0.1.nip.io`",
            "plain http:// is only for 127.0.0.1",
        ),
        (
            "http://127.0.0.1@169.254.169.254",
            "user name or password",
            "credentials belong in auth",
        ),
        (
            "http://localhost.evil.example",
            "plain http:// on `localhost.evil.example`",
            "plain http:// is only for 127.0.0.1",
        ),
        (
            "http://127.0.0.1:80@10.0.0.1:8080/",
            "user name or password",
            "credentials belong in auth",
        ),
        (
            "https://169.254.169.254",
            "the cloud instance-metadata endpoint",
            "never an org",
        ),
        // the rest of the rule
        (
            "https://[fd00:ec2::254]",
            "the cloud instance-metadata endpoint",
            "never an org",
        ),
        (
            "https://metadata.google.internal",
            "the cloud instance-metadata endpoint",
            "never an org",
        ),
        (
            "https://10.0.0.1",
            "the private address",
            "allow_private_network = true",
        ),
        (
            "https://172.16.5.4",
            "the private address",
            "allow_private_network = true",
        ),
        (
            "https://192.168.1.10",
            "the private address",
            "allow_private_network = true",
        ),
        (
            "https://169.254.10.1",
            "the link-local address",
            "allow_private_network = true",
        ),
        (
            "https://[fe80::1]",
            "the link-local address",
            "allow_private_network = true",
        ),
        (
            "https://[fc00::1]",
            "the unique-local address",
            "allow_private_network = true",
        ),
        (
            "https://[::ffff:10.0.0.1]",
            "the private address",
            "allow_private_network = true",
        ),
        (
            "https://0.0.0.0",
            "the unspecified address",
            "allow_private_network = true",
        ),
        (
            "https://[::]",
            "the unspecified address",
            "allow_private_network = true",
        ),
        (
            "https://255.255.255.255",
            "the broadcast address",
            "allow_private_network = true",
        ),
        (
            "http://10.0.0.1",
            "the private address",
            "allow_private_network = true",
        ),
        (
            "http://login.salesforce.com",
            "plain http:// on `login.salesforce.com`",
            "plain http:// is only for 127.0.0.1",
        ),
        (
            "ftp://login.salesforce.com",
            "scheme `ftp`",
            "My Domain URL",
        ),
        (
            "login.salesforce.com",
            "is not a valid URL",
            "My Domain URL",
        ),
        (
            "https://login.salesforce.com/?next=x",
            "query or fragment",
            "My Domain URL",
        ),
        (
            "https://user@login.salesforce.com",
            "user name or password",
            "credentials belong in auth",
        ),
    ];
    for (url, says, fix) in cases {
        let p = problem(&config(url, ""));
        assert_eq!(p.position, Some((3, 13)), "{url}: {p}");
        assert!(
            p.problem.starts_with(&format!("login_url `{url}` ")),
            "{url}: {p}"
        );
        assert!(p.problem.contains(says), "{url}: {p}");
        assert!(p.fix.contains(fix), "{url}: {p}");
    }
}

#[test]
fn good_login_urls_are_accepted_and_normalised() {
    let cases = [
        (
            "https://login.salesforce.com",
            "https://login.salesforce.com",
        ),
        (
            "https://test.salesforce.com/",
            "https://test.salesforce.com",
        ),
        (
            "https://acme.my.salesforce.com",
            "https://acme.my.salesforce.com",
        ),
        (
            "https://ACME.my.salesforce.com:443/",
            "https://acme.my.salesforce.com",
        ),
        (
            "https://acme.my.site.com/partners",
            "https://acme.my.site.com/partners",
        ),
        ("http://127.0.0.1:8484", "http://127.0.0.1:8484"),
        ("http://127.9.8.7:8484/", "http://127.9.8.7:8484"),
        ("http://localhost:1", "http://localhost:1"),
        ("http://[::1]:2", "http://[::1]:2"),
        ("https://localhost:3", "https://localhost:3"),
    ];
    for (url, normalised) in cases {
        let s = load(&config(url, "")).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(s.orgs["a"].login_url, normalised, "{url}");
        assert!(!s.orgs["a"].allow_private_network);
        assert!(s.orgs["a"].instance_hosts.is_empty());
    }
}

#[test]
fn allow_private_network_opens_private_ranges_but_not_metadata_nor_plain_http() {
    let opt_in = "allow_private_network = true";
    for url in [
        "https://10.0.0.1",
        "https://192.168.1.10:8443/",
        "https://[fd12::1]",
        "https://169.254.10.1",
    ] {
        let s = load(&config(url, opt_in)).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(s.orgs["a"].allow_private_network);
    }
    for (url, says) in [
        (
            "https://169.254.169.254",
            "the cloud instance-metadata endpoint",
        ),
        (
            "https://metadata.google.internal",
            "the cloud instance-metadata endpoint",
        ),
        ("http://10.0.0.1", "plain http://"),
    ] {
        let p = problem(&config(url, opt_in));
        assert_eq!(p.position, Some((3, 13)), "{url}: {p}");
        assert!(p.problem.contains(says), "{url}: {p}");
    }
    // the key is a boolean
    let e = load(&config(
        "https://10.0.0.1",
        "allow_private_network = \"yes\"",
    ))
    .unwrap_err();
    assert!(e.to_string().starts_with("orgsync.toml:5:25: "), "{e}");
}

#[test]
fn pubsub_endpoint_follows_the_same_rule_without_a_path() {
    let with = |v: &str, extra: &str| {
        config(
            "https://login.salesforce.com",
            &format!("pubsub_endpoint = \"{v}\"\n{extra}"),
        )
    };
    let ok = load(&with("https://api.deu.pubsub.salesforce.com:7443/", "")).unwrap();
    assert_eq!(
        ok.orgs["a"].pubsub_endpoint.as_deref(),
        Some("https://api.deu.pubsub.salesforce.com:7443")
    );
    let local = load(&with("http://127.0.0.1:9999", "")).unwrap();
    assert_eq!(
        local.orgs["a"].pubsub_endpoint.as_deref(),
        Some("http://127.0.0.1:9999")
    );
    let private = load(&with(
        "https://10.1.1.1:7443",
        "allow_private_network = true",
    ))
    .unwrap();
    assert_eq!(
        private.orgs["a"].pubsub_endpoint.as_deref(),
        Some("https://10.1.1.1:7443")
    );
    for (v, says) in [
        ("http://api.pubsub.salesforce.com:7443", "plain http://"),
        ("https://10.1.1.1:7443", "the private address"),
        (
            "https://x@api.pubsub.salesforce.com:7443",
            "user name or password",
        ),
        (
            "https://api.pubsub.salesforce.com:7443/eventbus",
            "has a path",
        ),
        (
            "https://169.254.169.254",
            "the cloud instance-metadata endpoint",
        ),
    ] {
        let p = problem(&with(v, ""));
        // line 5, after `pubsub_endpoint = `
        assert_eq!(p.position, Some((5, 19)), "{v}: {p}");
        assert!(
            p.problem.starts_with(&format!("pubsub_endpoint `{v}` ")),
            "{v}: {p}"
        );
        assert!(p.problem.contains(says), "{v}: {p}");
        assert!(p.fix.contains("api.pubsub.salesforce.com"), "{v}: {p}");
    }
}

#[test]
fn instance_hosts_are_bare_hosts_under_the_same_rule() {
    let with = |list: &str, extra: &str| {
        config(
            "https://login.salesforce.com",
            &format!("instance_hosts = {list}\n{extra}"),
        )
    };
    let s = load(&with(
        r#"["SF-Gateway.example.com", "sf-gateway.example.com", "[::1]"]"#,
        "",
    ))
    .unwrap();
    assert_eq!(
        s.orgs["a"].instance_hosts,
        ["sf-gateway.example.com", "[::1]"]
    );
    let s = load(&with(r#"["10.2.3.4"]"#, "allow_private_network = true")).unwrap();
    assert_eq!(s.orgs["a"].instance_hosts, ["10.2.3.4"]);
    // column of each entry: `instance_hosts = [` is 18 characters
    for (entry, says) in [
        ("https://sf-gateway.example.com", "not a bare host name"),
        ("sf-gateway.example.com:8443", "not a bare host name"),
        ("*.example.com", "not a bare host name"),
        ("user@sf-gateway.example.com", "not a bare host name"),
        ("", "not a bare host name"),
        ("10.2.3.4", "the private address"),
        ("169.254.169.254", "the cloud instance-metadata endpoint"),
        (
            "metadata.google.internal",
            "the cloud instance-metadata endpoint",
        ),
    ] {
        let p = problem(&with(&format!("[\"{entry}\"]"), ""));
        assert_eq!(p.position, Some((5, 19)), "{entry}: {p}");
        assert!(
            p.problem
                .starts_with(&format!("instance_hosts entry `{entry}` ")),
            "{entry}: {p}"
        );
        assert!(p.problem.contains(says), "{entry}: {p}");
        assert!(!p.fix.is_empty());
    }
}

#[test]
fn the_cli_format_names_file_line_column_and_fix() {
    let e = load(&config("http://127.0.0.1@169.254.169.254", "")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "orgsync.toml:3:13: login_url `http://127.0.0.1@169.254.169.254` has a user name or password before the host (`…@`), which hides where it really goes\n  fix: remove the `…@` part (credentials belong in auth = { … }, never in a URL); use https://login.salesforce.com, https://test.salesforce.com or the org's My Domain URL (https://<name>.my.salesforce.com)"
    );
}
