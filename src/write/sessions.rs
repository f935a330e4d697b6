//! Writing priced sessions: one priced SDR per participation (the seed's
//! billing record for each participant), so invoicing reads the same format
//! as for single SDRs, plus CSV reports of participations and costs.

use std::borrow::Cow;
use std::fmt::Write as _;

use anyhow::Result;
use rust_decimal::Decimal;

use crate::price::Quantity;
use crate::price::session::{PricedParticipation, PricedSession};
use crate::resolve::policy::Measure;
use crate::sdr::*;
use crate::write::{decimal_text, push_decimal};

pub const PRODUCER: &str = "sdrate";

pub const PARTICIPATION_COLUMNS: [&str; 17] = [
    "session_id",
    "service",
    "participant_id",
    "role",
    "billed_party",
    "marketing_company",
    "first_join",
    "last_leave",
    "active_seconds",
    "events_counted",
    "currency",
    "basic_price",
    "individual_price",
    "vat_percent",
    "price_table",
    "revision",
    "lines",
];

pub const COST_COLUMNS: [&str; 8] = [
    "session_id",
    "service",
    "provider",
    "cost_table",
    "revision",
    "item",
    "currency",
    "cost",
];

/// A stable 32-bit SDR identifier for a participation (FNV-1a of session
/// and participant), so pricing the same session again gives the same id.
pub fn participation_id(session: &str, participant: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in session
        .bytes()
        .chain(std::iter::once(0))
        .chain(participant.bytes())
    {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// What a rule line counted, after its item: written into the bill
/// information being built, so a line costs one string, not three.
fn describe(out: &mut String, q: Quantity, measure: Measure) {
    let mut n = itoa::Buffer::new();
    let (count, unit) = match (measure, q) {
        (Measure::EntryFee, Quantity::Events(n)) => (n, " participants"),
        (Measure::ActiveTime, Quantity::Seconds(s)) => (s, " s active"),
        (Measure::SharedTime, Quantity::Seconds(s)) => (s, " s shared"),
        (Measure::Session, _) => {
            out.push_str("session");
            return;
        }
        (_, Quantity::Events(n) | Quantity::Units(n)) => (n, " events"),
        (_, Quantity::Seconds(s)) => (s, " s"),
    };
    out.push_str(n.format(count));
    out.push_str(unit);
}

fn bill_information(l: &crate::price::session::Line) -> Text {
    let mut text = String::with_capacity(64);
    match &l.components {
        None => {
            text.push_str(&l.item);
            text.push_str(": ");
        }
        Some(c) => {
            let _ = write!(text, "{c} (");
        }
    }
    describe(&mut text, l.quantity, l.measure);
    if l.components.is_some() {
        text.push(')');
    }
    text.into()
}

fn amount(d: Decimal) -> Result<Amount> {
    Amount::from_decimal(d).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The priced SDR of one participation.
pub fn participation_sdr(
    s: &PricedSession,
    p: &PricedParticipation,
    number: u32,
    pricing_time: Timestamp,
    pricing_identifier: &str,
) -> Result<ServiceDetailRecord> {
    let f = &s.facts;
    let part = &p.part;
    let mut prices = Vec::with_capacity(p.lines.len().max(1));
    for l in &p.lines {
        prices.push(PriceItem {
            price_type: match l.measure {
                Measure::ActiveTime | Measure::SharedTime => PriceType::PerTimeSlice,
                _ => PriceType::PerFunction,
            },
            basic_price: amount(l.basic)?,
            individual_price: Some(amount(l.individual)?),
            price_table_identifier: Text::from(p.table.as_str()),
            price_table_revision: p.revision,
            bill_information: Some(bill_information(l)),
            status_indicator: StatusIndicator::Priced,
            unknown_items: None,
        });
    }
    if prices.is_empty() {
        // A role the tariff does not charge: a priced zero, said plainly.
        prices.push(PriceItem {
            price_type: PriceType::Combination,
            basic_price: amount(Decimal::ZERO)?,
            individual_price: Some(amount(Decimal::ZERO)?),
            price_table_identifier: Text::from(p.table.as_str()),
            price_table_revision: p.revision,
            bill_information: Some(format!("no charge for role {}", part.role).into()),
            status_indicator: StatusIndicator::Priced,
            unknown_items: None,
        });
    }
    Ok(ServiceDetailRecord {
        service_header: ServiceHeaderModule {
            module_identifier: ModuleIdentifier::ServiceHeader,
            revision_state: MODULE_REVISION,
            sdr_type: SdrType::Billing,
            session_identifier: Some(f.session_id.clone()),
            sequence_number: Some(number),
            sdr_identifier: participation_id(&f.session_id, &part.participant_id),
            producer_identity: PRODUCER.into(),
            time_of_origin: f.end,
            responsibility_trace: vec![ResponsibilityEntry {
                system_identity: PRODUCER.into(),
                timestamp: pricing_time,
                unknown_items: None,
            }],
            action_indicator: ActionIndicator::PriceAndForward,
            customer_identity: Some(p.customer.clone()),
            marketing_company: Some(p.marketing_company.clone()),
            unknown_items: None,
        },
        network_service_modules: None,
        service_usage_modules: vec![ServiceUsageModule {
            module_identifier: ModuleIdentifier::ServiceUsage,
            revision_state: MODULE_REVISION,
            service_feature_code: f.service.clone(),
            revision_state_of_service: MODULE_REVISION,
            user_identifier: Some(part.user_name.clone()),
            provider_identifier: f.provider.clone().unwrap_or_default(),
            marketing_company: p.marketing_company.clone(),
            charged_participant: Some(part.billed_party.clone()),
            dialled_number: String::new().into(),
            access_form: None,
            customer_price: None,
            market_price: None,
            nsm_sum_correlator: None,
            sum_spm_correlator: Some(1),
            service_specific: ServiceSpecificPart::Known(ServicePart::ParticipationSummary(
                ParticipationSummary {
                    session_id: f.session_id.clone(),
                    service: f.service.clone(),
                    participant_id: part.participant_id.clone(),
                    role: part.role.clone(),
                    billed_party: part.billed_party.clone(),
                    first_join: part.first_join,
                    last_leave: part.last_leave,
                    active_seconds: part.active_seconds(),
                    events_counted: part.events_counted,
                    unknown_items: None,
                },
            )),
            unknown_items: None,
        }],
        service_pricing_modules: Some(vec![ServicePricingModule {
            module_identifier: ModuleIdentifier::ServicePricing,
            revision_state: MODULE_REVISION,
            sum_spm_correlator: Some(1),
            service_pricing_identifier: Some(Text::from(pricing_identifier)),
            time_of_pricing: pricing_time,
            currency: p.currency.clone(),
            vat_level: amount(p.vat_percent)?,
            prices,
            unknown_items: None,
        }]),
        unknown_items: None,
    })
}

/// The participation's row in the billing report: text fields borrowed,
/// numbers and times written into `scratch` (cleared first), since every
/// participation writes one and a string per field cost more than the row.
pub fn participation_row<'a>(
    s: &'a PricedSession,
    p: &'a PricedParticipation,
    scratch: &'a mut String,
) -> [&'a str; 17] {
    let part = &p.part;
    scratch.clear();
    // Where each written field ends, in the order they are written.
    let mut ends = [0usize; 9];
    let mut n = 0;
    let mut cut = |scratch: &String| {
        ends[n] = scratch.len();
        n += 1;
    };
    part.first_join.push_rfc3339(scratch);
    cut(scratch);
    part.last_leave.push_rfc3339(scratch);
    cut(scratch);
    scratch.push_str(itoa::Buffer::new().format(part.active_seconds()));
    cut(scratch);
    scratch.push_str(itoa::Buffer::new().format(part.events_counted));
    cut(scratch);
    push_decimal(scratch, p.basic);
    cut(scratch);
    push_decimal(scratch, p.individual);
    cut(scratch);
    push_decimal(scratch, p.vat_percent);
    cut(scratch);
    scratch.push_str(itoa::Buffer::new().format(p.revision));
    cut(scratch);
    for (i, l) in p.lines.iter().enumerate() {
        if i > 0 {
            scratch.push(';');
        }
        scratch.push_str(&l.item);
        scratch.push('=');
        push_decimal(scratch, l.individual);
    }
    cut(scratch);
    let text: &'a str = scratch;
    let field = |i: usize| &text[if i == 0 { 0 } else { ends[i - 1] }..ends[i]];
    [
        &s.facts.session_id,
        &s.facts.service,
        &part.participant_id,
        &part.role,
        &part.billed_party,
        &p.marketing_company,
        field(0),
        field(1),
        field(2),
        field(3),
        &p.currency,
        field(4),
        field(5),
        field(6),
        &p.table,
        field(7),
        field(8),
    ]
}

/// The session's rows in the cost report, text fields borrowed.
pub fn cost_rows(s: &PricedSession) -> impl Iterator<Item = [Cow<'_, str>; 8]> {
    s.costs.iter().map(|c| {
        [
            Cow::Borrowed(s.facts.session_id.as_str()),
            Cow::Borrowed(s.facts.service.as_str()),
            Cow::Borrowed(c.provider.as_str()),
            Cow::Borrowed(c.table.as_str()),
            Cow::Owned(itoa::Buffer::new().format(c.revision).to_owned()),
            Cow::Borrowed(c.item.as_str()),
            Cow::Borrowed(c.currency.as_str()),
            Cow::Owned(decimal_text(c.amount)),
        ]
    })
}
