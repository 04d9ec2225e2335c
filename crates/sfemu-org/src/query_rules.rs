//! Salesforce's implementation restrictions on what a query may ask, checked before planning.
//!
//! ContentDocumentLink: a query must filter on `Id`, `ContentDocumentId` or `LinkedEntityId`
//! with `=` or `IN` (wire facts §3, §12). Salesforce waives this for users with "Query All
//! Files" (v59+); sfemu has no such permission, so the rule always applies. Which conditions
//! count is UNCONFIRMED beyond "a filter by a single Id … using the equals operator or multiple
//! Id's using the IN operator": sfemu accepts such a filter as one of the WHERE's top-level AND
//! terms (under an OR it could be bypassed, so it does not count there).

use crate::SfError;
use soql::ast::{CmpOp, Cond, Operand, Query};

const CDL_MESSAGE: &str = "Implementation restriction: ContentDocumentLink requires a filter by a single Id on ContentDocumentId or LinkedEntityId using the equals operator or multiple Id's using the IN operator.";

/// `MALFORMED_QUERY` when `text` breaks a restriction; parse errors are left to the planner.
pub(crate) fn check(text: &str) -> Result<(), SfError> {
    let Ok(q) = soql::parse(text) else {
        return Ok(());
    };
    check_query(&q)
}

fn check_query(q: &Query) -> Result<(), SfError> {
    if q.from.name.eq_ignore_ascii_case("ContentDocumentLink") && !has_id_filter(q) {
        return Err(SfError::new("MALFORMED_QUERY", CDL_MESSAGE));
    }
    Ok(())
}

fn has_id_filter(q: &Query) -> bool {
    let alias = q.alias.as_ref().map(|a| a.name.as_str());
    let terms: Vec<&Cond> = match &q.where_ {
        None => return false,
        Some(Cond::And(cs)) => cs.iter().collect(),
        Some(c) => vec![c],
    };
    terms.iter().any(|c| match c {
        Cond::Cmp {
            lhs: Operand::Field(p),
            op: CmpOp::Eq | CmpOp::In,
            rhs,
            ..
        } => {
            let names: Vec<&str> = p.parts.iter().map(|i| i.name.as_str()).collect();
            let field = match (names.as_slice(), alias) {
                ([a, f], Some(al)) if a.eq_ignore_ascii_case(al) => *f,
                ([a, f], _) if a.eq_ignore_ascii_case("ContentDocumentLink") => *f,
                ([f], _) => *f,
                _ => return false,
            };
            !rhs.is_empty()
                && ["Id", "ContentDocumentId", "LinkedEntityId"]
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(field))
        }
        Cond::SemiJoin {
            lhs,
            negated: false,
            ..
        } => lhs.parts.last().is_some_and(|i| {
            ["Id", "ContentDocumentId", "LinkedEntityId"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&i.name))
        }),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn content_document_link_needs_an_id_filter() {
        let ok = [
            "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '001000000000001AAA'",
            "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId IN ('001000000000001AAA') AND ShareType = 'V'",
            "SELECT Id FROM ContentDocumentLink l WHERE l.ContentDocumentId IN ('069000000000001AAA')",
            "SELECT Id FROM Account",
        ];
        for q in ok {
            assert!(check(q).is_ok(), "{q}");
        }
        let refused = [
            "SELECT Id FROM ContentDocumentLink",
            "SELECT Id FROM ContentDocumentLink WHERE ShareType = 'V'",
            "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '001000000000001AAA' OR ShareType = 'V'",
            "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId != '001000000000001AAA'",
        ];
        for q in refused {
            let e = check(q).expect_err(q);
            assert_eq!(e.code, "MALFORMED_QUERY");
        }
    }
}
