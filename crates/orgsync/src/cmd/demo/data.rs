//! Delivery Hub–style sample data for the hub, and the random values the edit loop uses.

use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Map, Value, json};

use super::orgs::DemoOrg;

const COMPANIES: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka",
    "Vandelay",
    "Gringotts",
    "Oscorp",
    "Pied Piper",
    "Aperture",
    "Black Mesa",
    "Massive Dynamic",
    "Nakatomi",
    "Virtucon",
];
const INDUSTRIES: &[&str] = &[
    "Technology",
    "Manufacturing",
    "Retail",
    "Finance",
    "Healthcare",
];
const CITIES: &[&str] = &["Lisbon", "Austin", "Dublin", "Berlin", "Toronto", "Osaka"];
const STAGES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
];
/// Work item statuses.
pub const STATUSES: &[&str] = &["New", "In Progress", "Blocked", "Done"];
const PRIORITIES: &[&str] = &["High", "Medium", "Low"];
/// People who edit.
pub const PEOPLE: &[&str] = &[
    "Ana Ruiz",
    "Ben Okafor",
    "Chen Wei",
    "Dana Levi",
    "Eli Novak",
    "Fay Dubois",
];
const TASKS: &[&str] = &[
    "Fix login redirect",
    "Migrate invoices",
    "Add SSO",
    "Quarterly report",
    "Refactor pricing rules",
    "Customer portal search",
    "Data export API",
    "Email templates",
    "Mobile layout",
    "Audit trail",
];
/// Comment bodies.
pub const COMMENTS: &[&str] = &[
    "Reproduced on staging.",
    "Waiting on the customer's answer.",
    "Deployed to UAT.",
    "Needs a code review.",
    "Estimate revised after the call.",
    "Blocked by the data migration.",
];

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn pick<'a>(rng: &mut impl Rng, xs: &'a [&'a str]) -> &'a str {
    xs.choose(rng).copied().unwrap_or("")
}

/// A date within the next 90 days.
pub fn future_date(rng: &mut impl Rng) -> String {
    let d = chrono::Utc::now().date_naive() + chrono::Days::new(rng.random_range(1..90));
    d.format("%Y-%m-%d").to_string()
}

/// A new work item's fields.
pub fn work_item(rng: &mut impl Rng, n: usize, account: Option<&str>) -> Map<String, Value> {
    let mut m = obj(json!({
        "Name": format!("WI-{n:04} {}", pick(rng, TASKS)),
        "Status__c": pick(rng, STATUSES),
        "Priority__c": pick(rng, PRIORITIES),
        "Description__c": "Imported from the delivery backlog.",
        "Assignee__c": pick(rng, PEOPLE),
        "Estimate_Hours__c": rng.random_range(1..40) as f64,
        "Due_Date__c": future_date(rng),
    }));
    if let Some(a) = account {
        m.insert("Account__c".into(), json!(a));
    }
    m
}

/// A comment on `item`.
pub fn comment(rng: &mut impl Rng, item: &str) -> Map<String, Value> {
    obj(
        json!({"Work_Item__c": item, "Body__c": pick(rng, COMMENTS), "Author__c": pick(rng, PEOPLE)}),
    )
}

/// A work log on `item`.
pub fn work_log(rng: &mut impl Rng, n: usize, item: &str) -> Map<String, Value> {
    obj(json!({
        "Name": format!("Log {n}"), "Work_Item__c": item,
        "Hours__c": rng.random_range(1..16) as f64 / 2.0,
        "Log_Date__c": chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string(),
        "Description__c": "Development", "Resource__c": pick(rng, PEOPLE),
        "Approval_Status__c": "Pending",
    }))
}

/// Load the hub: 20 Accounts, 30 Opportunities, 80 work items, 120 comments, 100 work logs,
/// 30 dependencies (380 records). Returns how many.
pub fn load_hub(hub: &DemoOrg, rng: &mut impl Rng) -> anyhow::Result<usize> {
    let accounts: Vec<_> = COMPANIES
        .iter()
        .map(|c| {
            obj(
                json!({"Name": c, "Phone": format!("+1 555 01{:02}", rng.random_range(0..100)),
            "Industry": pick(rng, INDUSTRIES), "BillingCity": pick(rng, CITIES)}),
            )
        })
        .collect();
    let acc = hub.create("Account", accounts)?;
    let opps = (0..30)
        .map(|i| obj(json!({"Name": format!("{} renewal {}", COMPANIES[i % COMPANIES.len()], 2027 + i / 20),
            "StageName": pick(rng, STAGES), "CloseDate": future_date(rng),
            "Amount": rng.random_range(5..500) as f64 * 1000.0, "AccountId": acc[i % acc.len()]})))
        .collect();
    let opp = hub.create("Opportunity", opps)?;
    let items = (0..80)
        .map(|i| work_item(rng, i + 1, acc.get(i % acc.len()).map(String::as_str)))
        .collect();
    let wi = hub.create("Work_Item__c", items)?;
    let comments = (0..120).map(|i| comment(rng, &wi[i % wi.len()])).collect();
    let wc = hub.create("Work_Item_Comment__c", comments)?;
    let logs = (0..100)
        .map(|i| work_log(rng, i + 1, &wi[(i * 7) % wi.len()]))
        .collect();
    let wl = hub.create("Work_Log__c", logs)?;
    let deps = (0..30)
        .map(|i| {
            obj(
                json!({"Name": format!("DEP-{:03}", i + 1), "Blocked_Item__c": wi[i],
            "Blocking_Item__c": wi[i + 40], "Type__c": "Blocks"}),
            )
        })
        .collect();
    let wd = hub.create("Work_Item_Dependency__c", deps)?;
    // A few files attached to work items (the Work_Item__c sync has files = true).
    let files = (0..3)
        .map(|i| {
            use base64::Engine as _;
            let text = format!("Specification {} of {}.\n", i + 1, wi[i]);
            obj(json!({"Title": format!("spec-{}", i + 1), "PathOnClient": format!("spec-{}.txt", i + 1),
                "VersionData": base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
                "FirstPublishLocationId": wi[i]}))
        })
        .collect();
    let cv = hub.create("ContentVersion", files)?;
    Ok(acc.len() + opp.len() + wi.len() + wc.len() + wl.len() + wd.len() + cv.len())
}
