//! The Outbound Messaging parser on its own: the wire-facts sample, refusals, and no panic on
//! any input.

use orgsync_api::outbound::soap::{self, MAX_NOTIFICATIONS, SoapError};
use proptest::prelude::*;

/// The sample from the wire facts (§11), trimmed of its elided URLs.
const SAMPLE: &str = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00D5e000000KQ2eEAG</OrganizationId>
   <ActionId>04k5e000000CaRkAAK</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://org.my.salesforce.com/services/Soap/c/66.0/00D</EnterpriseUrl><PartnerUrl>https://org.my.salesforce.com/services/Soap/u/66.0/00D</PartnerUrl>
   <Notification>
    <Id>04l5e00000Gx7QzAAJ</Id>
    <sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>0015e00000ZkM3hAAF</sf:Id><sf:Name>Acme &amp; Corporation &#169;</sf:Name>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>"#;

#[test]
fn the_wire_facts_sample_parses() {
    let m = soap::parse(SAMPLE.as_bytes()).unwrap();
    assert_eq!(m.organization_id, "00D5e000000KQ2eEAG");
    assert_eq!(m.action_id.as_deref(), Some("04k5e000000CaRkAAK"));
    assert_eq!(m.notifications.len(), 1);
    let n = &m.notifications[0];
    assert_eq!(
        (n.id.as_str(), n.object.as_str(), n.record_id.as_str()),
        ("04l5e00000Gx7QzAAJ", "Account", "0015e00000ZkM3hAAF")
    );
}

#[test]
fn refusals() {
    let doctype = format!("<!DOCTYPE x>{SAMPLE}");
    assert_eq!(soap::parse(doctype.as_bytes()), Err(SoapError::Doctype));
    let entity = SAMPLE.replace("&amp;", "&ext;");
    assert_eq!(
        soap::parse(entity.as_bytes()),
        Err(SoapError::Entity("ext".into()))
    );
    let no_org = SAMPLE.replace("<OrganizationId>00D5e000000KQ2eEAG</OrganizationId>", "");
    assert_eq!(
        soap::parse(no_org.as_bytes()),
        Err(SoapError::Missing("OrganizationId"))
    );
    let no_id = SAMPLE.replace("<sf:Id>0015e00000ZkM3hAAF</sf:Id>", "");
    assert_eq!(
        soap::parse(no_id.as_bytes()),
        Err(SoapError::Missing("Notification/sObject/sf:Id"))
    );
    let bad_id = SAMPLE.replace("0015e00000ZkM3hAAF", "0015e00000ZkM3hXXX");
    assert!(matches!(
        soap::parse(bad_id.as_bytes()),
        Err(SoapError::Invalid(_))
    ));
    assert!(matches!(soap::parse(b"<a><b></a>"), Err(SoapError::Xml(_))));
    let one = SAMPLE
        .split_once("<Notification>")
        .unwrap()
        .1
        .split_once("</Notification>")
        .unwrap()
        .0;
    let many = SAMPLE.replace(
        &format!("<Notification>{one}</Notification>"),
        &format!("<Notification>{one}</Notification>").repeat(MAX_NOTIFICATIONS + 1),
    );
    assert!(matches!(
        soap::parse(many.as_bytes()),
        Err(SoapError::Invalid(m)) if m.contains("more than 100")
    ));
}

#[test]
fn answers_are_well_formed() {
    assert!(soap::ack().contains("<Ack>true</Ack>"));
    let f = soap::fault("Client", "a < b & c");
    assert!(
        f.contains("<faultstring>a &lt; b &amp; c</faultstring>"),
        "{f}"
    );
}

proptest! {
    #[test]
    fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = soap::parse(&bytes);
    }

    #[test]
    fn never_panics_on_mutations(pos in 0..SAMPLE.len(), byte in any::<u8>(), kind in 0..3u8) {
        let mut b = SAMPLE.as_bytes().to_vec();
        match kind {
            0 => b[pos] = byte,
            1 => b.truncate(pos),
            _ => b.insert(pos, byte),
        }
        let _ = soap::parse(&b);
    }
}
