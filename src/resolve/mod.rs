//! Finding the price list for a usage: customer-unique, else the customer's
//! group, else the marketing company's base list, all valid at the time of
//! use (never the time of rating). The customer's marketing company and
//! group are those of its registry row valid at that same time
//! ([`customers`]), so a customer who moved group mid-month is priced with
//! the group of the day of use.

pub mod candidates;
pub mod cross_check;
pub mod customers;
pub mod network;
pub mod period;
pub mod policy;
pub mod price_list;
pub mod profile;
pub mod validate;

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use crate::sdr::StatusIndicator;
pub use customers::{Customer, CustomerRow, Customers, Period};
pub use price_list::{Owner, PriceList, PriceLists};

/// Loads and checks the price lists and the customer registry: the first
/// step of every command that prices. No list at all is a configuration
/// error.
pub fn load(
    price_lists: &std::path::Path,
    customers: &std::path::Path,
) -> anyhow::Result<(PriceLists, Customers)> {
    let lists = PriceLists::load_dir(price_lists)?;
    if lists.is_empty() {
        return Err(crate::error::Failure::Config(format!(
            "no price lists found in {}",
            price_lists.display()
        ))
        .into());
    }
    Ok((lists, Customers::load(customers)?))
}

/// The lists that price one usage.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    /// The marketing company's base list: defines the basic price.
    pub base: &'a Arc<PriceList>,
    /// The list resolution chose: defines the individual price.
    pub chosen: &'a Arc<PriceList>,
    /// The customer's registry row valid at the time of use.
    pub customer: CustomerRow<'a>,
}

/// Why no list could be found, as the seed's status indicator plus detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub status: StatusIndicator,
    pub detail: String,
}

/// The cause text of a usage whose marketing company is not the one the
/// customer registry has for its customer: which company's base list and
/// which customer's list would price it is ambiguous, so it is a fault
/// (status `unableToLocateMarketingCompany`), kept for recycling once the
/// SDR or the registry is corrected. The text starts with
/// [`COMPANY_MISMATCH`] so reports can tell it from a company without
/// lists.
pub fn company_mismatch(sdr_company: &str, customer: &CustomerRow<'_>) -> String {
    format!(
        "{COMPANY_MISMATCH}: the usage names `{sdr_company}`, the customer registry has customer `{}` in `{}`",
        customer.customer_id, customer.marketing_company
    )
}

/// How the cause of a marketing-company mismatch fault begins.
pub const COMPANY_MISMATCH: &str = "marketing company disagrees with the customer registry";

fn unresolved(status: StatusIndicator, detail: String) -> Unresolved {
    Unresolved { status, detail }
}

/// What resolution needs to know about one usage module.
#[derive(Debug, Clone, Copy)]
pub struct Query<'q> {
    pub service: &'q str,
    /// The SUM's revision state of the service; None when the usage has
    /// none (session events from an event log).
    pub service_revision: Option<u16>,
    pub customer_id: Option<&'q str>,
    pub marketing_company: &'q str,
    pub time_of_use: &'q DateTime<FixedOffset>,
    /// The SUM's customer-price flag: false forbids customer and group lists.
    pub customer_price: Option<bool>,
    /// The SUM's market-price flag: true prices with the base list only.
    pub market_price: Option<bool>,
}

pub fn resolve<'a>(
    lists: &'a PriceLists,
    customers: &'a Customers,
    q: &Query<'_>,
) -> Result<Resolved<'a>, Unresolved> {
    use StatusIndicator as S;
    let t = q.time_of_use;
    let Some(lists) = lists.service(q.service) else {
        return Err(unresolved(
            S::UnableToLocateServiceFeatureCode,
            format!("no price list for service feature code `{}`", q.service),
        ));
    };
    let basic = lists.basic_at(t).ok_or_else(|| {
        unresolved(
            S::UnableToLocatePriceTable,
            format!("no basic list of {} valid at {t}", q.service),
        )
    })?;
    if let (Some(revs), Some(rev)) = (&basic.def.service_revisions, q.service_revision)
        && !revs.contains(&rev)
    {
        return Err(unresolved(
            S::UnableToLocateRevisionStateOfFeature,
            format!(
                "{} revision {} is not priced by basic list {} (knows {revs:?})",
                q.service, rev, basic.def.id
            ),
        ));
    }
    let id = q.customer_id.ok_or_else(|| {
        unresolved(
            S::UnableToLocateServiceUser,
            "the SDR names no customer".into(),
        )
    })?;
    // No row valid at the time of use is the fault of an unknown
    // customer: the cause says when the customer is known.
    let customer = customers
        .at(id, t)
        .ok_or_else(|| unresolved(S::UnableToLocateServiceUser, customers.absence(id, t)))?;
    if customer.marketing_company != q.marketing_company {
        return Err(unresolved(
            S::MarketingCompanyMismatch,
            company_mismatch(q.marketing_company, &customer),
        ));
    }
    let company = Owner::Company(q.marketing_company);
    let Some(company_lists) = lists.revisions_of(company) else {
        return Err(unresolved(
            S::UnableToLocateMarketingCompany,
            format!(
                "marketing company `{}` has no price list for {}",
                q.marketing_company, q.service
            ),
        ));
    };
    let base = price_list::valid_at(company_lists, t).ok_or_else(|| {
        unresolved(
            S::UnableToLocatePriceTable,
            format!(
                "no base list of {} for {} valid at {t}",
                q.service, q.marketing_company
            ),
        )
    })?;
    let own_lists_allowed = q.market_price != Some(true) && q.customer_price != Some(false);
    let chosen = if own_lists_allowed {
        lists
            .list_at(Owner::Customer(customer.customer_id), t)
            .or_else(|| {
                customer
                    .group
                    .and_then(|g| lists.list_at(Owner::Group(q.marketing_company, g), t))
            })
            .unwrap_or(base)
    } else {
        base
    };
    Ok(Resolved {
        base,
        chosen,
        customer,
    })
}
