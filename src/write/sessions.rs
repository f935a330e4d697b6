//! Writing priced sessions: one priced SDR per participation (the seed's
//! billing record for each participant), so invoicing reads the same format
//! as for single SDRs, plus CSV reports of participations and costs.

use std::borrow::Cow;
use std::fmt::Write as _;

use anyhow::Result;
use rust_decimal::Decimal;
use smallvec::SmallVec;

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

/// Appends a line's bill information: its item (or the components it
/// sums) and what it counted.
fn push_bill_information(text: &mut String, l: &crate::price::session::Line) {
    match &l.components {
        None => {
            text.push_str(&l.item);
            text.push_str(": ");
        }
        Some(c) => {
            let _ = write!(text, "{c} (");
        }
    }
    describe(text, l.quantity, l.measure);
    if l.components.is_some() {
        text.push(')');
    }
}

/// One price item of a participation's SDR: price type, basic and
/// individual price, and where its bill information ends in the text
/// [`price_items`] wrote.
type Item = (PriceType, Decimal, Decimal, usize);

/// A participation's price items as its SDR lists them, their bill
/// information appended to `text` one after the other. A role the tariff
/// does not charge gets one priced zero, said plainly.
fn price_items(p: &PricedParticipation, text: &mut String) -> SmallVec<[Item; 4]> {
    let mut items = SmallVec::new();
    for l in &p.lines {
        let price_type = match l.measure {
            Measure::ActiveTime | Measure::SharedTime => PriceType::PerTimeSlice,
            _ => PriceType::PerFunction,
        };
        push_bill_information(text, l);
        items.push((price_type, l.basic, l.individual, text.len()));
    }
    if items.is_empty() {
        let _ = write!(text, "no charge for role {}", p.part.role);
        items.push((
            PriceType::Combination,
            Decimal::ZERO,
            Decimal::ZERO,
            text.len(),
        ));
    }
    items
}

fn amount(d: Decimal) -> Result<Amount> {
    Amount::from_decimal(d).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The times every participation SDR of one session shares: the time of
/// pricing, and as BER text made once, the session's end (time of origin)
/// and the time of pricing.
pub struct SessionTimes {
    pricing_time: Timestamp,
    time_of_origin: String,
    time_of_pricing: String,
}

impl SessionTimes {
    pub fn new(s: &PricedSession, pricing_time: Timestamp) -> Self {
        SessionTimes {
            pricing_time,
            time_of_origin: s.facts.end.ber_text(),
            time_of_pricing: pricing_time.ber_text(),
        }
    }
}

/// The BER bytes of [`participation_sdr`], written straight from the
/// priced participation ([`crate::sdr::canonical::ParticipationSdr`]);
/// `scratch` holds the bill information meanwhile. What the direct writer
/// refuses (a count past `i64::MAX`) goes the owned record's way, and so
/// does an amount past 64-bit units, which that way refuses with its own
/// error.
pub fn encode_participation(
    s: &PricedSession,
    p: &PricedParticipation,
    number: u32,
    times: &SessionTimes,
    pricing_identifier: &str,
    scratch: &mut String,
) -> Result<Vec<u8>> {
    use crate::sdr::canonical::{ParticipationSdr, PriceLine};
    let owned = || {
        participation_sdr(s, p, number, times.pricing_time, pricing_identifier).and_then(|sdr| {
            crate::sdr::canonical::to_ber(&sdr).map_err(|e| anyhow::anyhow!("cannot encode: {e}"))
        })
    };
    let f = &s.facts;
    let part = &p.part;
    scratch.clear();
    let items = price_items(p, scratch);
    let mut prices: SmallVec<[PriceLine<'_>; 4]> = SmallVec::new();
    let mut start = 0;
    for (price_type, basic, individual, end) in items {
        let (Ok(basic_price), Ok(individual_price)) = (
            Amount::from_decimal(basic),
            Amount::from_decimal(individual),
        ) else {
            return owned();
        };
        prices.push(PriceLine {
            price_type,
            basic_price,
            individual_price,
            bill_information: &scratch[start..end],
        });
        start = end;
    }
    let Ok(vat_level) = Amount::from_decimal(p.vat_percent) else {
        return owned();
    };
    let record = ParticipationSdr {
        session_id: &f.session_id,
        sequence_number: number,
        sdr_identifier: participation_id(&f.session_id, &part.participant_id),
        producer: PRODUCER,
        time_of_origin: &times.time_of_origin,
        time_of_pricing: &times.time_of_pricing,
        customer: &p.customer,
        marketing_company: &p.marketing_company,
        service: &f.service,
        user_name: &part.user_name,
        provider: f.provider.as_deref().unwrap_or_default(),
        billed_party: &part.billed_party,
        participant_id: &part.participant_id,
        role: &part.role,
        first_join: part.first_join,
        last_leave: part.last_leave,
        active_seconds: part.active_seconds(),
        events_counted: part.events_counted,
        pricing_identifier,
        currency: &p.currency,
        vat_level,
        price_table: &p.table,
        price_table_revision: p.revision,
        prices: &prices,
    };
    let mut out = Vec::with_capacity(512);
    if record.encode(&mut out) {
        Ok(out)
    } else {
        owned()
    }
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
    let mut text = String::new();
    let items = price_items(p, &mut text);
    let mut prices = Vec::with_capacity(items.len());
    let mut start = 0;
    for (price_type, basic, individual, end) in items {
        prices.push(PriceItem {
            price_type,
            basic_price: amount(basic)?,
            individual_price: Some(amount(individual)?),
            price_table_identifier: Text::from(p.table.as_str()),
            price_table_revision: p.revision,
            bill_information: Some(Text::from(&text[start..end])),
            status_indicator: StatusIndicator::Priced,
            unknown_items: None,
        });
        start = end;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::assemble::{Session, sort_events};
    use crate::group::{Event, Origin, Position, Raw};
    use crate::price::session::price_session_as_of;
    use crate::rate::Rater;
    use crate::sdr::canonical::to_ber;

    fn rater() -> Rater {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("price_lists");
        let (lists, customers) = crate::resolve::load(&dir, &dir.join("customers.csv")).unwrap();
        Rater {
            lists,
            customers,
            pricing_time: Timestamp(
                chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00.250+01:00").unwrap(),
            ),
            pricing_identifier: "sdrate test".into(),
            as_of: None,
        }
    }

    /// The sessions of the first `count` generated session events (the
    /// last ones cut short), each in its order.
    fn sessions(count: usize) -> Vec<Session> {
        let start =
            Timestamp(chrono::DateTime::parse_from_rfc3339("2026-11-21T00:00:00+01:00").unwrap());
        let mut by_id: Vec<Session> = Vec::new();
        for mut sdr in crate::generate::Generator::new(7, start)
            .sessions(30)
            .take(count)
        {
            let sequence = sdr.service_header.sequence_number;
            for sum in &mut sdr.service_usage_modules {
                let ServiceSpecificPart::Known(ServicePart::SessionEvent(e)) =
                    &mut sum.service_specific
                else {
                    continue;
                };
                let provider = Some(sum.provider_identifier.clone()).filter(|p| !p.is_empty());
                let origin = Origin {
                    file: "generated".into(),
                    position: Position::Offset(0),
                    raw: Raw::Sdr(Vec::new()),
                };
                let e =
                    Event::from_sdr(e, sequence, provider, sum.marketing_company.clone(), origin);
                match by_id.iter_mut().find(|s| s.id == e.session_id) {
                    Some(s) => s.events.push(e),
                    None => by_id.push(Session {
                        id: e.session_id.clone(),
                        events: vec![e],
                    }),
                }
            }
        }
        for s in &mut by_id {
            sort_events(&mut s.events);
        }
        by_id
    }

    /// The direct writer's bytes against the owned record's (`to_ber`,
    /// itself compared with rasn), participation by participation.
    fn assert_same_bytes(rater: &Rater, priced: &PricedSession) {
        let times = SessionTimes::new(priced, rater.pricing_time);
        let mut scratch = String::new();
        for (i, p) in priced.participations.iter().enumerate() {
            let number = i as u32 + 1;
            let owned = participation_sdr(
                priced,
                p,
                number,
                rater.pricing_time,
                &rater.pricing_identifier,
            );
            let direct = encode_participation(
                priced,
                p,
                number,
                &times,
                &rater.pricing_identifier,
                &mut scratch,
            );
            let (owned, direct) = match (owned, direct) {
                (Ok(owned), Ok(direct)) => (owned, direct),
                // Refused alike, for the same reason.
                (Err(o), Err(d)) => {
                    assert_eq!(format!("{o:#}"), format!("{d:#}"));
                    continue;
                }
                (o, d) => panic!("owned {o:?}, direct {d:?}"),
            };
            assert_eq!(direct, to_ber(&owned).unwrap(), "{}", p.part.participant_id);
            let back: ServiceDetailRecord = rasn::ber::decode(&direct).unwrap();
            assert_eq!(back, owned);
        }
    }

    #[test]
    fn participation_sdrs_written_directly_are_the_owned_records_bytes() {
        let rater = rater();
        let mut participations = 0;
        for s in sessions(3_000) {
            let Ok(priced) = price_session_as_of(&rater.lists, &rater.customers, &s, None) else {
                continue;
            };
            participations += priced.participations.len();
            assert_same_bytes(&rater, &priced);
        }
        // Enough sessions priced to mean something (3,000 events, ~10 a
        // session, ~3 participants each).
        assert!(participations > 300, "{participations}");
    }

    #[test]
    fn participation_sdrs_at_the_edges_are_the_owned_records_bytes() {
        let rater = rater();
        let priced = sessions(400)
            .iter()
            .find_map(|s| price_session_as_of(&rater.lists, &rater.customers, s, None).ok())
            .expect("a priced session");
        // Long, non-ASCII text: lengths in two octets, in every element.
        let mut long = priced.clone();
        let word: Text = "Zoë Ångström ".repeat(30).into();
        long.facts.session_id = word.clone();
        long.facts.provider = Some(word.clone());
        for p in &mut long.participations {
            p.part.role = word.clone();
            p.part.user_name = word.clone();
            p.table = word.to_string();
            for l in &mut p.lines {
                l.item = word.to_string();
            }
        }
        assert_same_bytes(&rater, &long);
        // No price lines: the priced zero for the role, and no provider.
        let mut free = priced.clone();
        free.facts.provider = None;
        for p in &mut free.participations {
            p.lines.clear();
        }
        assert_same_bytes(&rater, &free);
        // Components, and prices of many decimal places.
        let mut fine = priced.clone();
        for p in &mut fine.participations {
            p.vat_percent = "19.00000000000001".parse().unwrap();
            for l in &mut p.lines {
                l.components = Some("a + b".into());
                l.individual = "-0.0000000000000000000000000001".parse().unwrap();
            }
        }
        assert_same_bytes(&rater, &fine);
        // Amounts past 64-bit units: refused with the owned record's error.
        let mut wide = priced.clone();
        for p in &mut wide.participations {
            p.vat_percent = "19.0000000000000000000000000001".parse().unwrap();
        }
        assert_same_bytes(&rater, &wide);
        // A count past i64::MAX: the owned record's way (rasn writes the
        // nine octets), the same bytes.
        let mut huge = priced;
        for p in &mut huge.participations {
            p.part.events_counted = u64::MAX;
        }
        assert_same_bytes(&rater, &huge);
    }
}
