//! Every list resolution could have used for one usage, and why it was or
//! was not chosen: for `sdrate explain`. [`super::resolve`] stays the one
//! that prices (it allocates nothing); this walks the same rules in the same
//! order and is tested to choose exactly what it chooses.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::price_list::{Owner, PriceList, PriceLists};
use super::{Customers, Query};

/// One list revision as resolution saw it at the time of use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    pub id: String,
    pub revision: u16,
    pub valid_from: DateTime<FixedOffset>,
    pub valid_to: Option<DateTime<FixedOffset>>,
    pub cancelled: bool,
    pub status: RevisionStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevisionStatus {
    /// Valid at the time of use and the one in effect.
    InEffect,
    /// Valid at the time of use, but a later one took effect after it.
    Superseded,
    /// Takes effect after the time of use.
    NotYetValid,
    /// Ended (valid_to) at or before the time of use.
    Expired,
    Cancelled,
}

/// A list kind resolution tries, in the order it tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Customer,
    Group,
    Base,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Customer => "customer",
            Kind::Group => "group",
            Kind::Base => "base",
        }
    }
}

/// Why a candidate was or was not chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// Sets the individual price.
    Chosen,
    /// The base list when another list was chosen: it still sets the
    /// basic price.
    BasicPriceOnly,
    /// Valid, but a list tried before it was chosen.
    Overridden { by: Kind },
    /// The owner has no list of the service at all.
    NoList,
    /// The customer is in no group.
    NoGroup,
    /// Lists exist, none valid at the time of use.
    NotValid,
    /// The usage's `marketPrice`/`customerPrice` flag allows the base list
    /// only.
    Forbidden { flag: String },
    /// Resolution stopped before this list (see the explanation's failure).
    NotReached,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub kind: Kind,
    /// `C00030`, `megacom/corporate`, `megacom`; empty when unknown.
    pub owner: String,
    pub revisions: Vec<Revision>,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// A list named by id and revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListRef {
    pub id: String,
    pub revision: u16,
}

impl ListRef {
    fn of(l: &PriceList) -> Self {
        ListRef {
            id: l.def.id.clone(),
            revision: l.def.revision,
        }
    }
}

/// Resolution of one usage, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidates {
    pub service: String,
    pub service_revision: Option<u16>,
    pub time_of_use: DateTime<FixedOffset>,
    /// The basic list valid at the time of use.
    pub basic: Option<ListRef>,
    /// Whether that basic list prices the usage's service revision.
    pub service_revision_known: bool,
    pub customer_id: Option<String>,
    pub customer_found: bool,
    /// The customer's marketing company and group in the registry.
    pub registry_company: Option<String>,
    pub group: Option<String>,
    /// When the registry row used is valid, for a customer with dated
    /// rows; for a customer with no row valid at the time of use, when its
    /// rows are. None for a customer valid always, or not in the registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_validity: Option<String>,
    /// The usage's marketing company: whose base and group lists count.
    pub marketing_company: String,
    pub customer_price: Option<bool>,
    pub market_price: Option<bool>,
    pub candidates: Vec<Candidate>,
    /// The list that sets the individual price; None when resolution fails.
    pub chosen: Option<ListRef>,
    /// The base list that sets the basic price; None when resolution fails.
    pub base: Option<ListRef>,
    /// Why resolution fails, in the words of the rule that stops it.
    pub failure: Option<String>,
}

fn status(
    l: &PriceList,
    t: &DateTime<FixedOffset>,
    in_effect: Option<&PriceList>,
) -> RevisionStatus {
    if l.def.cancelled {
        RevisionStatus::Cancelled
    } else if l.def.valid_from > *t {
        RevisionStatus::NotYetValid
    } else if l.def.valid_to.is_some_and(|to| *t >= to) {
        RevisionStatus::Expired
    } else if in_effect.is_some_and(|e| std::ptr::eq(e, l)) {
        RevisionStatus::InEffect
    } else {
        RevisionStatus::Superseded
    }
}

/// The revisions of an owner's list, with the one in effect (as
/// [`PriceLists::list_at`] finds it).
fn revisions<'a>(
    lists: &'a PriceLists,
    service: &str,
    owner: Owner<&str>,
    t: &DateTime<FixedOffset>,
) -> (Vec<Revision>, Option<&'a PriceList>) {
    let in_effect = lists.list_at(service, owner, t).map(|l| &**l);
    let mut revs: Vec<Revision> = lists
        .revisions(service, owner)
        .iter()
        .map(|l| Revision {
            id: l.def.id.clone(),
            revision: l.def.revision,
            valid_from: l.def.valid_from,
            valid_to: l.def.valid_to,
            cancelled: l.def.cancelled,
            status: status(l, t, in_effect),
        })
        .collect();
    revs.sort_by_key(|r| (r.valid_from, r.revision));
    (revs, in_effect)
}

/// Every candidate list for the usage `q`, with the verdict resolution
/// reaches on each.
pub fn candidates(lists: &PriceLists, customers: &Customers, q: &Query<'_>) -> Candidates {
    let t = q.time_of_use;
    let basic = lists.basic_at(q.service, t);
    let service_revision_known = match (basic, q.service_revision) {
        (Some(b), Some(rev)) => b
            .def
            .service_revisions
            .as_ref()
            .is_none_or(|revs| revs.contains(&rev)),
        (Some(_), None) => true,
        (None, _) => false,
    };
    // The registry row valid at the time of use, as `resolve` takes it.
    let customer = q.customer_id.and_then(|id| customers.at(id, t));
    let company = Owner::Company(q.marketing_company);
    let (base_revs, base) = revisions(lists, q.service, company, t);
    // The same checks, in the same order, as `resolve`.
    let failure = if !lists.knows_service(q.service) {
        Some(format!(
            "no price list for service feature code `{}`",
            q.service
        ))
    } else if basic.is_none() {
        Some(format!("no basic list of {} valid at {t}", q.service))
    } else if !service_revision_known {
        Some(format!(
            "the basic list does not price {} revision {}",
            q.service,
            q.service_revision.unwrap_or_default()
        ))
    } else if q.customer_id.is_none() {
        Some("the SDR names no customer".to_owned())
    } else if customer.is_none() {
        Some(customers.absence(q.customer_id.unwrap_or_default(), t))
    } else if let Some(c) = customer.filter(|c| c.marketing_company != q.marketing_company) {
        Some(super::company_mismatch(q.marketing_company, &c))
    } else if base_revs.is_empty() {
        Some(format!(
            "marketing company `{}` has no price list for {}",
            q.marketing_company, q.service
        ))
    } else if base.is_none() {
        Some(format!(
            "no base list of {} for {} valid at {t}",
            q.service, q.marketing_company
        ))
    } else {
        None
    };
    let reached = failure.is_none();
    let forbidden = if q.market_price == Some(true) {
        Some("marketPrice = TRUE")
    } else if q.customer_price == Some(false) {
        Some("customerPrice = FALSE")
    } else {
        None
    };
    let mut out = Vec::with_capacity(3);
    // Set when a list is chosen, so the later ones are overridden.
    let mut chosen: Option<(Kind, &PriceList)> = None;
    let verdict = |chosen: Option<Kind>, kind: Kind, exists: bool, valid: bool| -> Verdict {
        if !reached {
            return Verdict::NotReached;
        }
        if let (Some(flag), Kind::Customer | Kind::Group) = (forbidden, kind) {
            return Verdict::Forbidden { flag: flag.into() };
        }
        match (chosen, exists, valid) {
            (_, false, _) => Verdict::NoList,
            (_, true, false) => Verdict::NotValid,
            (None, true, true) => Verdict::Chosen,
            (Some(_), true, true) if kind == Kind::Base => Verdict::BasicPriceOnly,
            (Some(by), true, true) => Verdict::Overridden { by },
        }
    };
    let customer_owner = customer.map(|c| c.customer_id);
    {
        let (revs, valid) = match customer_owner {
            Some(id) => revisions(lists, q.service, Owner::Customer(id), t),
            None => (Vec::new(), None),
        };
        let v = verdict(None, Kind::Customer, !revs.is_empty(), valid.is_some());
        if v == Verdict::Chosen {
            chosen = valid.map(|l| (Kind::Customer, l));
        }
        out.push(Candidate {
            kind: Kind::Customer,
            owner: customer_owner.unwrap_or_default().to_owned(),
            revisions: revs,
            verdict: v,
        });
    }
    {
        let group = customer.and_then(|c| c.group);
        let (revs, valid) = match group {
            Some(g) => revisions(lists, q.service, Owner::Group(q.marketing_company, g), t),
            None => (Vec::new(), None),
        };
        let mut v = verdict(
            chosen.map(|c| c.0),
            Kind::Group,
            !revs.is_empty(),
            valid.is_some(),
        );
        if group.is_none() && v == Verdict::NoList {
            v = Verdict::NoGroup;
        }
        if v == Verdict::Chosen {
            chosen = valid.map(|l| (Kind::Group, l));
        }
        out.push(Candidate {
            kind: Kind::Group,
            owner: group
                .map(|g| format!("{}/{g}", q.marketing_company))
                .unwrap_or_default(),
            revisions: revs,
            verdict: v,
        });
    }
    {
        let v = verdict(
            chosen.map(|c| c.0),
            Kind::Base,
            !base_revs.is_empty(),
            base.is_some(),
        );
        if v == Verdict::Chosen {
            chosen = base.map(|l| (Kind::Base, l));
        }
        out.push(Candidate {
            kind: Kind::Base,
            owner: q.marketing_company.to_owned(),
            revisions: base_revs,
            verdict: v,
        });
    }
    Candidates {
        service: q.service.to_owned(),
        service_revision: q.service_revision,
        time_of_use: *t,
        basic: basic.map(|b| ListRef::of(b)),
        service_revision_known,
        customer_id: q.customer_id.map(str::to_owned),
        customer_found: customer.is_some(),
        registry_company: customer.map(|c| c.marketing_company.to_owned()),
        group: customer.and_then(|c| c.group.map(str::to_owned)),
        registry_validity: match customer {
            Some(c) if c.valid.is_always() => None,
            Some(c) => Some(format!("valid {}, line {}", c.valid, c.line)),
            None => q.customer_id.and_then(|id| customers.validity_of(id)),
        },
        marketing_company: q.marketing_company.to_owned(),
        customer_price: q.customer_price,
        market_price: q.market_price,
        candidates: out,
        chosen: chosen.filter(|_| reached).map(|(_, l)| ListRef::of(l)),
        base: base.filter(|_| reached).map(ListRef::of),
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::resolve;
    use std::path::Path;

    /// For every customer of the shipped registry, every service, every
    /// marketing company, both flags and every instant at which some list
    /// of the service starts or ends (and a second before), the candidates
    /// choose exactly the lists `resolve` chooses, and fail when it fails.
    #[test]
    fn candidates_choose_what_resolve_chooses_on_the_shipped_data() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let (lists, customers) = crate::resolve::load(
            &root.join("price_lists"),
            &root.join("price_lists/customers.csv"),
        )
        .unwrap();
        let mut services: Vec<String> = lists.iter().map(|l| l.def.service.clone()).collect();
        services.sort();
        services.dedup();
        services.push("HOLO".into());
        let mut companies: Vec<String> = customers
            .iter()
            .map(|c| c.marketing_company.to_owned())
            .collect();
        companies.sort();
        companies.dedup();
        companies.push("nobody".into());
        let mut ids: Vec<String> = customers.iter().map(|c| c.customer_id.to_owned()).collect();
        ids.sort();
        ids.push("C99999".into());
        let mut checked = 0u64;
        let mut chosen_kinds = [0u64; 4];
        for service in &services {
            let mut times: Vec<DateTime<FixedOffset>> = lists
                .iter()
                .filter(|l| &l.def.service == service)
                .flat_map(|l| [Some(l.def.valid_from), l.def.valid_to])
                .flatten()
                .flat_map(|t| [t, t - chrono::Duration::seconds(1)])
                .collect();
            times.push(DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z").unwrap());
            times.push(DateTime::parse_from_rfc3339("2030-06-01T00:00:00Z").unwrap());
            times.sort();
            times.dedup();
            for id in &ids {
                for company in &companies {
                    for t in &times {
                        for (customer_price, market_price) in [
                            (None, None),
                            (Some(false), None),
                            (None, Some(true)),
                            (Some(true), Some(false)),
                        ] {
                            for revision in [Some(1), Some(2), None] {
                                let q = Query {
                                    service,
                                    service_revision: revision,
                                    customer_id: Some(id),
                                    marketing_company: company,
                                    time_of_use: t,
                                    customer_price,
                                    market_price,
                                };
                                let c = candidates(&lists, &customers, &q);
                                match resolve(&lists, &customers, &q) {
                                    Ok(r) => {
                                        assert_eq!(c.chosen, Some(ListRef::of(r.chosen)), "{q:?}");
                                        assert_eq!(c.base, Some(ListRef::of(r.base)), "{q:?}");
                                        assert_eq!(c.failure, None, "{q:?}");
                                        let kind = c
                                            .candidates
                                            .iter()
                                            .position(|k| k.verdict == Verdict::Chosen)
                                            .expect("one chosen");
                                        chosen_kinds[kind] += 1;
                                    }
                                    Err(u) => {
                                        assert_eq!(c.chosen, None, "{q:?}: {u:?}");
                                        assert!(c.failure.is_some(), "{q:?}: {u:?}");
                                        chosen_kinds[3] += 1;
                                    }
                                }
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 100_000, "{checked}");
        // Every way out is exercised: customer, group and base lists
        // chosen, and failures.
        assert!(chosen_kinds.iter().all(|&n| n > 0), "{chosen_kinds:?}");
    }

    #[test]
    fn why_the_others_were_not_chosen() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let (lists, customers) = crate::resolve::load(
            &root.join("price_lists"),
            &root.join("price_lists/customers.csv"),
        )
        .unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        // C00030 (megacom, corporate) has its own VPN list from 1 June 2026.
        let before = at("2026-05-31T12:00:00+02:00");
        let q = Query {
            service: "VPN",
            service_revision: Some(1),
            customer_id: Some("C00030"),
            marketing_company: "megacom",
            time_of_use: &before,
            customer_price: None,
            market_price: None,
        };
        let c = candidates(&lists, &customers, &q);
        let verdicts: Vec<&Verdict> = c.candidates.iter().map(|k| &k.verdict).collect();
        assert_eq!(
            verdicts,
            [
                &Verdict::NotValid,
                &Verdict::Chosen,
                &Verdict::BasicPriceOnly
            ]
        );
        assert_eq!(
            c.candidates[0].revisions[0].status,
            RevisionStatus::NotYetValid
        );
        // r2 and r3 of megacom's base list are not valid yet; r1 is.
        let base: Vec<(u16, RevisionStatus)> = c.candidates[2]
            .revisions
            .iter()
            .map(|r| (r.revision, r.status))
            .collect();
        assert_eq!(
            base,
            [
                (1, RevisionStatus::InEffect),
                (2, RevisionStatus::NotYetValid),
                (3, RevisionStatus::NotYetValid)
            ]
        );
        // In December the customer list wins and r3 supersedes r1 and r2.
        let dec = at("2026-12-02T10:00:00+01:00");
        let q = Query {
            time_of_use: &dec,
            ..q
        };
        let c = candidates(&lists, &customers, &q);
        assert_eq!(c.candidates[0].verdict, Verdict::Chosen);
        assert_eq!(
            c.candidates[1].verdict,
            Verdict::Overridden { by: Kind::Customer }
        );
        assert_eq!(c.base.as_ref().map(|b| b.revision), Some(3));
        // marketPrice forbids both own lists.
        let q = Query {
            market_price: Some(true),
            ..q
        };
        let c = candidates(&lists, &customers, &q);
        assert_eq!(
            c.candidates[0].verdict,
            Verdict::Forbidden {
                flag: "marketPrice = TRUE".into()
            }
        );
        assert_eq!(c.candidates[2].verdict, Verdict::Chosen);
    }
}
