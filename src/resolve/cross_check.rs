//! Cross-checks of price lists against the customer registry: what loads
//! but will fault usage or never apply. `sdrate check` prints them as
//! warnings; a run does not need them.

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
    for c in customers.iter() {
        *per_company.entry(&c.marketing_company).or_default() += 1;
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
    let members: BTreeSet<(&str, &str)> = customers
        .iter()
        .filter_map(|c| Some((c.marketing_company.as_str(), c.group.as_deref()?)))
        .collect();
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
            (ListKind::Customer, _, Some(c)) if customers.get(c).is_none() => {
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
            && customers.get(c).is_none()
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
    warnings
}
