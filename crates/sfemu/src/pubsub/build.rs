//! Turning change-log entries into events: merging one transaction's identical changes,
//! injected GAP_* events, and GAP_OVERFLOW once a transaction exceeds its change budget.

use super::bus::{EventBus, Store};
use super::encode::Header;
use super::schema::EntitySchema;
use sfemu_org::ChangeRecord;

impl EventBus {
    pub(super) fn build(&self, st: &mut Store, batch: &[ChangeRecord]) {
        let limit = self.settings().overflow_threshold;
        let mut i = 0;
        while i < batch.len() {
            let c = &batch[i];
            let Some(schema) = self.catalog.by_entity(&c.entity).cloned() else {
                i += 1;
                continue;
            };
            if !admit(st, c, limit) {
                if !st.txn.2.contains(&schema.entity) {
                    st.txn.2.push(schema.entity.clone());
                    let mut h = header(&schema, c, &[]);
                    h.change_type = "GAP_OVERFLOW".into();
                    h.changed.clear();
                    h.nulled.clear();
                    self.push(st, c.seq << 8, &schema, &h, &Default::default());
                }
                i += 1;
                continue;
            }
            if st.gaps > 0 {
                st.gaps -= 1;
                let mut h = header(&schema, c, std::slice::from_ref(c));
                h.change_type = format!("GAP_{}", c.change_type);
                h.changed.clear();
                h.nulled.clear();
                self.push(st, c.seq << 8, &schema, &h, &Default::default());
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < batch.len() && same_change(c, &batch[j]) && admit(st, &batch[j], limit) {
                j += 1;
            }
            let group = &batch[i..j];
            let h = header(&schema, c, group);
            let values = match c.change_type.as_str() {
                "DELETE" => Default::default(),
                "UNDELETE" => self.current_values(c),
                _ => c.values.clone(),
            };
            self.push(st, c.seq << 8, &schema, &h, &values);
            i = j;
        }
    }

    /// An undeleted record's non-null fields (the change log records no values for undeletes).
    fn current_values(&self, c: &ChangeRecord) -> serde_json::Map<String, serde_json::Value> {
        let admin = self.org().default_user().id.clone();
        match self
            .org()
            .retrieve(&admin, &c.entity, &c.record_id, None, "66.0")
        {
            Ok(serde_json::Value::Object(m)) => m
                .into_iter()
                .filter(|(k, v)| !v.is_null() && k != "attributes")
                .collect(),
            _ => Default::default(),
        }
    }
}

/// Counts `c` against its transaction's overflow budget; false once the budget is spent (an
/// entry refused once stays refused: the count only grows).
fn admit(st: &mut Store, c: &ChangeRecord, limit: u64) -> bool {
    if st.txn.0 != c.transaction_key {
        st.txn = (c.transaction_key.clone(), 0, Vec::new());
    }
    let cost = match c.change_type.as_str() {
        "UPDATE" => c.changed_fields.len().max(1) as u64,
        _ => 1,
    };
    st.txn.1 += cost;
    st.txn.1 <= limit
}

/// Entries merge into one event when they are the same change to records of one object in
/// one transaction.
fn same_change(a: &ChangeRecord, b: &ChangeRecord) -> bool {
    let strip = |c: &ChangeRecord| {
        let mut v = c.values.clone();
        v.remove("Id");
        v
    };
    a.transaction_key == b.transaction_key
        && a.entity == b.entity
        && a.change_type == b.change_type
        && a.changed_fields == b.changed_fields
        && a.nulled_fields == b.nulled_fields
        && strip(a) == strip(b)
}

fn header(schema: &EntitySchema, c: &ChangeRecord, group: &[ChangeRecord]) -> Header {
    let idx = |names: &[String]| -> Vec<usize> {
        names.iter().filter_map(|n| schema.index_of(n)).collect()
    };
    Header {
        entity: schema.entity.clone(),
        record_ids: group.iter().map(|g| g.record_id.clone()).collect(),
        change_type: c.change_type.clone(),
        change_origin: c.change_origin.clone(),
        transaction_key: c.transaction_key.clone(),
        sequence_number: i32::try_from(c.sequence_number).unwrap_or(i32::MAX),
        commit_timestamp: c.commit_timestamp.timestamp_millis(),
        commit_number: i64::try_from(c.commit_number).unwrap_or(i64::MAX),
        commit_user: c.commit_user.clone(),
        changed: idx(&c.changed_fields),
        nulled: idx(&c.nulled_fields),
    }
}
