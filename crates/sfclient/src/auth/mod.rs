//! Getting an access token: OAuth JWT bearer, client credentials, refresh token, username +
//! password (OAuth password grant or SOAP `login()`).
//!
//! One token per org is shared by every task ([`token::TokenCache`]); this module only knows
//! how to obtain a fresh one. The instance URL comes from the token response (or SOAP
//! `serverUrl`), never from configuration, because Salesforce moves orgs between instances;
//! but it is checked ([`instance`]) before any request carries the token there.

pub mod instance;
pub mod jwt;
mod soap;
pub(crate) mod token;

use crate::error::{ApiError, SfError};
use crate::secret::Secret;
use jwt::JwtSigner;
use serde::Deserialize;
use std::path::PathBuf;

/// Where the JWT bearer flow's RSA private key comes from.
#[derive(Debug, Clone)]
pub enum JwtKey {
    /// A PEM file (PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1 `BEGIN RSA PRIVATE KEY`).
    File(PathBuf),
    /// PEM text held in memory.
    Pem(Secret<String>),
}

/// How the client authenticates to one org.
#[derive(Debug, Clone)]
pub enum AuthFlow {
    /// OAuth 2.0 JWT bearer: an RS256 assertion signed with the key whose certificate is on the
    /// connected app. No secret crosses the wire; the usual choice for servers.
    JwtBearer {
        /// Connected app consumer key (`iss`).
        client_id: String,
        /// Salesforce username to act as (`sub`).
        username: String,
        key: JwtKey,
        /// `aud`; by default `https://test.salesforce.com` for sandbox login hosts,
        /// `https://login.salesforce.com` for other Salesforce hosts, else the login URL
        /// (communities, the emulator).
        audience: Option<String>,
    },
    /// OAuth 2.0 client credentials (the app runs as its configured integration user).
    ClientCredentials {
        client_id: String,
        client_secret: Secret<String>,
    },
    /// OAuth 2.0 refresh token obtained earlier (e.g. by a web-server flow).
    RefreshToken {
        client_id: String,
        client_secret: Option<Secret<String>>,
        refresh_token: Secret<String>,
    },
    /// OAuth 2.0 username-password grant; `password` is the password followed by the user's
    /// security token when the org requires one.
    Password {
        client_id: String,
        client_secret: Secret<String>,
        username: String,
        password: Secret<String>,
    },
    /// SOAP partner `login()` with username + password(+security token); needs no connected app.
    SoapLogin {
        username: String,
        password: Secret<String>,
    },
}

impl AuthFlow {
    /// Short name used in error messages (`jwt-bearer`, `password`…).
    pub fn name(&self) -> &'static str {
        match self {
            AuthFlow::JwtBearer { .. } => "jwt-bearer",
            AuthFlow::ClientCredentials { .. } => "client-credentials",
            AuthFlow::RefreshToken { .. } => "refresh-token",
            AuthFlow::Password { .. } => "password",
            AuthFlow::SoapLogin { .. } => "soap-login",
        }
    }
}

/// The JWT `aud` Salesforce expects for a login URL.
pub fn default_audience(login_url: &str) -> String {
    let host = url::Url::parse(login_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    if host == "test.salesforce.com" || host.ends_with(".sandbox.my.salesforce.com") {
        "https://test.salesforce.com".to_owned()
    } else if host.ends_with(".salesforce.com") || host == "salesforce.com" {
        "https://login.salesforce.com".to_owned()
    } else {
        login_url.trim_end_matches('/').to_owned()
    }
}

/// An access token and where to use it.
#[derive(Debug, Clone)]
pub struct Token {
    pub access_token: Secret<String>,
    /// `https://na123.salesforce.com` (no trailing slash).
    pub instance_url: String,
    /// The identity URL (`…/id/00D…/005…`), when the server sent one.
    pub id_url: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    instance_url: String,
    #[serde(default)]
    id: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Obtains tokens for one org with one flow.
#[derive(Debug)]
pub(crate) struct Authenticator {
    pub http: reqwest::Client,
    pub org: String,
    /// `https://login.salesforce.com` (no trailing slash).
    pub login_url: String,
    pub api_version: String,
    pub flow: AuthFlow,
    /// Loaded once at connect time so a bad key fails fast.
    pub signer: Option<JwtSigner>,
    /// Hosts besides Salesforce's and the login host that may be the instance.
    pub instance_hosts: Vec<String>,
}

impl Authenticator {
    pub fn new(
        http: reqwest::Client,
        org: &str,
        login_url: &str,
        api_version: &str,
        flow: AuthFlow,
        instance_hosts: Vec<String>,
    ) -> Result<Self, SfError> {
        let signer = match &flow {
            AuthFlow::JwtBearer {
                key: JwtKey::File(path),
                ..
            } => {
                let pem = std::fs::read(path).map_err(|e| {
                    SfError::Config(format!(
                        "org {org}: cannot read JWT key {}: {e}",
                        path.display()
                    ))
                })?;
                Some(JwtSigner::from_pem(&pem)?)
            }
            AuthFlow::JwtBearer {
                key: JwtKey::Pem(pem),
                ..
            } => Some(JwtSigner::from_pem(pem.expose().as_bytes())?),
            _ => None,
        };
        Ok(Authenticator {
            http,
            org: org.to_owned(),
            login_url: login_url.trim_end_matches('/').to_owned(),
            api_version: api_version.to_owned(),
            flow,
            signer,
            instance_hosts,
        })
    }

    /// The instance URL a login returned, when the access token may be sent there; otherwise
    /// an auth error, and the token is dropped unused (see [`instance`]).
    pub fn trusted_instance(&self, instance_url: &str) -> Result<String, SfError> {
        instance::check_instance_url(&self.login_url, instance_url, &self.instance_hosts).map_err(
            |why| {
                tracing::warn!(org = %self.org, flow = self.flow.name(), reason = %why, "login named an untrusted instance");
                self.auth_error("untrusted_instance_url".into(), why)
            },
        )
    }

    /// Runs the flow once and returns a fresh token.
    pub async fn fetch(&self) -> Result<Token, SfError> {
        let form: Vec<(&str, String)> = match &self.flow {
            AuthFlow::SoapLogin { username, password } => {
                return soap::login(self, username, password).await;
            }
            AuthFlow::JwtBearer {
                client_id,
                username,
                audience,
                ..
            } => {
                let signer = self
                    .signer
                    .as_ref()
                    .ok_or_else(|| SfError::Config("JWT key not loaded".into()))?;
                let aud = audience
                    .clone()
                    .unwrap_or_else(|| default_audience(&self.login_url));
                let assertion =
                    signer.assertion(client_id, username, &aud, chrono::Utc::now().timestamp())?;
                vec![
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
                    ),
                    ("assertion", assertion),
                ]
            }
            AuthFlow::ClientCredentials {
                client_id,
                client_secret,
            } => vec![
                ("grant_type", "client_credentials".into()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.expose().clone()),
            ],
            AuthFlow::RefreshToken {
                client_id,
                client_secret,
                refresh_token,
            } => {
                let mut f = vec![
                    ("grant_type", "refresh_token".into()),
                    ("refresh_token", refresh_token.expose().clone()),
                    ("client_id", client_id.clone()),
                ];
                if let Some(s) = client_secret {
                    f.push(("client_secret", s.expose().clone()));
                }
                f
            }
            AuthFlow::Password {
                client_id,
                client_secret,
                username,
                password,
            } => vec![
                ("grant_type", "password".into()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.expose().clone()),
                ("username", username.clone()),
                ("password", password.expose().clone()),
            ],
        };
        let url = format!("{}/services/oauth2/token", self.login_url);
        let resp = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(|e| SfError::from_reqwest(&self.org, &e))?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| SfError::from_reqwest(&self.org, &e))?;
        if status == 200 {
            let t: TokenResponse =
                serde_json::from_slice(&body).map_err(|e| SfError::Protocol {
                    org: self.org.clone(),
                    status,
                    message: format!("token response: {e}"),
                })?;
            return Ok(Token {
                instance_url: self.trusted_instance(&t.instance_url)?,
                access_token: Secret::new(t.access_token),
                id_url: t.id,
            });
        }
        if status >= 500 {
            return Err(SfError::Api {
                org: self.org.clone(),
                status,
                errors: vec![ApiError::new(
                    "SERVER_ERROR",
                    String::from_utf8_lossy(&body),
                )],
            });
        }
        match serde_json::from_slice::<OAuthError>(&body) {
            Ok(e) => Err(self.auth_error(e.error, e.error_description)),
            Err(_) => Err(self.auth_error(
                format!("HTTP {status}"),
                String::from_utf8_lossy(&body).into_owned(),
            )),
        }
    }

    pub fn auth_error(&self, error: String, description: String) -> SfError {
        SfError::Auth {
            org: self.org.clone(),
            flow: self.flow.name(),
            error,
            description,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::default_audience;

    #[test]
    fn audience_follows_the_login_host() {
        assert_eq!(
            default_audience("https://login.salesforce.com"),
            "https://login.salesforce.com"
        );
        assert_eq!(
            default_audience("https://acme.my.salesforce.com/"),
            "https://login.salesforce.com"
        );
        assert_eq!(
            default_audience("https://test.salesforce.com"),
            "https://test.salesforce.com"
        );
        assert_eq!(
            default_audience("https://acme--uat.sandbox.my.salesforce.com"),
            "https://test.salesforce.com"
        );
        assert_eq!(
            default_audience("http://127.0.0.1:8484/"),
            "http://127.0.0.1:8484"
        );
        assert_eq!(default_audience("not a url"), "not a url");
    }
}
