//! The price an already priced SDR carries, and comparing it with a new
//! one: shared by `sdrate rerate` (differences.csv) and `sdrate explain`
//! (does the stored price still hold?). Pricing never reads an SDR's pricing
//! modules, and writing replaces them ([`crate::write::append_priced`]), so
//! re-pricing a priced SDR needs no stripping: only the old price is read
//! here.

use rust_decimal::Decimal;

use crate::sdr::{ServiceDetailRecord, ServicePricingModule, StatusIndicator};

/// One side of a comparison: an SDR's individual price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub currency: String,
    pub individual: Decimal,
    /// The price tables and revisions, `id:revision;...`.
    pub tables: String,
}

/// The price tables of pricing modules, `id:revision`, distinct, in order.
pub fn tables_of(spms: &[ServicePricingModule]) -> String {
    let mut seen: Vec<(&str, u16)> = Vec::new();
    for p in spms.iter().flat_map(|s| &s.prices) {
        let t = (p.price_table_identifier.as_str(), p.price_table_revision);
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    seen.iter()
        .map(|(id, rev)| format!("{id}:{rev}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// What an SDR was priced at before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Old {
    /// No pricing module: never priced.
    None,
    Priced(Side),
    /// Pricing modules that are no price: fault labels from an earlier run,
    /// several currencies, an amount out of range.
    NotUsable(String),
}

impl Old {
    pub fn side(&self) -> Option<&Side> {
        match self {
            Old::Priced(s) => Some(s),
            Old::None | Old::NotUsable(_) => None,
        }
    }

    /// Whether the new price differs from this old one (currency or
    /// individual price), and why in words when that is not the price
    /// itself.
    pub fn compare(&self, new: &Side) -> (bool, String) {
        match self {
            Old::Priced(o) if o.currency != new.currency => (
                true,
                format!("currency changed from {} to {}", o.currency, new.currency),
            ),
            Old::Priced(o) => (o.individual != new.individual, String::new()),
            Old::None => (true, "not priced before".to_owned()),
            Old::NotUsable(why) => (true, why.clone()),
        }
    }
}

pub fn old_pricing(sdr: &ServiceDetailRecord) -> Old {
    let Some(spms) = sdr
        .service_pricing_modules
        .as_deref()
        .filter(|s| !s.is_empty())
    else {
        return Old::None;
    };
    if let Some(p) = spms
        .iter()
        .flat_map(|s| &s.prices)
        .find(|p| p.status_indicator != StatusIndicator::Priced)
    {
        return Old::NotUsable(format!("previously {}", p.status_indicator));
    }
    let currency = &spms[0].currency;
    if spms.iter().any(|s| &s.currency != currency) {
        return Old::NotUsable("previously priced in more than one currency".into());
    }
    let mut individual = Decimal::ZERO;
    for p in spms.iter().flat_map(|s| &s.prices) {
        // A module without an individual price charges the basic price.
        let amount = p.individual_price.as_ref().unwrap_or(&p.basic_price);
        let Some(sum) = amount
            .to_decimal()
            .ok()
            .and_then(|a| individual.checked_add(a))
        else {
            return Old::NotUsable("previous price out of range".into());
        };
        individual = sum;
    }
    Old::Priced(Side {
        currency: currency.to_string(),
        individual,
        tables: tables_of(spms),
    })
}

/// What identifies a record in the difference report and the totals.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Facts {
    pub sdr_identifier: Option<u32>,
    pub producer: String,
    pub customer: String,
    pub marketing_company: String,
    pub service: String,
}

/// Distinct values in order of appearance, joined with `;`.
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for v in values {
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen.join(";")
}

/// What the difference report says of the record.
pub fn facts_of(sdr: &ServiceDetailRecord) -> Facts {
    let h = &sdr.service_header;
    let first = sdr.service_usage_modules.first();
    // The customer resolution asks for: the header's, else the charged
    // participant or user of the (first) usage module.
    let customer = h
        .customer_identity
        .as_deref()
        .or(first.and_then(|s| s.charged_participant.as_deref()))
        .or(first.and_then(|s| s.user_identifier.as_deref()))
        .unwrap_or("");
    let mut marketing_company = distinct(
        sdr.service_usage_modules
            .iter()
            .map(|s| s.marketing_company.as_str()),
    );
    if marketing_company.is_empty() {
        marketing_company = h.marketing_company.clone().unwrap_or_default().to_string();
    }
    Facts {
        sdr_identifier: Some(h.sdr_identifier),
        producer: h.producer_identity.to_string(),
        customer: customer.to_owned(),
        marketing_company,
        service: distinct(
            sdr.service_usage_modules
                .iter()
                .map(|s| s.service_feature_code.as_str()),
        ),
    }
}
