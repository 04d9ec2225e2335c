//! The TOML format of schema files (the embedded default schema uses it too).
//!
//! ```toml
//! [[object]]
//! name = "Invoice__c"          # new custom object, or an existing object to extend
//! label = "Invoice"
//! [[object.field]]
//! name = "Amount__c"
//! type = "currency"            # SOAP type names; aliases text, longtext, number, checkbox, lookup
//! precision = 18
//! scale = 2
//! required = true
//! ```

use serde::Deserialize;

/// A whole schema file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SchemaFile {
    #[serde(default, rename = "object")]
    pub objects: Vec<ObjectSpec>,
}

/// One `[[object]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ObjectSpec {
    pub name: String,
    pub label: Option<String>,
    pub label_plural: Option<String>,
    pub key_prefix: Option<String>,
    /// Whether the object has OwnerId (default: true for custom objects).
    pub owner: Option<bool>,
    pub createable: Option<bool>,
    pub updateable: Option<bool>,
    pub deletable: Option<bool>,
    #[serde(default, rename = "field")]
    pub fields: Vec<FieldSpec>,
}

/// One `[[object.field]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldSpec {
    pub name: String,
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub ftype: String,
    pub length: Option<u32>,
    pub precision: Option<u32>,
    pub scale: Option<u32>,
    pub digits: Option<u32>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub id_lookup: bool,
    #[serde(default)]
    pub case_sensitive: bool,
    #[serde(default)]
    pub reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    pub child_relationship: Option<String>,
    #[serde(default)]
    pub cascade_delete: bool,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub restricted: bool,
    pub default: Option<toml::Value>,
    pub createable: Option<bool>,
    pub updateable: Option<bool>,
    #[serde(default)]
    pub name_field: bool,
    pub auto_number: Option<String>,
    #[serde(default)]
    pub compound: Vec<String>,
}

impl FieldSpec {
    /// The standard `Name` field (text 80) of a custom object that does not declare one.
    pub(crate) fn text_name(label: &str) -> FieldSpec {
        FieldSpec {
            name: "Name".into(),
            label: Some(label.into()),
            ftype: "string".into(),
            length: Some(80),
            precision: None,
            scale: None,
            digits: None,
            required: false,
            unique: false,
            external_id: false,
            id_lookup: false,
            case_sensitive: false,
            reference_to: Vec::new(),
            relationship_name: None,
            child_relationship: None,
            cascade_delete: false,
            values: Vec::new(),
            restricted: false,
            default: None,
            createable: None,
            updateable: None,
            name_field: true,
            auto_number: None,
            compound: Vec::new(),
        }
    }
}
