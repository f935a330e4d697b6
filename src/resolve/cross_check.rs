//! Cross-checks of price lists against the customer registry, and of the
//! registry's periods: what loads but will fault usage or never apply.
//! `sdrate check` prints them as warnings; a run does not need them.

use std::collections::{BTreeMap, BTreeSet};

use super::price_list::ListKind;
use super::{Customers, Owner, PriceLists};

/// `n what`, with an `s` unless `n` is 1: shared with `sdrate check`.
pub fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// What loads but will fault usage or never apply, sorted, one line each.
pub fn cross_check(lists: &PriceLists, customers: &Customers) -> Vec<String> {
    // The maps below sort what they collect: the order of the lists
    // read does not matter.
    let all: Vec<_> = lists.iter().collect();
    let mut warnings = Vec::new();

    // Customers whose marketing company has no base list for a service:
    // their usage of it faults (unable to locate marketing company).
    let services: BTreeSet<&str> = all
        .iter()
        .filter(|l| l.def.kind == ListKind::Basic)
        .map(|l| l.def.service.as_str())
        .collect();
    let mut per_company: BTreeMap<&str, usize> = BTreeMap::new();
    let mut last = None;
    for c in customers.iter() {
        // A customer's rows come together: one with several rows in a
        // company counts once.
        if last != Some((c.customer_id, c.marketing_company)) {
            *per_company.entry(c.marketing_company).or_default() += 1;
        }
        last = Some((c.customer_id, c.marketing_company));
    }
    for (company, n) in &per_company {
        let missing: Vec<&str> = services
            .iter()
            .copied()
            .filter(|s| !lists.has_owner(s, Owner::Company(company)))
            .collect();
        if !missing.is_empty() {
            warnings.push(format!(
                "marketing company `{company}` ({}) has no base list for {}: such usage by its customers will not price",
                plural(*n, "customer"),
                missing.join(", ")
            ));
        }
    }

    // Group and customer lists nobody resolves to, one line per group or
    // customer, naming its lists.
    // Inserted one by one: collecting would first gather a pair per row (96
    // MB for 3 M customers) to sort the few distinct ones out.
    let mut members: BTreeSet<(&str, &str)> = BTreeSet::new();
    for c in customers.iter() {
        if let Some(g) = c.group {
            members.insert((c.marketing_company, g));
        }
    }
    let mut empty_groups: BTreeMap<(&str, &str), BTreeSet<&str>> = BTreeMap::new();
    let mut unknown_customers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for l in &all {
        let d = &l.def;
        match (d.kind, &d.group, &d.customer) {
            (ListKind::Group, Some(g), _) => {
                let company = d.marketing_company.as_deref().unwrap_or_default();
                if !members.contains(&(company, g.as_str())) {
                    empty_groups.entry((company, g)).or_default().insert(&d.id);
                }
            }
            (ListKind::Customer, _, Some(c)) if !customers.contains(c) => {
                unknown_customers.entry(c).or_default().insert(&d.id);
            }
            _ => {}
        }
    }
    let names = |ids: &BTreeSet<&str>| ids.iter().copied().collect::<Vec<_>>().join(", ");
    for ((company, group), ids) in &empty_groups {
        warnings.push(format!(
            "no customer of `{company}` is in group `{group}`: its group lists apply to nobody ({})",
            names(ids)
        ));
    }
    for (customer, ids) in &unknown_customers {
        warnings.push(format!(
            "customer `{customer}` is not in the customer registry: its customer lists apply to nobody ({})",
            names(ids)
        ));
    }
    for p in lists.interactions.profiles() {
        if let Some(c) = &p.customer
            && !customers.contains(c)
        {
            warnings.push(format!(
                "customer `{c}` is not in the customer registry: profile {} r{} applies to nobody",
                p.id, p.revision
            ));
        }
        for service in p.triggers.keys() {
            if !lists.knows_service(service) {
                warnings.push(format!(
                    "profile {} r{} registers components for `{service}`, which no basic list prices",
                    p.id, p.revision
                ));
            }
        }
    }
    warnings.extend(gaps(customers));
    warnings
}

/// At most this many gaps are named one by one: a registry of millions
/// could have as many, and the first few show the pattern.
const GAPS_NAMED: usize = 10;

/// Periods between two rows of one customer that no row covers: usage then
/// faults as if the customer were unknown.
fn gaps(customers: &Customers) -> Vec<String> {
    let mut out = Vec::new();
    let mut more = 0;
    for (id, gap, before, after) in customers.gaps() {
        if out.len() == GAPS_NAMED {
            more += 1;
            continue;
        }
        out.push(format!(
            "customer `{id}` has no row valid {gap} (between lines {before} and {after}): its usage then will not price"
        ));
    }
    if more > 0 {
        out.push(format!(
            "{} more without a row valid between two of theirs",
            plural(more, "gap"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_named_up_to_ten_then_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("customers.csv");
        let mut text = String::from("customer_id,marketing_company,group,valid_from,valid_to\n");
        for n in 1..=12 {
            text.push_str(&format!(
                "C{n:02},acme,,,2026-03-01\nC{n:02},acme,,2026-03-02,\n"
            ));
        }
        // Rows that touch leave no gap.
        text.push_str("D1,acme,,,2026-03-01\nD1,acme,gold,2026-03-01,\n");
        std::fs::write(&path, text).unwrap();
        let w = gaps(&Customers::load(&path).unwrap());
        assert_eq!(w.len(), 11, "{w:?}");
        assert_eq!(
            w[0],
            "customer `C01` has no row valid from 2026-03-01T00:00:00Z until \
             2026-03-02T00:00:00Z (between lines 2 and 3): its usage then will not price"
        );
        assert!(w[9].starts_with("customer `C10` "), "{}", w[9]);
        assert_eq!(
            w[10],
            "2 gaps more without a row valid between two of theirs"
        );
    }
}
