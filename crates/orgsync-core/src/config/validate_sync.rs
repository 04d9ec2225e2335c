//! Checks on `[[sync]]` tables: fields, constants, row criteria, timing, conflict and parent
//! policies, and the parents-before-children order of objects (cycles are config errors).

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use toml::Spanned;

use super::raw::{RawField, RawSync};
use super::validate::{Ctx, is_api_name, parse_duration};
use super::validate_parents::{build_parent, object_order};
use super::*;

/// The default external-id field for global ids.
pub const DEFAULT_GLOBAL_ID_FIELD: &str = "OrgSync_Global_Id__c";

pub(super) fn build_syncs(
    ctx: &mut Ctx<'_>,
    raw: Vec<Spanned<RawSync>>,
    orgs: &IndexMap<OrgName, OrgSettings>,
) -> (Vec<SyncSettings>, Vec<String>) {
    if raw.is_empty() {
        ctx.err(
            0..0,
            "no [[sync]] table: nothing would be synced",
            "add a [[sync]] table with object = \"Account\" and fields = [\"Name\"]",
        );
    }
    let mut out: Vec<SyncSettings> = Vec::new();
    let mut spans: Vec<(Range<usize>, Vec<Range<usize>>)> = Vec::new();
    let mut objects: HashMap<String, Range<usize>> = HashMap::new();
    for s in raw {
        let span = s.span();
        let s = s.into_inner();
        let object = s.object.get_ref().clone();
        if !is_api_name(&object) {
            ctx.err(
                s.object.span(),
                format!("`{object}` is not an sObject API name"),
                "use the API name, e.g. \"Opportunity\" or \"Work_Item__c\"",
            );
        }
        if let Some(first) = objects.get(&object.to_ascii_lowercase()) {
            let line = ctx.sources.locate(first.start).map_or(0, |l| l.line);
            ctx.err(
                s.object.span(),
                format!("object `{object}` has two [[sync]] tables (the first is at line {line})"),
                "merge them into one [[sync]] table",
            );
        }
        objects.insert(object.to_ascii_lowercase(), s.object.span());
        let parent_spans = s.parents.iter().map(Spanned::span).collect();
        if let Some(sync) = build_sync(ctx, s, orgs) {
            out.push(sync);
            spans.push((span, parent_spans));
        }
    }
    // parents with policy sync must name a synced object; fill in its target name
    let targets: HashMap<String, String> = out
        .iter()
        .map(|s| (s.object.to_ascii_lowercase(), s.target_object.clone()))
        .collect();
    for (sync, (_, pspans)) in out.iter_mut().zip(&spans) {
        for (p, pspan) in sync.parents.iter_mut().zip(pspans) {
            if let ParentPolicy::Sync {
                object,
                target_object,
            } = &mut p.policy
            {
                match targets.get(&object.to_ascii_lowercase()) {
                    Some(t) => *target_object = t.clone(),
                    None => ctx.err(pspan.clone(), format!("parent object `{object}` of {} has no [[sync]] table", p.field), format!("add a [[sync]] for {object}, or use policy = \"match_by_name\", \"fixed\" or \"none\"")),
                }
            }
        }
    }
    let order = object_order(ctx, &out, &spans);
    (out, order)
}

fn build_sync(
    ctx: &mut Ctx<'_>,
    s: RawSync,
    orgs: &IndexMap<OrgName, OrgSettings>,
) -> Option<SyncSettings> {
    let object = s.object.get_ref().clone();
    let target_object = match &s.target_object {
        Some(t) if !is_api_name(t.get_ref()) => {
            ctx.err(
                t.span(),
                format!("`{}` is not an sObject API name", t.get_ref()),
                "use the API name on the target side",
            );
            object.clone()
        }
        Some(t) => t.get_ref().clone(),
        None => object.clone(),
    };
    let global_id_field = match &s.global_id_field {
        None => DEFAULT_GLOBAL_ID_FIELD.to_string(),
        Some(g) => {
            if !(is_api_name(g.get_ref()) && g.get_ref().ends_with("__c")) {
                ctx.err(g.span(), format!("global_id_field `{}` is not a custom field name", g.get_ref()), "name a unique external-id text field ending in __c, e.g. \"OrgSync_Global_Id__c\"");
            }
            g.get_ref().clone()
        }
    };
    let fields = build_fields(ctx, &s.fields, &global_id_field);
    let constants = build_constants(ctx, s.constants, &fields);
    let where_clause = s.where_clause.as_ref().and_then(|w| check_where(ctx, w));
    let capture = match s.capture.as_ref().map(|c| c.get_ref().as_str()) {
        None | Some("poll") => Capture::Poll,
        Some("cdc") => Capture::Cdc,
        Some("outbound") => Capture::Outbound,
        Some(other) => {
            let span = s.capture.as_ref().map_or(0..0, Spanned::span);
            ctx.err(
                span,
                format!("unknown capture `{other}`"),
                "use \"poll\", \"cdc\" or \"outbound\"",
            );
            Capture::Poll
        }
    };
    let interval = super::validate_api::poll_interval(
        ctx,
        capture,
        s.interval.as_ref(),
        s.backup_interval.as_ref(),
    );
    let conflict = match s
        .conflict
        .as_ref()
        .map(|c| (c.get_ref().as_str(), c.span()))
    {
        None | Some(("last_writer_wins", _)) => ConflictPolicy::LastWriterWins,
        Some(("manual", _)) => ConflictPolicy::Manual,
        Some((c, span)) => match c.strip_prefix("source_wins:") {
            Some(org) if orgs.contains_key(&OrgName(org.to_string())) => {
                ConflictPolicy::SourceWins(OrgName(org.to_string()))
            }
            Some(org) => {
                ctx.err(
                    span,
                    format!("conflict policy names unknown org `{org}`"),
                    "write source_wins:<name> with a name from [orgs]",
                );
                ConflictPolicy::LastWriterWins
            }
            None => {
                ctx.err(
                    span,
                    format!("unknown conflict policy `{c}`"),
                    "use \"last_writer_wins\", \"source_wins:<org>\" or \"manual\"",
                );
                ConflictPolicy::LastWriterWins
            }
        },
    };
    let parents = s
        .parents
        .iter()
        .filter_map(|p| build_parent(ctx, p, &fields))
        .collect::<Vec<_>>();
    let mut seen = HashSet::new();
    for (p, raw) in parents.iter().zip(&s.parents) {
        if !seen.insert(p.field.to_ascii_lowercase()) {
            ctx.err(
                raw.span(),
                format!("lookup `{}` has two parent policies", p.field),
                "keep one entry per lookup field",
            );
        }
    }
    let start = s
        .start
        .as_ref()
        .map_or(Start::Everything, |st| parse_start(ctx, st));
    let files = s.files.as_ref().is_some_and(|f| *f.get_ref());
    if let Some(f) = s.files.as_ref().filter(|f| *f.get_ref()) {
        let file_object = |o: &str| {
            ["ContentVersion", "ContentDocument", "ContentDocumentLink"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(o))
        };
        if file_object(&object) || file_object(&target_object) {
            ctx.err(
                f.span(),
                format!("`files = true` on a sync of {object}: files belong to records"),
                "set files = true on the [[sync]] of the object the files are attached to",
            );
        }
    }
    Some(SyncSettings {
        object,
        target_object,
        fields,
        constants,
        where_clause,
        capture,
        interval,
        conflict,
        parents,
        start,
        global_id_field,
        enabled: s.enabled.unwrap_or(true),
        files,
        reconcile: s
            .reconcile
            .as_ref()
            .and_then(|r| super::validate::reconcile_every(ctx, r)),
    })
}

fn build_fields(
    ctx: &mut Ctx<'_>,
    raw: &Spanned<Vec<Spanned<RawField>>>,
    gid: &str,
) -> Vec<FieldMap> {
    if raw.get_ref().is_empty() {
        ctx.err(
            raw.span(),
            "`fields` is empty",
            "list the fields to sync, e.g. fields = [\"Name\", \"Amount\"]",
        );
    }
    let mut out = Vec::new();
    let (mut src_seen, mut tgt_seen) = (HashSet::new(), HashSet::new());
    for f in raw.get_ref() {
        let map = match f.get_ref() {
            RawField::Same(n) => FieldMap {
                source: n.clone(),
                target: n.clone(),
                direction: Direction::Both,
            },
            RawField::Mapped(m) => {
                let direction = match m.direction.as_deref() {
                    None | Some("both") => Direction::Both,
                    Some("to_target") => Direction::ToTarget,
                    Some("to_source") => Direction::ToSource,
                    Some(other) => {
                        ctx.err(
                            f.span(),
                            format!("unknown direction `{other}` for field {}", m.source),
                            "use \"both\", \"to_target\" or \"to_source\"",
                        );
                        Direction::Both
                    }
                };
                FieldMap {
                    source: m.source.clone(),
                    target: m.target.clone().unwrap_or_else(|| m.source.clone()),
                    direction,
                }
            }
        };
        for name in [&map.source, &map.target] {
            if !is_api_name(name) {
                ctx.err(
                    f.span(),
                    format!("`{name}` is not a field API name"),
                    "use the field's API name, e.g. \"Amount\" or \"Hours__c\"",
                );
            }
            if name.eq_ignore_ascii_case(gid) {
                ctx.err(
                    f.span(),
                    format!("`{name}` is the global-id field"),
                    "remove it from fields; orgsync sets the global-id field itself",
                );
            }
        }
        if !src_seen.insert(map.source.to_ascii_lowercase()) {
            ctx.err(
                f.span(),
                format!("source field `{}` is mapped twice", map.source),
                "map each field once",
            );
        } else if !tgt_seen.insert(map.target.to_ascii_lowercase()) {
            ctx.err(
                f.span(),
                format!("target field `{}` is mapped twice", map.target),
                "map each field once",
            );
        }
        out.push(map);
    }
    out
}

fn build_constants(
    ctx: &mut Ctx<'_>,
    raw: Option<IndexMap<Spanned<String>, Spanned<toml::Value>>>,
    fields: &[FieldMap],
) -> IndexMap<String, FieldValue> {
    let mut out = IndexMap::new();
    for (k, v) in raw.unwrap_or_default() {
        if !is_api_name(k.get_ref()) {
            ctx.err(
                k.span(),
                format!("`{}` is not a field API name", k.get_ref()),
                "use the target field's API name",
            );
        }
        if fields
            .iter()
            .any(|f| f.target.eq_ignore_ascii_case(k.get_ref()))
        {
            ctx.err(
                k.span(),
                format!("`{}` is both a synced field and a constant", k.get_ref()),
                "remove it from fields or from constants",
            );
        }
        let value = match v.get_ref() {
            toml::Value::String(s) => FieldValue::Text(s.clone()),
            toml::Value::Integer(i) => FieldValue::Int(*i),
            toml::Value::Float(f) => FieldValue::Number(f.to_string()),
            toml::Value::Boolean(b) => FieldValue::Bool(*b),
            toml::Value::Datetime(d) => match (d.date, d.time) {
                (Some(date), None) => chrono::NaiveDate::from_ymd_opt(
                    date.year.into(),
                    date.month.into(),
                    date.day.into(),
                )
                .map_or(FieldValue::Text(d.to_string()), FieldValue::Date),
                _ => FieldValue::parse_datetime(&d.to_string())
                    .unwrap_or(FieldValue::Text(d.to_string())),
            },
            _ => {
                ctx.err(
                    v.span(),
                    format!("constant `{}` is an array or table", k.get_ref()),
                    "use a string, number, boolean or date",
                );
                continue;
            }
        };
        out.insert(k.into_inner(), value);
    }
    out
}

/// Cheap checks that catch a whole query or two statements where a condition belongs. The
/// fragment is parsed for real by the soql crate when the capture query is built.
fn check_where(ctx: &mut Ctx<'_>, w: &Spanned<String>) -> Option<String> {
    let text = w.get_ref().trim();
    let lower = text.to_ascii_lowercase();
    let fix =
        "write only the condition, e.g. where = \"StageName != 'Closed Lost' AND Amount > 0\"";
    let problem = if text.is_empty() {
        Some("`where` is empty")
    } else if text.contains(';') {
        Some("`where` contains `;`")
    } else if lower.starts_with("select ")
        || lower.starts_with("where ")
        || [" order by ", " group by ", " limit ", " offset "]
            .iter()
            .any(|k| format!(" {lower} ").contains(k))
    {
        Some("`where` is a query or starts with WHERE, not a condition")
    } else if !unescaped_quotes(text).is_multiple_of(2) {
        Some("`where` has an unterminated string literal")
    } else if text.matches('(').count() != text.matches(')').count() {
        Some("`where` has unbalanced parentheses")
    } else {
        None
    };
    match problem {
        Some(p) => {
            ctx.err(w.span(), p, fix);
            None
        }
        None => Some(text.to_string()),
    }
}

fn unescaped_quotes(text: &str) -> usize {
    let (mut n, mut escaped) = (0, false);
    for c in text.chars() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '\'') => n += 1,
            _ => {}
        }
    }
    n
}

fn parse_start(ctx: &mut Ctx<'_>, st: &Spanned<String>) -> Start {
    let text = st.get_ref().trim();
    if text == "everything" {
        return Start::Everything;
    }
    if let Some(FieldValue::DateTime(t)) =
        FieldValue::parse_datetime(text).filter(|_| text.contains('T'))
    {
        return Start::At(t);
    }
    if let Some(d) = parse_duration(text).filter(|_| text.ends_with(['d', 'h', 'm'])) {
        return Start::Relative(d);
    }
    ctx.err(
        st.span(),
        format!("start `{text}` is not \"everything\", a datetime or an age"),
        "write \"everything\", a datetime like \"2018-08-25T11:00:00.000Z\", or an age like \"7d\"",
    );
    Start::At(DateTime::<Utc>::UNIX_EPOCH)
}
