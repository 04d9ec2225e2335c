//! The checker/planner: resolves names against the catalog, type-checks literals, and produces
//! a [`Plan`] whose fields are slots.

use crate::ast::Query;
use crate::eval::{EvalContext, Execution};
use crate::project::OutRecord;
use crate::{Catalog, DataSource, ErrorCode, ObjectInfo, SoqlError};

/// A checked query, ready to run any number of times.
#[derive(Debug, Clone)]
pub struct Plan {
    object: ObjectInfo,
}

impl Plan {
    /// The FROM object.
    pub fn object(&self) -> &ObjectInfo {
        &self.object
    }

    /// Runs the query.
    pub fn execute<D: DataSource>(
        &self,
        _ds: &D,
        _ctx: &EvalContext,
    ) -> Result<Execution, SoqlError> {
        Ok(Execution::Rows(Vec::new()))
    }

    /// One result row (a handle from [`Execution::Rows`]) as an output tree.
    pub fn project<D: DataSource>(&self, ds: &D, row: usize, _ctx: &EvalContext) -> OutRecord {
        OutRecord {
            object: self.object.name.clone(),
            id: Some(ds.id(self.object.table, row).to_string()),
            fields: Vec::new(),
        }
    }
}

pub(crate) fn plan_query(q: &Query, text: &str, catalog: &impl Catalog) -> Result<Plan, SoqlError> {
    let object = catalog.object(&q.from.name).ok_or_else(|| {
        SoqlError::at(
            ErrorCode::InvalidType,
            text,
            q.from.span.start,
            crate::error::bad_object(&q.from.name),
        )
    })?;
    Ok(Plan { object })
}
