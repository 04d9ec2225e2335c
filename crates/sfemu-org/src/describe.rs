//! describeGlobal, the basic `objectDescribe` and the full describe, as Salesforce's JSON.
//! Fields hidden from the user's profile are omitted.

use crate::org::Org;
use crate::records::url_version;
use crate::schema::{FieldDef, FieldType, ObjectDef};
use crate::{SfError, render};
use serde_json::{Map, Value as Json, json};

fn urls(obj: &ObjectDef, version: &str) -> Map<String, Json> {
    let base = format!(
        "/services/data/{}/sobjects/{}",
        url_version(version),
        obj.name
    );
    let mut m = Map::new();
    m.insert("sobject".into(), Json::String(base.clone()));
    m.insert("describe".into(), Json::String(format!("{base}/describe")));
    m.insert("rowTemplate".into(), Json::String(format!("{base}/{{ID}}")));
    m
}

/// The describeGlobal entry / `objectDescribe` of an object.
fn basic(obj: &ObjectDef, version: &str) -> Map<String, Json> {
    let f = obj.flags;
    let v = json!({
        "activateable": false,
        "associateEntityType": null,
        "associateParentEntity": null,
        "createable": f.createable,
        "custom": obj.custom,
        "customSetting": false,
        "deepCloneable": false,
        "deletable": f.deletable,
        "deprecatedAndHidden": false,
        "feedEnabled": false,
        "hasSubtypes": false,
        "isInterface": false,
        "isSubtype": false,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "layoutable": true,
        "mergeable": matches!(obj.name.as_str(), "Account" | "Contact" | "Lead"),
        "mruEnabled": true,
        "name": obj.name,
        "queryable": true,
        "replicateable": true,
        "retrieveable": true,
        "searchable": true,
        "triggerable": true,
        "undeletable": f.deletable,
        "updateable": f.updateable,
        "urls": urls(obj, version),
    });
    match v {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

fn field_json(f: &FieldDef) -> Json {
    let text = f.ftype.is_text() || matches!(f.ftype, FieldType::Id | FieldType::Reference);
    let length = if text { f.length } else { 0 };
    let long = f.is_long_text();
    let numeric = f.ftype.is_numeric();
    let picklist: Vec<Json> = f
        .picklist
        .iter()
        .map(|p| json!({"active": true, "defaultValue": p.default, "label": p.label, "validFor": null, "value": p.value}))
        .collect();
    let default_value = match (&f.default, f.ftype) {
        (Some(d), FieldType::Boolean) => render::value(d),
        (Some(d), t) if !matches!(t, FieldType::Picklist | FieldType::MultiPicklist) => {
            render::value(d)
        }
        _ => Json::Null,
    };
    let extra_type = match f.ftype {
        FieldType::TextArea if f.length > 255 => json!("plaintextarea"),
        _ => Json::Null,
    };
    json!({
        "aggregatable": !long && f.ftype != FieldType::MultiPicklist,
        "aiPredictionField": false,
        "autoNumber": f.auto_number.is_some(),
        "byteLength": if matches!(f.ftype, FieldType::Id | FieldType::Reference) { length } else { length * 3 },
        "calculated": f.calculated(),
        "calculatedFormula": null,
        "cascadeDelete": false,
        "caseSensitive": f.case_sensitive,
        "compoundFieldName": null,
        "controllerName": null,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": default_value,
        "defaultValueFormula": null,
        "defaultedOnCreate": f.default.is_some() || f.system || f.auto_number.is_some() || f.ftype == FieldType::Boolean,
        "dependentPicklist": false,
        "deprecatedAndHidden": false,
        "digits": f.digits,
        "displayLocationInDecimal": false,
        "encrypted": false,
        "externalId": f.external_id,
        "extraTypeInfo": extra_type,
        "filterable": !long,
        "filteredLookupInfo": null,
        "formulaTreatNullNumberAsZero": false,
        "groupable": !long && !matches!(f.ftype, FieldType::Double | FieldType::Currency | FieldType::Percent | FieldType::DateTime | FieldType::MultiPicklist),
        "highScaleNumber": false,
        "htmlFormatted": false,
        "idLookup": f.id_lookup,
        "inlineHelpText": null,
        "label": f.label,
        "length": length,
        "mask": null,
        "maskType": null,
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": f.ftype == FieldType::Reference && f.reference_to.len() > 1,
        "nillable": f.nillable,
        "permissionable": f.nillable && !f.system,
        "picklistValues": picklist,
        "polymorphicForeignKey": f.reference_to.len() > 1,
        "precision": if numeric && f.ftype != FieldType::Int { f.precision } else { 0 },
        "queryByDistance": false,
        "referenceTargetField": null,
        "referenceTo": f.reference_to,
        "relationshipName": f.relationship_name,
        "relationshipOrder": null,
        "restrictedDelete": false,
        "restrictedPicklist": f.restricted,
        "scale": f.scale,
        "searchPrefilterable": false,
        "soapType": f.ftype.soap_type(),
        "sortable": !long && f.ftype != FieldType::MultiPicklist,
        "type": f.ftype.as_str(),
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": false,
    })
}

impl Org {
    pub(crate) fn global(&self, _user: &str, version: &str) -> Json {
        let sobjects: Vec<Json> = self
            .schema
            .objects
            .iter()
            .map(|o| Json::Object(basic(o, version)))
            .collect();
        json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})
    }

    pub(crate) fn basic_describe(&self, object: &str, version: &str) -> Result<Json, SfError> {
        let t = self
            .schema
            .table(object)
            .ok_or_else(|| SfError::new("NOT_FOUND", "The requested resource does not exist"))?;
        Ok(Json::Object(basic(self.schema.obj(t), version)))
    }

    pub(crate) fn full_describe(
        &self,
        user: &str,
        object: &str,
        version: &str,
    ) -> Result<Json, SfError> {
        let t = self
            .schema
            .table(object)
            .ok_or_else(|| SfError::new("NOT_FOUND", "The requested resource does not exist"))?;
        let obj = self.schema.obj(t);
        let hidden = self.hidden_for(user);
        let mut m = basic(obj, version);
        let fields: Vec<Json> = obj
            .fields
            .iter()
            .enumerate()
            .filter(|(s, _)| !hidden.contains(&(t, *s)))
            .map(|(_, f)| field_json(f))
            .collect();
        let children: Vec<Json> = obj
            .children
            .iter()
            .filter(|c| !hidden.contains(&(c.child_table, c.slot)))
            .map(|c| {
                let child = self.schema.obj(c.child_table);
                json!({
                    "cascadeDelete": c.cascade_delete,
                    "childSObject": child.name,
                    "deprecatedAndHidden": false,
                    "field": child.fields[c.slot].name,
                    "junctionIdListNames": [],
                    "junctionReferenceTo": [],
                    "relationshipName": c.name,
                    "restrictedDelete": false,
                })
            })
            .collect();
        let base = format!(
            "/services/data/{}/sobjects/{}",
            url_version(version),
            obj.name
        );
        let rt = json!([{
            "active": true,
            "available": true,
            "defaultRecordTypeMapping": true,
            "developerName": "Master",
            "master": true,
            "name": "Master",
            "recordTypeId": "012000000000000AAA",
            "urls": {"layout": format!("{base}/describe/layouts/012000000000000AAA")},
        }]);
        m.insert("actionOverrides".into(), json!([]));
        m.insert("childRelationships".into(), Json::Array(children));
        m.insert("compactLayoutable".into(), json!(true));
        m.insert("fields".into(), Json::Array(fields));
        m.insert("listviewable".into(), Json::Null);
        m.insert("lookupLayoutable".into(), Json::Null);
        m.insert("namedLayoutInfos".into(), json!([]));
        m.insert("networkScopeFieldName".into(), Json::Null);
        m.insert("recordTypeInfos".into(), rt);
        m.insert("searchLayoutable".into(), json!(true));
        m.insert("sobjectDescribeOption".into(), json!("FULL"));
        m.insert(
            "supportedScopes".into(),
            json!([{"label": "All records", "name": "everything"}]),
        );
        if let Some(Json::Object(u)) = m.get_mut("urls") {
            for (k, suffix) in [
                ("compactLayouts", "/describe/compactLayouts"),
                ("layouts", "/describe/layouts"),
                ("listviews", "/listviews"),
                ("quickActions", "/quickActions"),
                ("uiDetailTemplate", ""),
            ] {
                if !suffix.is_empty() {
                    u.insert(k.into(), Json::String(format!("{base}{suffix}")));
                }
            }
        }
        Ok(Json::Object(m))
    }
}
