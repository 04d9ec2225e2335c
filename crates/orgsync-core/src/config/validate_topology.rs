//! Checks on `[topology]`: a known kind, the keys that kind takes, known and distinct org
//! names, the right number of orgs, and every configured org taking part.

use std::collections::HashSet;
use std::ops::Range;

use indexmap::IndexMap;
use toml::Spanned;

use super::raw::RawTopology;
use super::validate::Ctx;
use super::*;

fn org_list(
    ctx: &mut Ctx<'_>,
    list: &Spanned<Vec<Spanned<String>>>,
    orgs: &IndexMap<OrgName, OrgSettings>,
    seen: &mut HashSet<String>,
) -> Vec<OrgName> {
    let mut out = Vec::new();
    for n in list.get_ref() {
        if !orgs.contains_key(&OrgName(n.get_ref().clone())) {
            let known: Vec<&str> = orgs.keys().map(OrgName::as_str).collect();
            ctx.err(
                n.span(),
                format!("unknown org `{}` in [topology]", n.get_ref()),
                format!("use one of the [orgs.<name>] tables: {}", known.join(", ")),
            );
        } else if !seen.insert(n.get_ref().clone()) {
            ctx.err(
                n.span(),
                format!("org `{}` appears twice in [topology]", n.get_ref()),
                "list each org once",
            );
        }
        out.push(OrgName(n.get_ref().clone()));
    }
    out
}

pub(super) fn build_topology(
    ctx: &mut Ctx<'_>,
    raw: Spanned<RawTopology>,
    orgs: &IndexMap<OrgName, OrgSettings>,
) -> Option<Topology> {
    let span = raw.span();
    let t = raw.into_inner();
    let mut seen = HashSet::new();
    let kind = t.kind.get_ref().as_str();
    let misplaced = |ctx: &mut Ctx<'_>, key: &str, s: Range<usize>, fix: &str| {
        ctx.err(
            s,
            format!("`{key}` does not apply to topology kind \"{kind}\""),
            fix,
        );
    };
    let topology = match kind {
        "peer" | "chain" => {
            if let Some(h) = &t.hub {
                misplaced(
                    ctx,
                    "hub",
                    h.span(),
                    "remove it; hub and spokes are for kind = \"hub_and_spoke\"",
                );
            }
            if let Some(s) = &t.spokes {
                misplaced(
                    ctx,
                    "spokes",
                    s.span(),
                    "remove it; hub and spokes are for kind = \"hub_and_spoke\"",
                );
            }
            let Some(list) = &t.orgs else {
                ctx.err(
                    span,
                    format!("topology kind \"{kind}\" needs `orgs`"),
                    "add orgs = [\"a\", \"b\"]",
                );
                return None;
            };
            let names = org_list(ctx, list, orgs, &mut seen);
            if kind == "peer" {
                if let Some(b) = &t.bidirectional {
                    misplaced(
                        ctx,
                        "bidirectional",
                        b.span(),
                        "remove it; a peer pair always syncs both ways",
                    );
                }
                if names.len() != 2 {
                    ctx.err(
                        list.span(),
                        format!("a peer topology has exactly 2 orgs, found {}", names.len()),
                        "list two orgs, or use kind = \"hub_and_spoke\" or \"chain\" for more",
                    );
                    return None;
                }
                Topology::Peer {
                    a: names[0].clone(),
                    b: names[1].clone(),
                }
            } else {
                if names.len() < 2 {
                    ctx.err(
                        list.span(),
                        "a chain needs at least 2 orgs",
                        "list the orgs in order, e.g. orgs = [\"a\", \"b\", \"c\"]",
                    );
                    return None;
                }
                let bidirectional = t.bidirectional.as_ref().is_none_or(|b| *b.get_ref());
                Topology::Chain {
                    orgs: names,
                    bidirectional,
                }
            }
        }
        "hub_and_spoke" => {
            if let Some(o) = &t.orgs {
                misplaced(
                    ctx,
                    "orgs",
                    o.span(),
                    "use hub = \"name\" and spokes = [\"a\", \"b\"] instead",
                );
            }
            if let Some(b) = &t.bidirectional {
                misplaced(
                    ctx,
                    "bidirectional",
                    b.span(),
                    "remove it; hub and spokes always sync both ways",
                );
            }
            let (Some(hub), Some(spokes)) = (&t.hub, &t.spokes) else {
                ctx.err(
                    span,
                    "topology kind \"hub_and_spoke\" needs `hub` and `spokes`",
                    "add hub = \"hq\" and spokes = [\"vendor1\", \"vendor2\"]",
                );
                return None;
            };
            let hub_list = Spanned::new(hub.span(), vec![hub.clone()]);
            let hub_name = org_list(ctx, &hub_list, orgs, &mut seen).remove(0);
            let spoke_names = org_list(ctx, spokes, orgs, &mut seen);
            if spoke_names.is_empty() {
                ctx.err(
                    spokes.span(),
                    "hub_and_spoke needs at least one spoke",
                    "list the spoke orgs",
                );
                return None;
            }
            Topology::HubAndSpoke {
                hub: hub_name,
                spokes: spoke_names,
            }
        }
        other => {
            ctx.err(
                t.kind.span(),
                format!("unknown topology kind `{other}`"),
                "use \"peer\", \"hub_and_spoke\" or \"chain\"",
            );
            return None;
        }
    };
    for name in orgs.keys() {
        if !seen.contains(name.as_str()) {
            ctx.err(
                span.clone(),
                format!("org `{name}` is configured but not part of [topology]"),
                "add it to the topology, or remove its [orgs] table",
            );
        }
    }
    Some(topology)
}
