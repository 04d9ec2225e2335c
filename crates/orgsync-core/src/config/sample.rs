//! Configuration text for tests and examples that need valid settings but no org to reach.

/// Two or more peer orgs (`[orgs.<name>]`, password flow to an address nothing listens on,
/// which validation accepts without a network) and a peer `[topology]` over them, followed
/// by a poll `[[sync]]` of `Name` every 30 s for each of `objects`: a whole configuration
/// for [`crate::Settings::from_str`]. Why one place: the unit tests of the store's overlay,
/// the engine's host and the monitor's views each wrote this text again.
pub fn peers(names: &[&str], objects: &[&str]) -> String {
    let mut text = String::new();
    for n in names {
        text.push_str(&format!(
            "[orgs.{n}]\nlogin_url = \"http://127.0.0.1:9\"\nrole = \"peer\"\nauth = {{ flow = \"password\", client_id = \"c\", client_secret = \"s\", username = \"u\", password = \"p\" }}\n"
        ));
    }
    let list: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    text.push_str(&format!(
        "[topology]\nkind = \"peer\"\norgs = [{}]\n",
        list.join(", ")
    ));
    for o in objects {
        text.push_str(&format!(
            "[[sync]]\nobject = \"{o}\"\nfields = [\"Name\"]\ncapture = \"poll\"\ninterval = \"30s\"\n"
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sample_is_a_valid_configuration() {
        let text = super::peers(&["a", "b"], &["Account", "Contact"]);
        let s = crate::Settings::from_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.syncs.len(), 2);
        assert_eq!(s.orgs.len(), 2);
    }
}
