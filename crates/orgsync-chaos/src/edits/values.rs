//! Random field values a person would type, from the edit sequence's RNG. Free-text values
//! carry the edit number and org, so two edits rarely write the same value and a lost update
//! shows as a value from the wrong edit rather than hiding behind an equal one.

use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Map, Value, json};

const PEOPLE: &[&str] = &[
    "Ana Ruiz",
    "Ben Okafor",
    "Chen Wei",
    "Dana Levi",
    "Eli Novak",
];
const CITIES: &[&str] = &["Lisbon", "Austin", "Dublin", "Berlin", "Osaka"];
const INDUSTRIES: &[&str] = &["Banking", "Finance", "Healthcare", "Retail", "Technology"];
const STATUSES: &[&str] = &["New", "In Progress", "Blocked", "Done"];
const PRIORITIES: &[&str] = &["High", "Medium", "Low"];
const APPROVALS: &[&str] = &["Pending", "Approved", "Rejected"];
const DEP_TYPES: &[&str] = &["Blocks", "Relates To", "Duplicates"];

fn pick(rng: &mut impl Rng, xs: &[&str]) -> Value {
    json!(xs.choose(rng).copied().unwrap_or(""))
}

/// A date in 2030 (fixed, so values do not depend on the day the suite runs).
fn date(rng: &mut impl Rng) -> Value {
    let d = chrono::NaiveDate::from_ymd_opt(2030, 1, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new(rng.random_range(0..365))));
    json!(d.map(|d| d.format("%Y-%m-%d").to_string()))
}

/// A fresh value of a non-lookup `field` of `object`; `tag` names the edit (`e42@hub`).
pub fn value(rng: &mut impl Rng, object: &str, field: &str, tag: &str) -> Value {
    match (object, field) {
        ("Account", "Name") => json!(format!("Account {tag}")),
        ("Account", "Phone") => json!(format!("+1 555 {:04}", rng.random_range(0..10_000))),
        ("Account", "Industry") => pick(rng, INDUSTRIES),
        ("Account", "BillingCity") => pick(rng, CITIES),
        ("Work_Item__c", "Name") => json!(format!("WI {tag}")),
        ("Work_Item__c", "Status__c") => pick(rng, STATUSES),
        ("Work_Item__c", "Priority__c") => pick(rng, PRIORITIES),
        ("Work_Item__c", "Estimate_Hours__c") => {
            json!(f64::from(rng.random_range(1..160_u32)) / 2.0)
        }
        ("Work_Item__c", "Due_Date__c") | ("Work_Log__c", "Log_Date__c") => date(rng),
        ("Work_Log__c", "Name") => json!(format!("Log {tag}")),
        ("Work_Log__c", "Hours__c") => json!(f64::from(rng.random_range(1..32_u32)) / 4.0),
        ("Work_Log__c", "Approval_Status__c") => pick(rng, APPROVALS),
        ("Work_Item_Dependency__c", "Name") => json!(format!("DEP {tag}")),
        ("Work_Item_Dependency__c", "Type__c") => pick(rng, DEP_TYPES),
        (_, "Assignee__c" | "Author__c" | "Resource__c") => pick(rng, PEOPLE),
        (_, "Body__c") => json!(format!("Comment {tag}")),
        (_, "Description__c") => json!(format!("Notes {tag}")),
        _ => json!(format!("{field} {tag}")),
    }
}

/// Every non-lookup field of a new record.
pub fn new_record(
    rng: &mut impl Rng,
    object: &str,
    fields: &[&str],
    tag: &str,
) -> Map<String, Value> {
    fields
        .iter()
        .map(|f| (f.to_string(), value(rng, object, f, tag)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn values_are_valid_for_the_emulator_schema() {
        // every synced non-lookup field, written to a real emulated org
        let org = sfemu_org::Org::new(sfemu_org::OrgSpec {
            org_id: None,
            name: "t".into(),
            schema_files: vec![],
            users: vec![],
            profiles: vec![],
            cdc_objects: vec![],
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
        let caller = sfemu_org::Caller {
            user_id: org.default_user().id.clone(),
            api: "rest".into(),
            api_version: "62.0".into(),
            client: None,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for spec in crate::plan::objects() {
            let fields: Vec<&str> = spec
                .fields
                .iter()
                .filter(|f| spec.lookup(f).is_none())
                .map(String::as_str)
                .collect();
            for i in 0..20 {
                let rec = new_record(&mut rng, &spec.name, &fields, &format!("e{i}@t"));
                let r = org.apply(
                    &caller,
                    vec![sfemu_org::DmlOp::Create {
                        object: spec.name.clone(),
                        fields: rec,
                    }],
                    true,
                );
                assert!(r[0].is_ok(), "{}: {:?}", spec.name, r[0]);
            }
        }
    }
}
