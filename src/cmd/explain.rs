//! `sdrate explain`: how the price of one SDR, or of one multi-party
//! session, was made, for an operator answering a customer's question.
//!
//! Nothing here computes a price: the record is rated by
//! [`Rater::explain_sdr`] and the session by
//! [`sdrate::price::session::price_session_traced`], the code `rate` runs,
//! which record their steps into a [`Trace`]. This module finds what to
//! explain, compares a stored price with the new one, and prints.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::cli::ExplainArgs;
use crate::exit::{self, Failure};
use sdrate::pipeline::gather::{Found, SessionFound, gather_session, record_at, records_with_id};
use sdrate::price::Quantity;
use sdrate::price::session::{CostLine, PricedSession, price_session_traced};
use sdrate::price::trace::{Step, Trace, render_text};
use sdrate::rate::{Outcome, Rater};
use sdrate::read;
use sdrate::reprice::{Old, old_pricing};
use sdrate::sdr::{
    ServiceDetailRecord, ServicePart, ServicePricingModule, ServiceSpecificPart, Timestamp,
};

/// One price item of a pricing module, stored or recomputed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriceView {
    /// 1-based position of the pricing module.
    pub module: usize,
    pub item: String,
    pub price_type: String,
    pub basic: String,
    pub individual: Option<String>,
    pub table: String,
    pub revision: u16,
    pub status: String,
    pub currency: String,
    pub vat_percent: String,
}

fn price_views(spms: &[ServicePricingModule]) -> Vec<PriceView> {
    let amount = |a: &sdrate::sdr::Amount| {
        a.to_decimal()
            .map(|d| d.to_string())
            .unwrap_or_else(|e| format!("unreadable: {e}"))
    };
    spms.iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s.prices.iter().map(move |p| PriceView {
                module: i + 1,
                item: p.bill_information.clone().unwrap_or_default().to_string(),
                price_type: p.price_type.to_string(),
                basic: amount(&p.basic_price),
                individual: p.individual_price.as_ref().map(amount),
                table: p.price_table_identifier.to_string(),
                revision: p.price_table_revision,
                status: p.status_indicator.to_string(),
                currency: s.currency.to_string(),
                vat_percent: amount(&s.vat_level),
            })
        })
        .collect()
}

/// The price an SDR already carried, against the one computed now.
#[derive(Debug, Serialize)]
pub struct Stored {
    pub prices: Vec<PriceView>,
    /// Every stored price item equals the recomputed one (amounts, table,
    /// revision, currency, VAT); the time of pricing is not compared.
    pub same: bool,
    /// The stored individual price in all, as `rerate` reads it.
    pub individual: Option<Decimal>,
    pub currency: Option<String>,
    /// What differs, in words.
    pub differences: Vec<String>,
}

fn compare_stored(sdr: &ServiceDetailRecord, new: &[ServicePricingModule]) -> Option<Stored> {
    let stored = sdr.service_pricing_modules.as_deref()?;
    if stored.is_empty() {
        return None;
    }
    let old = old_pricing(sdr);
    let (prices, now) = (price_views(stored), price_views(new));
    let mut differences = Vec::new();
    if prices.len() != now.len() {
        differences.push(format!(
            "{} price items stored, {} now",
            prices.len(),
            now.len()
        ));
    }
    for (a, b) in prices.iter().zip(&now) {
        let mut what = Vec::new();
        let mut field = |name: &str, x: String, y: String| {
            if x != y {
                what.push(format!("{name} {x} -> {y}"));
            }
        };
        field("basic", a.basic.clone(), b.basic.clone());
        field(
            "individual",
            a.individual.clone().unwrap_or_default(),
            b.individual.clone().unwrap_or_default(),
        );
        field(
            "table",
            format!("{} r{}", a.table, a.revision),
            format!("{} r{}", b.table, b.revision),
        );
        field("currency", a.currency.clone(), b.currency.clone());
        field("VAT", a.vat_percent.clone(), b.vat_percent.clone());
        field("status", a.status.clone(), b.status.clone());
        if !what.is_empty() {
            differences.push(format!(
                "module {} {}: {}",
                a.module,
                a.item,
                what.join(", ")
            ));
        }
    }
    if let Old::NotUsable(why) = &old {
        differences.push(why.clone());
    }
    Some(Stored {
        same: differences.is_empty(),
        individual: old.side().map(|s| s.individual),
        currency: old.side().map(|s| s.currency.clone()),
        prices,
        differences,
    })
}

#[derive(Debug, Serialize)]
pub struct TotalsView {
    pub currency: String,
    pub marketing_company: String,
    pub basic: Decimal,
    pub individual: Decimal,
}

/// The explanation of one SDR.
#[derive(Debug, Serialize)]
pub struct RecordExplanation {
    pub file: String,
    pub offset: u64,
    pub length: usize,
    pub sdr_identifier: u32,
    pub producer: String,
    pub sdr_type: String,
    pub action_indicator: String,
    pub customer_identity: Option<String>,
    pub marketing_company: Option<String>,
    pub time_of_origin: DateTime<FixedOffset>,
    /// `priced`, `answered`, `notPriced`, `sessionEvent` or `fault`.
    pub outcome: String,
    pub status: Option<String>,
    pub detail: Option<String>,
    pub totals: Option<TotalsView>,
    /// The pricing modules `rate` would write now.
    pub prices: Vec<PriceView>,
    /// When the SDR already carried pricing modules.
    pub stored: Option<Stored>,
    pub steps: Vec<Step>,
}

impl RecordExplanation {
    fn faulty(&self) -> bool {
        self.outcome == "fault"
    }
}

/// Explains one decoded SDR found at `offset` of `file`.
pub fn explain_record(
    rater: &Rater,
    file: &str,
    offset: u64,
    length: usize,
    sdr: &ServiceDetailRecord,
) -> RecordExplanation {
    let (outcome, trace) = rater.explain_sdr(sdr);
    let h = &sdr.service_header;
    let mut e = RecordExplanation {
        file: file.to_owned(),
        offset,
        length,
        sdr_identifier: h.sdr_identifier,
        producer: h.producer_identity.to_string(),
        sdr_type: h.sdr_type.to_string(),
        action_indicator: h.action_indicator.to_string(),
        customer_identity: h.customer_identity.as_deref().map(str::to_owned),
        marketing_company: h.marketing_company.as_deref().map(str::to_owned),
        time_of_origin: h.time_of_origin.0,
        outcome: String::new(),
        status: None,
        detail: None,
        totals: None,
        prices: Vec::new(),
        stored: None,
        steps: trace.steps,
    };
    let priced =
        |e: &mut RecordExplanation, spms: &[ServicePricingModule], t: sdrate::rate::Totals| {
            e.prices = price_views(spms);
            e.stored = compare_stored(sdr, spms);
            e.totals = Some(TotalsView {
                currency: t.currency.to_string(),
                marketing_company: t.marketing_company.to_string(),
                basic: t.basic,
                individual: t.individual,
            });
        };
    match outcome {
        Outcome::Priced(spms, t) => {
            e.outcome = "priced".into();
            priced(&mut e, &spms, t);
        }
        Outcome::Answered(spms, t) => {
            e.outcome = "answered".into();
            e.detail = Some("a price request: the price is answered to the producer".into());
            priced(&mut e, &spms, t);
        }
        Outcome::NotPriced => {
            e.outcome = "notPriced".into();
            e.detail = Some(if Rater::is_quality_assurance(sdr) {
                "a quality-assurance SDR: never billed; `rate` prices it as if billed for quality-assurance.csv only".into()
            } else {
                "a service-management SDR: passed on unpriced".into()
            });
        }
        Outcome::SessionEvent => {
            e.outcome = "sessionEvent".into();
            let session =
                sdr.service_usage_modules
                    .iter()
                    .find_map(|s| match &s.service_specific {
                        ServiceSpecificPart::Known(ServicePart::SessionEvent(ev)) => {
                            Some(ev.session_id.clone())
                        }
                        ServiceSpecificPart::Known(ServicePart::ParticipationSummary(p)) => {
                            Some(p.session_id.clone())
                        }
                        _ => None,
                    });
            e.detail = Some(format!(
                "part of multi-party session {}: priced per session, not per SDR; explain it with `sdrate explain EVENTS... --session {}`",
                session.as_deref().unwrap_or("?"),
                session.as_deref().unwrap_or("ID")
            ));
        }
        Outcome::Fault(f) => {
            e.outcome = "fault".into();
            e.status = Some(f.status.to_string());
            e.detail = Some(f.detail);
            e.prices = price_views(&f.spms);
            e.stored = compare_stored(sdr, &f.spms);
        }
    }
    e
}

fn money(d: &str, currency: &str) -> String {
    format!("{d} {currency}").trim().to_owned()
}

fn record_text(e: &RecordExplanation) -> String {
    let mut w = format!(
        "SDR {} of producer {}: {} offset {} ({} bytes)\n  {} SDR, {}, customer {}, marketing company {}, time of origin {}\n",
        e.sdr_identifier,
        e.producer,
        e.file,
        e.offset,
        e.length,
        e.sdr_type,
        e.action_indicator,
        e.customer_identity.as_deref().unwrap_or("-"),
        e.marketing_company.as_deref().unwrap_or("-"),
        e.time_of_origin.to_rfc3339()
    );
    w.push_str(&render_text(&Trace {
        steps: e.steps.clone(),
    }));
    w.push('\n');
    match (&e.totals, e.outcome.as_str()) {
        (Some(t), o) => w.push_str(&format!(
            "Outcome: {o}: basic price {}, individual price {} (marketing company {})\n",
            money(&t.basic.to_string(), &t.currency),
            money(&t.individual.to_string(), &t.currency),
            t.marketing_company
        )),
        (None, o) => w.push_str(&format!(
            "Outcome: {o}{}: {}\n",
            e.status
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default(),
            e.detail.as_deref().unwrap_or("")
        )),
    }
    if let Some(s) = &e.stored {
        let stored_total = match (&s.individual, &s.currency) {
            (Some(i), Some(c)) => {
                format!(" (stored individual price {})", money(&i.to_string(), c))
            }
            _ => String::new(),
        };
        if s.same {
            w.push_str(&format!(
                "Stored price: equals the price computed now{stored_total}\n"
            ));
        } else {
            w.push_str(&format!(
                "Stored price: DIFFERS from the price computed now{stored_total}\n"
            ));
            for d in &s.differences {
                w.push_str(&format!("  {d}\n"));
            }
        }
    }
    w
}

fn print(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .context("cannot write to standard output")
}

fn json_line<T: Serialize>(out: &mut dyn Write, v: &T) -> Result<()> {
    serde_json::to_writer(&mut *out, v).context("cannot write to standard output")?;
    print(out, "\n")
}

pub fn run(args: &ExplainArgs) -> Result<ExitCode> {
    let as_of = args
        .as_of
        .as_deref()
        .map(|t| super::parse_time("--as-of", t))
        .transpose()?;
    if args.offset.is_some() && args.inputs.len() != 1 {
        return Err(Failure::Refused(format!(
            "--offset needs exactly one SDR file, {} inputs given",
            args.inputs.len()
        ))
        .into());
    }
    // What of a directory named is not read is said, as `rate` says it.
    for w in read::list_inputs(&args.inputs)?.warnings() {
        tracing::warn!("{w}");
    }
    let (lists, customers) =
        sdrate::resolve::load(&args.tariff.price_lists, &args.tariff.customers)?;
    let rater = Rater {
        lists,
        customers,
        // Written into pricing modules only; never compared.
        pricing_time: Timestamp::for_pricing(None),
        pricing_identifier: format!("sdrate {}", env!("CARGO_PKG_VERSION")).into(),
        as_of: as_of.map(Timestamp),
    };
    let mut out = super::output(None)?;
    if let Some(id) = &args.session {
        let code = explain_session(&rater, args, id, &mut out)?;
        out.flush().context("cannot write to standard output")?;
        return Ok(code);
    }
    let records: Vec<(Found, Option<ServiceDetailRecord>)> = match (args.offset, args.sdr_id) {
        (Some(offset), _) => {
            let f = record_at(&args.inputs[0], offset)?;
            match read::decode(&f.bytes) {
                Ok(sdr) => vec![(f, Some(sdr))],
                Err(e) => {
                    tracing::warn!(
                        "{}: offset {}: record of {} bytes cannot be decoded: {e}",
                        f.file,
                        f.offset,
                        f.bytes.len()
                    );
                    return Ok(ExitCode::from(exit::FAULTS));
                }
            }
        }
        (None, Some(id)) => {
            let (found, read_count, undecodable) =
                records_with_id(&args.inputs, id, args.producer.as_deref())?;
            if found.is_empty() {
                let producer = args
                    .producer
                    .as_deref()
                    .map(|p| format!(" of producer {p}"))
                    .unwrap_or_default();
                let skipped = if undecodable > 0 {
                    format!(", {undecodable} of them could not be decoded")
                } else {
                    String::new()
                };
                return Err(Failure::Refused(format!(
                    "no SDR with identifier {id}{producer} in {} ({read_count} records read{skipped})",
                    args.inputs
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .into());
            }
            if found.len() > 1 && args.producer.is_none() {
                let which: Vec<String> = found
                    .iter()
                    .map(|(f, s)| {
                        format!(
                            "producer {} at {} offset {}",
                            s.service_header.producer_identity, f.file, f.offset
                        )
                    })
                    .collect();
                tracing::warn!(
                    "{} SDRs have identifier {id} ({}); each is explained, give --producer to choose one",
                    found.len(),
                    which.join("; ")
                );
            }
            found.into_iter().map(|(f, s)| (f, Some(s))).collect()
        }
        (None, None) => unreachable!("clap requires --offset, --sdr-id or --session"),
    };
    let mut faulty = false;
    for (i, (f, sdr)) in records.iter().enumerate() {
        let Some(sdr) = sdr else { continue };
        let e = explain_record(&rater, &f.file, f.offset, f.bytes.len(), sdr);
        faulty |= e.faulty();
        if args.json {
            json_line(&mut out, &e)?;
        } else {
            if i > 0 {
                print(&mut out, "\n")?;
            }
            print(&mut out, &record_text(&e))?;
        }
    }
    out.flush().context("cannot write to standard output")?;
    Ok(exit::completed(u64::from(faulty)))
}

/// One rule line of a participation.
#[derive(Debug, Serialize)]
pub struct LineView {
    pub item: String,
    pub measure: String,
    pub quantity: u64,
    pub unit: String,
    pub basic: Decimal,
    pub individual: Decimal,
}

#[derive(Debug, Serialize)]
pub struct ParticipationView {
    pub participant_id: String,
    pub role: String,
    pub customer: String,
    pub marketing_company: String,
    pub active_seconds: u64,
    pub currency: String,
    pub vat_percent: Decimal,
    pub table: String,
    pub revision: u16,
    pub basic: Decimal,
    pub individual: Decimal,
    pub lines: Vec<LineView>,
}

/// The explanation of one session.
#[derive(Debug, Serialize)]
pub struct SessionExplanation {
    pub session_id: String,
    pub events: usize,
    pub duplicate_events: u64,
    /// `priced` or `fault`.
    pub outcome: String,
    pub status: Option<String>,
    pub detail: Option<String>,
    pub participations: Vec<ParticipationView>,
    pub costs: Vec<CostLine>,
    pub steps: Vec<Step>,
}

fn quantity(q: Quantity) -> (u64, &'static str) {
    match q {
        Quantity::Events(n) => (n, "events"),
        Quantity::Units(n) => (n, "units"),
        Quantity::Seconds(n) => (n, "seconds"),
    }
}

fn session_views(p: &PricedSession) -> (Vec<ParticipationView>, Vec<CostLine>) {
    let parts = p
        .participations
        .iter()
        .map(|pp| ParticipationView {
            participant_id: pp.part.participant_id.to_string(),
            role: pp.part.role.to_string(),
            customer: pp.customer.to_string(),
            marketing_company: pp.marketing_company.to_string(),
            active_seconds: pp.part.active_seconds(),
            currency: pp.currency.to_string(),
            vat_percent: pp.vat_percent,
            table: pp.table.clone(),
            revision: pp.revision,
            basic: pp.basic,
            individual: pp.individual,
            lines: pp
                .lines
                .iter()
                .map(|l| {
                    let (n, unit) = quantity(l.quantity);
                    LineView {
                        item: l.item.clone(),
                        measure: sdrate::price::trace::measure_name(l.measure).into(),
                        quantity: n,
                        unit: unit.into(),
                        basic: l.basic,
                        individual: l.individual,
                    }
                })
                .collect(),
        })
        .collect();
    (parts, p.costs.clone())
}

/// Gathers the session's events from every input as `rate` groups them
/// ([`sdrate::pipeline::gather`]), prices the session and explains it.
fn explain_session(
    rater: &Rater,
    args: &ExplainArgs,
    id: &str,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let gathered = gather_session(rater, &args.inputs, id, read::MAX_RECORD_BYTES)?;
    for why in &gathered.left_out {
        tracing::warn!("{why}");
    }
    let (events, duplicates) = (gathered.events, gathered.duplicates);
    if events == 0 {
        return Err(Failure::Refused(format!(
            "session {id} not found: no event of it in {}",
            args.inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    let session = match gathered.found {
        SessionFound::Complete(s) => s,
        SessionFound::Expired(why) => {
            tracing::warn!(
                "session {id} is not priced: {why}; `rate` faults it (sessionIncomplete)"
            );
            return Ok(ExitCode::from(exit::FAULTS));
        }
        SessionFound::Incomplete => {
            tracing::warn!(
                "session {id} is not complete in these inputs ({events} events: no end, or a gap in its sequence numbers); `rate` keeps it pending until the rest arrives"
            );
            return Ok(ExitCode::from(exit::FAULTS));
        }
    };
    let mut trace = Trace::default();
    let result = price_session_traced(
        &rater.lists,
        &rater.customers,
        &session,
        rater.as_of.as_ref(),
        Some(&mut trace),
    );
    let mut e = SessionExplanation {
        session_id: id.to_owned(),
        events: session.events.len(),
        duplicate_events: duplicates,
        outcome: String::new(),
        status: None,
        detail: None,
        participations: Vec::new(),
        costs: Vec::new(),
        steps: Vec::new(),
    };
    match &result {
        Ok(p) => {
            e.outcome = "priced".into();
            (e.participations, e.costs) = session_views(p);
        }
        Err(f) => {
            e.outcome = "fault".into();
            e.status = Some(f.status.to_string());
            e.detail = Some(f.detail.clone());
        }
    }
    e.steps = trace.steps;
    if args.json {
        json_line(out, &e)?;
    } else {
        print(out, &session_text(&e))?;
    }
    Ok(exit::completed(u64::from(result.is_err())))
}

fn session_text(e: &SessionExplanation) -> String {
    let mut w = render_text(&Trace {
        steps: e.steps.clone(),
    });
    w.push('\n');
    match e.outcome.as_str() {
        "priced" => {
            w.push_str(&format!(
                "Outcome: priced, {} participations from {} events",
                e.participations.len(),
                e.events
            ));
            if e.duplicate_events > 0 {
                w.push_str(&format!(
                    " ({} duplicate events dropped)",
                    e.duplicate_events
                ));
            }
            w.push('\n');
            for p in &e.participations {
                let lines: Vec<String> = p
                    .lines
                    .iter()
                    .map(|l| format!("{} {}", l.item, l.individual))
                    .collect();
                w.push_str(&format!(
                    "  {:<8} {:<12} {:<8} individual {:>10}  basic {:>10}  ({})\n",
                    p.participant_id,
                    p.role,
                    p.customer,
                    money(&p.individual.to_string(), &p.currency),
                    money(&p.basic.to_string(), &p.currency),
                    lines.join(", ")
                ));
            }
        }
        _ => w.push_str(&format!(
            "Outcome: fault ({}): {}\n",
            e.status.as_deref().unwrap_or(""),
            e.detail.as_deref().unwrap_or("")
        )),
    }
    w
}
