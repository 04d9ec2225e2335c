//! Login: one `sfclient::Client` per configured org, and the org's Salesforce id learnt from
//! the token's identity URL (`…/id/<orgId>/<userId>`), or — for flows that give none — from
//! one `SELECT Id FROM Organization` query.

use orgsync_core::config::{Auth, OrgSettings};
use orgsync_core::{OrgId, OrgName, Settings};
use sfclient::{AuthFlow, Client, JwtKey, OrgConfig, Secret};

use crate::error::EngineError;
use crate::options::EngineOptions;
use crate::orgs::OrgConn;

/// The client configuration for one org.
pub(crate) fn org_config(
    settings: &Settings,
    org: &OrgSettings,
    opts: &EngineOptions,
) -> Result<OrgConfig, EngineError> {
    let auth = match &org.auth {
        Auth::Jwt {
            client_id,
            username,
            private_key_file,
            audience,
        } => AuthFlow::JwtBearer {
            client_id: client_id.clone(),
            username: username.clone(),
            key: JwtKey::File(private_key_file.clone()),
            audience: audience.clone(),
        },
        Auth::ClientCredentials {
            client_id,
            client_secret,
        } => AuthFlow::ClientCredentials {
            client_id: client_id.clone(),
            client_secret: Secret::from(client_secret.expose()),
        },
        Auth::RefreshToken {
            client_id,
            client_secret,
            refresh_token,
        } => AuthFlow::RefreshToken {
            client_id: client_id.clone(),
            client_secret: client_secret.as_ref().map(|s| Secret::from(s.expose())),
            refresh_token: Secret::from(refresh_token.expose()),
        },
        Auth::Password {
            client_id,
            client_secret,
            username,
            password,
            security_token,
        } => AuthFlow::Password {
            client_id: client_id.clone(),
            client_secret: Secret::from(client_secret.expose()),
            username: username.clone(),
            password: Secret::from(format!(
                "{}{}",
                password.expose(),
                security_token.as_ref().map_or("", |t| t.expose())
            )),
        },
    };
    let mut cfg = OrgConfig::new(org.name.as_str(), org.login_url.clone(), auth);
    cfg.api_version = org.api_version.clone();
    cfg.client_tag = settings.engine.client_tag.clone();
    cfg.max_concurrent = usize::try_from(org.max_concurrent_requests.max(1)).unwrap_or(1);
    // Where the login may send us: the token only goes to a checked instance URL.
    cfg.instance_hosts = org.instance_hosts.clone();
    cfg.ca_pem = match (&opts.ca_pem, &org.ca_file) {
        (Some(pem), _) => Some(pem.clone()),
        (None, Some(path)) => Some(std::fs::read_to_string(path).map_err(|e| {
            EngineError::Config(format!(
                "org {}: cannot read ca_file {}: {e}",
                org.name,
                path.display()
            ))
        })?),
        (None, None) => None,
    };
    Ok(cfg)
}

/// Connect to one org and learn its id.
pub(crate) async fn login(
    settings: &Settings,
    org: &OrgSettings,
    opts: &EngineOptions,
) -> Result<OrgConn, EngineError> {
    let name = org.name.clone();
    let auth_err = |source| EngineError::Auth {
        org: name.clone(),
        source,
    };
    let client = Client::connect(org_config(settings, org, opts)?)
        .await
        .map_err(auth_err)?;
    let org_id = org_id(&client, &name).await?;
    Ok(OrgConn { client, org_id })
}

async fn org_id(client: &Client, name: &OrgName) -> Result<OrgId, EngineError> {
    let api = |source| EngineError::Api {
        org: name.clone(),
        source,
    };
    if let Some(url) = client.identity_url().await.map_err(api)? {
        // …/id/<orgId>/<userId>
        let mut parts = url.trim_end_matches('/').rsplit('/');
        let _user = parts.next();
        if let Some(id) = parts.next().and_then(|s| s.parse::<OrgId>().ok()) {
            return Ok(id);
        }
    }
    let page = client
        .query_page("SELECT Id FROM Organization LIMIT 1", false)
        .await
        .map_err(api)?;
    page.records
        .first()
        .and_then(|r| r.get("Id"))
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<OrgId>().ok())
        .ok_or_else(|| EngineError::Config(format!("org {name}: cannot learn the org id")))
}

#[cfg(test)]
mod tests {
    use orgsync_core::Settings;

    use super::org_config;
    use crate::options::EngineOptions;

    #[test]
    fn instance_hosts_reach_the_client_config() {
        let text = r#"
topology = { kind = "peer", orgs = ["a", "b"] }
sync = [{ object = "Account", fields = ["Name"] }]
[orgs.a]
login_url = "https://login.salesforce.com"
instance_hosts = ["SF-Gateway.example.com"]
auth = { flow = "client_credentials", client_id = "id", client_secret = "s" }
[orgs.b]
login_url = "https://test.salesforce.com"
auth = { flow = "jwt", client_id = "id", username = "u", private_key_file = "k.pem" }
"#;
        let settings =
            Settings::from_files(&[("orgsync.toml", text)], &|_| None).expect("valid config");
        let opts = EngineOptions::default();
        let a = org_config(&settings, &settings.orgs["a"], &opts).expect("org a");
        assert_eq!(a.instance_hosts, ["sf-gateway.example.com"]);
        let b = org_config(&settings, &settings.orgs["b"], &opts).expect("org b");
        assert!(b.instance_hosts.is_empty());
    }
}
