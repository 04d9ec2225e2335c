//! The org's schema: objects, fields and relationships, built once from the embedded default
//! schema plus the spec's schema files, then shared read-only (`Arc<Schema>`).

mod build;
mod fields;
mod file;

pub use build::build_schema;

use soql::{FieldKind, Value};
use std::collections::HashMap;

/// Field types, named as the SOAP `FieldType` enum (the `type` key of a describe field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Id,
    String,
    TextArea,
    Boolean,
    Int,
    Double,
    Currency,
    Percent,
    Date,
    DateTime,
    Time,
    Picklist,
    MultiPicklist,
    Reference,
    Email,
    Phone,
    Url,
    Base64,
}

impl FieldType {
    /// Parses a type name of a schema file (SOAP names plus a few friendly aliases).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "id" => Self::Id,
            "string" | "text" => Self::String,
            "textarea" | "longtext" | "longtextarea" => Self::TextArea,
            "boolean" | "checkbox" => Self::Boolean,
            "int" | "integer" => Self::Int,
            "double" | "number" => Self::Double,
            "currency" => Self::Currency,
            "percent" => Self::Percent,
            "date" => Self::Date,
            "datetime" => Self::DateTime,
            "time" => Self::Time,
            "picklist" => Self::Picklist,
            "multipicklist" => Self::MultiPicklist,
            "reference" | "lookup" => Self::Reference,
            "email" => Self::Email,
            "phone" => Self::Phone,
            "url" => Self::Url,
            "base64" => Self::Base64,
            _ => return None,
        })
    }

    /// The describe `type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::String => "string",
            Self::TextArea => "textarea",
            Self::Boolean => "boolean",
            Self::Int => "int",
            Self::Double => "double",
            Self::Currency => "currency",
            Self::Percent => "percent",
            Self::Date => "date",
            Self::DateTime => "datetime",
            Self::Time => "time",
            Self::Picklist => "picklist",
            Self::MultiPicklist => "multipicklist",
            Self::Reference => "reference",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Url => "url",
            Self::Base64 => "base64",
        }
    }

    /// The describe `soapType` value.
    pub fn soap_type(self) -> &'static str {
        match self {
            Self::Id | Self::Reference => "tns:ID",
            Self::Boolean => "xsd:boolean",
            Self::Int => "xsd:int",
            Self::Double | Self::Currency | Self::Percent => "xsd:double",
            Self::Date => "xsd:date",
            Self::DateTime => "xsd:dateTime",
            Self::Time => "xsd:time",
            Self::Base64 => "xsd:base64Binary",
            _ => "xsd:string",
        }
    }

    /// True for the text-like types whose `length` limits the value.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Self::String
                | Self::TextArea
                | Self::Picklist
                | Self::MultiPicklist
                | Self::Email
                | Self::Phone
                | Self::Url
        )
    }

    /// True for number types with precision/scale.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Self::Int | Self::Double | Self::Currency | Self::Percent
        )
    }
}

/// One picklist entry.
#[derive(Debug, Clone)]
pub struct PicklistValue {
    pub value: String,
    pub label: String,
    pub default: bool,
}

/// One field of an object. Its index in [`ObjectDef::fields`] is its storage slot.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub label: String,
    pub ftype: FieldType,
    /// Characters for text types, 0 otherwise.
    pub length: u32,
    pub precision: u32,
    pub scale: u32,
    /// Digits of an int field.
    pub digits: u32,
    /// False for required fields (and for booleans, which are never null).
    pub nillable: bool,
    /// Whether a create must supply a value (nillable=false, createable, no default).
    pub required: bool,
    pub unique: bool,
    pub external_id: bool,
    pub id_lookup: bool,
    pub case_sensitive: bool,
    pub reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    /// Name of the child relationship this reference creates on its parent.
    pub child_relationship: Option<String>,
    pub cascade_delete: bool,
    pub picklist: Vec<PicklistValue>,
    pub restricted: bool,
    /// Value applied on create when the field is not given.
    pub default: Option<Value>,
    pub createable: bool,
    pub updateable: bool,
    pub name_field: bool,
    /// Display format of an auto-number field (`WIC-{000000}`).
    pub auto_number: Option<String>,
    /// Set by the org (Contact.Name from FirstName + LastName): the source field names.
    pub compound: Vec<String>,
    pub custom: bool,
    /// Maintained by the org (Id, IsDeleted, audit fields).
    pub system: bool,
}

impl FieldDef {
    /// The SOQL kind of this field.
    pub fn kind(&self) -> FieldKind {
        match self.ftype {
            FieldType::Id => FieldKind::Id,
            FieldType::Reference => FieldKind::Reference,
            FieldType::String => FieldKind::String,
            FieldType::TextArea if self.length > 255 => FieldKind::LongTextArea,
            FieldType::TextArea => FieldKind::TextArea,
            FieldType::Picklist => FieldKind::Picklist,
            FieldType::MultiPicklist => FieldKind::MultiPicklist,
            FieldType::Email => FieldKind::Email,
            FieldType::Phone => FieldKind::Phone,
            FieldType::Url => FieldKind::Url,
            FieldType::Base64 => FieldKind::Base64,
            FieldType::Boolean => FieldKind::Boolean,
            FieldType::Int => FieldKind::Int,
            FieldType::Double => FieldKind::Double,
            FieldType::Currency => FieldKind::Currency,
            FieldType::Percent => FieldKind::Percent,
            FieldType::Date => FieldKind::Date,
            FieldType::DateTime => FieldKind::DateTime,
            FieldType::Time => FieldKind::Time,
        }
    }

    /// Long text (textarea longer than 255): not filterable, sortable or groupable.
    pub fn is_long_text(&self) -> bool {
        (self.ftype == FieldType::TextArea && self.length > 255) || self.ftype == FieldType::Base64
    }

    /// Calculated by the org (compound names); such fields are read-only.
    pub fn calculated(&self) -> bool {
        !self.compound.is_empty()
    }

    /// Whether the store keeps a value index for this field (unique / external id).
    pub fn indexed(&self) -> bool {
        self.unique || self.external_id
    }
}

/// A parent-to-child relationship derived from a reference field of another object.
#[derive(Debug, Clone)]
pub struct ChildRelDef {
    pub name: String,
    pub child_table: usize,
    pub slot: usize,
    pub cascade_delete: bool,
}

/// Slots of the system fields every object has.
#[derive(Debug, Clone, Copy)]
pub struct SysSlots {
    pub owner: Option<usize>,
    pub created_date: usize,
    pub created_by: usize,
    pub last_modified_date: usize,
    pub last_modified_by: usize,
    pub system_modstamp: usize,
}

/// The Id slot of every object.
pub const ID_SLOT: usize = 0;
/// The IsDeleted slot of every object.
pub const IS_DELETED_SLOT: usize = 1;

/// Object-level describe flags.
#[derive(Debug, Clone, Copy)]
pub struct ObjFlags {
    pub createable: bool,
    pub updateable: bool,
    pub deletable: bool,
}

/// One sObject type.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub name: String,
    pub label: String,
    pub label_plural: String,
    pub key_prefix: String,
    pub custom: bool,
    pub flags: ObjFlags,
    pub fields: Vec<FieldDef>,
    pub sys: SysSlots,
    pub children: Vec<ChildRelDef>,
    by_lower: HashMap<String, usize>,
    rel_by_lower: HashMap<String, usize>,
    child_by_lower: HashMap<String, usize>,
}

impl ObjectDef {
    /// The slot of a field, case-insensitively.
    pub fn slot(&self, name: &str) -> Option<usize> {
        self.by_lower.get(&name.to_ascii_lowercase()).copied()
    }

    /// The slot of the reference field behind a relationship name (`Account`, `Parent__r`).
    pub fn rel_slot(&self, rel: &str) -> Option<usize> {
        self.rel_by_lower.get(&rel.to_ascii_lowercase()).copied()
    }

    /// A child relationship by name.
    pub fn child(&self, rel: &str) -> Option<&ChildRelDef> {
        self.child_by_lower
            .get(&rel.to_ascii_lowercase())
            .map(|&i| &self.children[i])
    }

    /// The name field's slot (`Name`, `Title`…), if any.
    pub fn name_slot(&self) -> Option<usize> {
        self.fields.iter().position(|f| f.name_field)
    }

    fn reindex(&mut self) {
        self.by_lower = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.to_ascii_lowercase(), i))
            .collect();
        self.rel_by_lower = self
            .fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                f.relationship_name
                    .as_ref()
                    .map(|r| (r.to_ascii_lowercase(), i))
            })
            .collect();
        self.child_by_lower = self
            .children
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.to_ascii_lowercase(), i))
            .collect();
    }
}

/// Every object of an org.
#[derive(Debug, Clone)]
pub struct Schema {
    pub objects: Vec<ObjectDef>,
    by_lower: HashMap<String, usize>,
    by_prefix: HashMap<String, usize>,
}

impl Schema {
    /// The table index of an object, case-insensitively.
    pub fn table(&self, name: &str) -> Option<usize> {
        self.by_lower.get(&name.to_ascii_lowercase()).copied()
    }

    /// The table index owning a key prefix (`001` → Account).
    pub fn table_for_prefix(&self, prefix: &str) -> Option<usize> {
        self.by_prefix.get(prefix).copied()
    }

    /// The table index an id belongs to (by key prefix).
    pub fn table_for_id(&self, id: &str) -> Option<usize> {
        crate::ids::key_prefix(id).and_then(|p| self.table_for_prefix(p))
    }

    /// The object at a table index.
    pub fn obj(&self, table: usize) -> &ObjectDef {
        &self.objects[table]
    }
}
