//! `sdrate check`: load the price lists and the customer registry as `rate`
//! would, report what is there, and warn about what would not stop a run
//! but will fault usage or never apply.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::cli::{CheckArgs, Verbosity};
use sdrate::error::Failure;
use sdrate::resolve::cross_check::plural;
use sdrate::resolve::price_list::ListKind;
use sdrate::resolve::profile::{self, Interactions};
use sdrate::resolve::{Customers, PriceList, PriceLists};

pub fn run(args: &CheckArgs, verbosity: Verbosity) -> Result<ExitCode> {
    let (lists, customers) =
        sdrate::resolve::load(&args.tariff.price_lists, &args.tariff.customers)?;
    let warnings = sdrate::resolve::cross_check::cross_check(&lists, &customers);
    let network = args
        .network_costs
        .as_deref()
        .map(|dir| {
            sdrate::resolve::network::NetworkCosts::load_dir(dir).map(|n| network_report(dir, &n))
        })
        .transpose()?;
    let mut text = report(
        &args.tariff.price_lists,
        &lists,
        &args.tariff.customers,
        &customers,
        warnings.len(),
        verbosity.is_verbose(1),
    );
    text.push_str(network.as_deref().unwrap_or(""));
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to standard output")?;
    for w in &warnings {
        tracing::warn!("{w}");
    }
    if args.strict && !warnings.is_empty() {
        return Err(Failure::Config(format!(
            "{} with --strict",
            plural(warnings.len(), "warning")
        ))
        .into());
    }
    Ok(ExitCode::SUCCESS)
}

/// The network cost lists by provider and network, each revision with its
/// validity and rates.
fn network_report(dir: &std::path::Path, n: &sdrate::resolve::network::NetworkCosts) -> String {
    let mut s = format!(
        "network cost lists in {}: {}\n",
        dir.display(),
        plural(n.count, "list revision")
    );
    for ((provider, network), lists) in n.lists() {
        let _ = writeln!(s, "  {provider} {network}");
        for l in lists {
            let to = l.valid_to.map(|t| format!(" to {t}")).unwrap_or_default();
            let mut rates = Vec::new();
            if let Some(d) = &l.duration {
                rates.push(format!(
                    "{} per {} s in {} s increments",
                    d.price.0, d.unit_seconds, d.increment
                ));
            }
            if let Some(c) = &l.capacity {
                rates.push(format!("{} per {} capacity units", c.price.0, c.unit_size));
            }
            let _ = writeln!(
                s,
                "    {} r{}: from {}{to}, {}: {}",
                l.id,
                l.revision,
                l.valid_from,
                l.currency,
                rates.join(" + ")
            );
        }
    }
    s
}

const KINDS: [ListKind; 5] = [
    ListKind::Basic,
    ListKind::Base,
    ListKind::Group,
    ListKind::Customer,
    ListKind::Cost,
];

fn kind_name(k: ListKind) -> &'static str {
    match k {
        ListKind::Basic => "basic",
        ListKind::Base => "base",
        ListKind::Group => "group",
        ListKind::Customer => "customer",
        ListKind::Cost => "cost",
    }
}

/// Whose list it is, as the report shows it.
fn owner(l: &PriceList) -> String {
    let d = &l.def;
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    match d.kind {
        ListKind::Basic => "-".into(),
        ListKind::Base => s(&d.marketing_company),
        ListKind::Group => format!("{}/{}", s(&d.marketing_company), s(&d.group)),
        ListKind::Customer => s(&d.customer),
        ListKind::Cost => format!("provider {}", s(&d.provider)),
    }
}

/// Every revision, sorted by service, kind, owner, list and revision.
fn sorted(lists: &PriceLists) -> Vec<&Arc<PriceList>> {
    let mut all: Vec<_> = lists.iter().collect();
    all.sort_by_cached_key(|l| {
        let kind = KINDS.iter().position(|k| *k == l.def.kind);
        (
            l.def.service.clone(),
            kind,
            owner(l),
            l.def.id.clone(),
            l.def.revision,
        )
    });
    all
}

/// Rows of cells as text columns; `right[i]` right-aligns column i.
fn table(rows: &[Vec<String>], right: &[bool]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            if right.get(c).copied().unwrap_or(false) {
                let _ = write!(line, "{cell:>w$}", w = width[c]);
            } else {
                let _ = write!(line, "{cell:<w$}", w = width[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn report(
    lists_dir: &Path,
    lists: &PriceLists,
    customers_path: &Path,
    customers: &Customers,
    warnings: usize,
    verbose: bool,
) -> String {
    let all = sorted(lists);
    // Distinct lists (ids) per service and kind, and revisions per service.
    let mut per_service: BTreeMap<&str, ([BTreeSet<&str>; 5], usize)> = BTreeMap::new();
    for l in &all {
        let e = per_service.entry(&l.def.service).or_default();
        let k = KINDS.iter().position(|k| *k == l.def.kind).unwrap_or(0);
        e.0[k].insert(&l.def.id);
        e.1 += 1;
    }
    let list_count: usize = per_service
        .values()
        .map(|(ids, _)| ids.iter().map(BTreeSet::len).sum::<usize>())
        .sum();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "price lists in {}: {}, {}, {}\n",
        lists_dir.display(),
        plural(per_service.len(), "service"),
        plural(list_count, "list"),
        plural(all.len(), "revision"),
    );
    let mut rows = vec![
        [
            "service",
            "basic",
            "base",
            "group",
            "customer",
            "cost",
            "revisions",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut totals = [0usize; 6];
    for (service, (ids, revisions)) in &per_service {
        let mut row = vec![service.to_string()];
        for (k, set) in ids.iter().enumerate() {
            totals[k] += set.len();
            row.push(set.len().to_string());
        }
        totals[5] += revisions;
        row.push(revisions.to_string());
        rows.push(row);
    }
    let mut total_row = vec!["all".to_string()];
    total_row.extend(totals.iter().map(usize::to_string));
    rows.push(total_row);
    out.push_str(&table(&rows, &[false, true, true, true, true, true, true]));

    out.push_str(
        "\nrevisions (validity as written; a revision supersedes earlier ones from its valid_from):\n\n",
    );
    let mut rows = vec![
        [
            "service",
            "kind",
            "owner",
            "list",
            "rev",
            "valid from",
            "valid to",
            "note",
        ]
        .map(String::from)
        .to_vec(),
    ];
    if verbose {
        rows[0].push("file".into());
    }
    for l in &all {
        let d = &l.def;
        let mut row = vec![
            d.service.clone(),
            kind_name(d.kind).into(),
            owner(l),
            d.id.clone(),
            format!("r{}", d.revision),
            d.valid_from.to_rfc3339(),
            d.valid_to.map_or("-".into(), |t| t.to_rfc3339()),
            if d.cancelled { "cancelled" } else { "" }.into(),
        ];
        if verbose {
            row.push(l.path.display().to_string());
        }
        rows.push(row);
    }
    out.push_str(&table(&rows, &[]));

    interactions_report(&mut out, lists_dir, &lists.interactions);

    // A customer counts in every company and group it is in at some time
    // (once, however many rows say so).
    let mut groups: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut last = None;
    for c in customers.iter() {
        let key = (c.marketing_company, c.group.unwrap_or("-"));
        if last != Some((c.customer_id, key)) {
            *groups.entry(key).or_default() += 1;
        }
        last = Some((c.customer_id, key));
    }
    let dated = customers.dated_rows();
    let _ = writeln!(
        out,
        "\ncustomers in {}: {}{}\n",
        customers_path.display(),
        customers.len(),
        if dated == 0 {
            String::new()
        } else {
            format!(
                " ({}, {} with valid_from or valid_to)",
                plural(customers.row_count(), "row"),
                dated
            )
        }
    );
    let mut rows = vec![
        ["marketing company", "group", "customers"]
            .map(String::from)
            .to_vec(),
    ];
    for ((company, group), n) in &groups {
        rows.push(vec![company.to_string(), group.to_string(), n.to_string()]);
    }
    out.push_str(&table(&rows, &[false, false, true]));
    let _ = writeln!(
        out,
        "\nchecks: {}",
        match warnings {
            0 => "no warnings".to_string(),
            n => format!("{} (on stderr)", plural(n, "warning")),
        }
    );
    out
}

/// Profiles, components and rules (`profiles/`), when there are any.
fn interactions_report(out: &mut String, lists_dir: &Path, i: &Interactions) {
    if i.is_empty() && i.components().next().is_none() {
        return;
    }
    let rules: Vec<_> = i.rules().collect();
    let _ = writeln!(
        out,
        "\nprofiles in {}: {}, {}, {}\n",
        lists_dir.join(profile::DIR).display(),
        plural(i.components().count(), "component"),
        plural(rules.len(), "rule"),
        plural(i.profiles().len(), "profile revision"),
    );
    let mut rows = vec![
        [
            "profile",
            "rev",
            "owner",
            "valid from",
            "valid to",
            "service",
            "components",
            "rule",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for p in i.profiles() {
        for (service, trigger) in &p.triggers {
            rows.push(vec![
                p.id.clone(),
                format!("r{}", p.revision),
                p.owner(),
                p.valid_from.to_rfc3339(),
                p.valid_to.map_or("-".into(), |t| t.to_rfc3339()),
                service.clone(),
                trigger.components.join(","),
                trigger.rule.name.clone(),
            ]);
        }
    }
    out.push_str(&table(&rows, &[]));
    out.push('\n');
    let mut rows = vec![
        [
            "rule",
            "order (precedence)",
            "combine",
            "conflict",
            "on failure",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let word = |x: &dyn std::fmt::Debug| format!("{x:?}").to_lowercase();
    for r in &rules {
        rows.push(vec![
            r.name.clone(),
            r.order.join(","),
            word(&r.combine),
            word(&r.conflict),
            word(&r.on_failure),
        ]);
    }
    out.push_str(&table(&rows, &[]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    use sdrate::resolve::Customer;

    const BASIC: &str = "id = \"vpn-basic\"\nrevision = 1\nkind = \"basic\"\nservice = \"VPN\"\n\
                         valid_from = \"2026-01-01T00:00:00+01:00\"\nitems = [\"call\"]\n";

    fn base(company: &str) -> String {
        format!(
            "id = \"vpn-{company}-base\"\nrevision = 1\nkind = \"base\"\nservice = \"VPN\"\n\
             based_on = \"vpn-basic\"\nmarketing_company = \"{company}\"\n\
             valid_from = \"2026-01-01T00:00:00+01:00\"\ncurrency = \"SEK\"\nvat_percent = \"25\"\n"
        )
    }

    fn own(kind: &str, id: &str, extra: &str) -> String {
        format!(
            "id = \"{id}\"\nrevision = 1\nkind = \"{kind}\"\nservice = \"VPN\"\n\
             based_on = \"vpn-basic\"\nmarketing_company = \"m\"\n{extra}\n\
             valid_from = \"2026-01-01T00:00:00+01:00\"\ndiscount_percent = \"10\"\n"
        )
    }

    fn lists(sources: &[(&str, String)]) -> PriceLists {
        PriceLists::from_sources(
            sources
                .iter()
                .map(|(p, s)| (PathBuf::from(p), s.clone()))
                .collect(),
        )
        .unwrap()
    }

    fn customer(id: &str, company: &str, group: Option<&str>) -> Customer {
        Customer {
            customer_id: id.into(),
            marketing_company: company.into(),
            group: group.map(Into::into),
        }
    }

    #[test]
    fn warns_about_what_will_not_apply() {
        let l = lists(&[
            ("basic.toml", BASIC.into()),
            ("m.toml", base("m")),
            ("gold.toml", own("group", "vpn-m-gold", "group = \"gold\"")),
            (
                "silver.toml",
                own("group", "vpn-m-silver", "group = \"silver\""),
            ),
            ("c9.toml", own("customer", "vpn-C9", "customer = \"C9\"")),
            ("c1.toml", own("customer", "vpn-C1", "customer = \"C1\"")),
        ]);
        let mut c = Customers::default();
        c.insert(customer("C1", "m", Some("gold")));
        c.insert(customer("C2", "n", None));
        c.insert(customer("C3", "n", Some("silver")));
        let w = sdrate::resolve::cross_check::cross_check(&l, &c);
        assert_eq!(
            w,
            [
                "marketing company `n` (2 customers) has no base list for VPN: such usage by its customers will not price",
                "no customer of `m` is in group `silver`: its group lists apply to nobody (vpn-m-silver)",
                "customer `C9` is not in the customer registry: its customer lists apply to nobody (vpn-C9)",
            ]
        );
    }

    #[test]
    fn report_counts_lists_and_revisions() {
        let mut r2 = base("m").replace("revision = 1", "revision = 2");
        r2 = r2.replace("2026-01-01", "2026-06-01");
        let l = lists(&[
            ("basic.toml", BASIC.into()),
            ("m1.toml", base("m")),
            ("m2.toml", r2),
        ]);
        let mut c = Customers::default();
        c.insert(customer("C1", "m", None));
        let text = report(Path::new("pl"), &l, Path::new("c.csv"), &c, 0, true);
        assert!(
            text.starts_with("price lists in pl: 1 service, 2 lists, 3 revisions\n"),
            "{text}"
        );
        let row = |first: &str| {
            text.lines()
                .find(|l| l.split_whitespace().next() == Some(first))
                .unwrap_or_else(|| panic!("no {first} row in\n{text}"))
                .split_whitespace()
                .collect::<Vec<_>>()
        };
        assert_eq!(row("all"), ["all", "1", "1", "0", "0", "0", "3"]);
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>().ends_with(&[
                    "r2",
                    "2026-06-01T00:00:00+01:00",
                    "-",
                    "m2.toml"
                ])),
            "{text}"
        );
        assert!(text.contains("m2.toml"), "verbose names files: {text}");
        assert_eq!(row("m"), ["m", "-", "1"]);
        assert!(text.ends_with("checks: no warnings\n"));
    }
}
