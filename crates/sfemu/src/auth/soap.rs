//! SOAP partner `login()`: the request's credentials and the response, whose `result` children
//! come in exactly the partner WSDL's sequence because some clients read them by position.

use crate::soap::envelope::Envelope;
use crate::soap::xml::{ENVELOPE_OPEN, el, nil};

/// `username` and `password` of a `login` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The credentials of a `login` envelope; the missing argument's name otherwise.
pub fn login_request(env: &Envelope) -> Result<LoginRequest, &'static str> {
    Ok(LoginRequest {
        username: env.arg("username").ok_or("username")?.trim().to_string(),
        password: env.arg("password").ok_or("password")?.to_string(),
    })
}

/// Everything the login response reports.
#[derive(Debug, Clone)]
pub struct LoginResult {
    /// `https://host:port` of the org.
    pub base_url: String,
    /// API version from the request path (`62.0`).
    pub version: String,
    pub org_id: String,
    pub org_name: String,
    pub session_id: String,
    pub session_seconds_valid: u64,
    pub user_id: String,
    pub username: String,
    pub user_full_name: String,
    pub user_email: String,
    pub profile_id: String,
}

/// The `loginResponse` envelope; children in the partner WSDL's order.
pub fn render_login_response(r: &LoginResult) -> String {
    let org15: String = r.org_id.chars().take(15).collect();
    let mut o = String::with_capacity(2048);
    o.push_str(ENVELOPE_OPEN);
    o.push_str("<soapenv:Body><loginResponse><result>");
    el(
        &mut o,
        "metadataServerUrl",
        &format!("{}/services/Soap/m/{}/{}", r.base_url, r.version, org15),
    );
    el(&mut o, "passwordExpired", "false");
    el(&mut o, "sandbox", "false");
    el(
        &mut o,
        "serverUrl",
        &format!("{}/services/Soap/u/{}/{}", r.base_url, r.version, org15),
    );
    el(&mut o, "sessionId", &r.session_id);
    el(&mut o, "userId", &r.user_id);
    o.push_str("<userInfo>");
    el(&mut o, "accessibilityMode", "false");
    el(&mut o, "chatterExternal", "false");
    el(&mut o, "currencySymbol", "$");
    el(&mut o, "orgAttachmentFileSizeLimit", "5242880");
    el(&mut o, "orgDefaultCurrencyIsoCode", "USD");
    el(&mut o, "orgDefaultCurrencyLocale", "en_US");
    el(&mut o, "orgDisallowHtmlAttachments", "false");
    el(&mut o, "orgHasPersonAccounts", "false");
    el(&mut o, "organizationId", &r.org_id);
    el(&mut o, "organizationMultiCurrency", "false");
    el(&mut o, "organizationName", &r.org_name);
    el(&mut o, "profileId", &r.profile_id);
    nil(&mut o, "roleId");
    el(
        &mut o,
        "sessionSecondsValid",
        &r.session_seconds_valid.to_string(),
    );
    el(&mut o, "userDefaultCurrencyIsoCode", "USD");
    el(&mut o, "userEmail", &r.user_email);
    el(&mut o, "userFullName", &r.user_full_name);
    el(&mut o, "userId", &r.user_id);
    el(&mut o, "userLanguage", "en_US");
    el(&mut o, "userLocale", "en_US");
    el(&mut o, "userName", &r.username);
    el(&mut o, "userTimeZone", "America/Los_Angeles");
    el(&mut o, "userType", "Standard");
    el(&mut o, "userUiSkin", "Theme3");
    o.push_str("</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>");
    o
}

/// The message of `INVALID_LOGIN`.
pub const INVALID_LOGIN_MESSAGE: &str =
    "Invalid username, password, security token; or user locked out.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::envelope::parse;

    #[test]
    fn credentials_or_the_missing_one() {
        let env =
            parse("<login><username> a@b </username><password>p&amp;</password></login>").unwrap();
        assert_eq!(
            login_request(&env),
            Ok(LoginRequest {
                username: "a@b".into(),
                password: "p&".into()
            })
        );
        let env = parse("<login><username>a</username></login>").unwrap();
        assert_eq!(login_request(&env), Err("password"));
    }
}
