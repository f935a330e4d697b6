//! How a price was made, step by step, for `sdrate explain`.
//!
//! The steps are recorded by the pricing code itself ([`crate::rate`],
//! [`crate::price`], [`crate::price::session`]) when it is handed a
//! [`Trace`], so an explanation cannot drift from the arithmetic that
//! bills. Without a trace nothing is built: every recording goes through
//! [`record`], which only runs its closure when tracing.
//!
//! The trace is a flat list in the order pricing did things; a
//! [`Step::Charge`] opens the arithmetic of one side (basic or individual
//! price) of one item, and the steps after it belong to that side until the
//! next `Charge` or [`Step::Price`]. New pricing stages add their own
//! variants; [`Step::Note`] carries anything else.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::resolve::candidates::{Candidates, RevisionStatus, Verdict};
use crate::resolve::price_list::{Charge, PriceList, RoundingMode};

/// The steps of one pricing, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Trace {
    pub steps: Vec<Step>,
}

/// Records the step `f` builds, only when tracing.
#[inline]
pub fn record(trace: &mut Option<&mut Trace>, f: impl FnOnce() -> Step) {
    if let Some(t) = trace {
        t.steps.push(f());
    }
}

/// Which price a charge's arithmetic makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Under the marketing company's base list.
    Basic,
    /// Under the chosen list.
    Individual,
}

impl Side {
    fn title(self) -> &'static str {
        match self {
            Side::Basic => "Basic price",
            Side::Individual => "Individual price",
        }
    }
}

/// One participant's active span in a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    pub seconds: u64,
}

/// One event of a session as the tariff policy saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionEventView {
    pub sequence: Option<u32>,
    pub timestamp: DateTime<FixedOffset>,
    pub event_type: String,
    pub participant_id: String,
    /// Whether the policy's event filter lets it take part in pricing.
    pub admitted: bool,
}

/// A stretch of a session with the same participants active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub start: DateTime<FixedOffset>,
    pub seconds: u64,
    pub active: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// A Service Usage Module of the SDR, before its items are priced.
    UsageModule {
        index: usize,
        service: String,
        service_revision: u16,
        marketing_company: String,
        access_form: Option<String>,
        customer_price: Option<bool>,
        market_price: Option<bool>,
    },
    /// One usage item of the module (a call, a volume, a function).
    UsageItem {
        item: String,
        quantity: u64,
        /// `seconds`, `units` or `events`.
        unit: String,
        /// When the usage happened: rate periods follow it.
        at: DateTime<FixedOffset>,
        /// When the lists are chosen: `at`, or the what-if time.
        lists_at: DateTime<FixedOffset>,
    },
    /// Customer, group, marketing company and every candidate list.
    Resolution(Box<Candidates>),
    /// The base list does not charge the item: it is free.
    NoCharge {
        item: String,
        list: String,
        revision: u16,
    },
    /// The charge whose arithmetic follows, and the list holding it.
    Charge {
        side: Side,
        item: String,
        list: String,
        revision: u16,
        /// The chosen list has no charge of its own for the item; the base
        /// list's applies.
        from_base: bool,
        per: String,
        /// The price as written: `0.60`, `peak 0.69, offpeak 0.39`, a tier
        /// table or an algorithm.
        price: String,
        when: BTreeMap<String, String>,
        access_form: Option<String>,
    },
    /// Usage rounded to increments or unit sizes.
    Quantity {
        per: String,
        used: u64,
        first_increment: Option<u64>,
        next_increment: Option<u64>,
        unit_size: Option<u64>,
        /// The quantity priced, after rounding.
        charged: u64,
        /// One price is for this many (seconds, units, events).
        price_per: u64,
    },
    /// How a tier table prices the charged quantity.
    Tiers {
        mode: String,
        charged: u64,
        /// Volume tiers: the threshold of the tier the total reaches.
        reached: Option<u64>,
    },
    /// A part of the charged quantity at one price: the whole of it for a
    /// flat price, else one per rate period and tier band it falls in.
    Slice {
        period: Option<String>,
        /// Quantity band [from, to) of a tier.
        band: Option<(u64, Option<u64>)>,
        /// Offsets into the charged quantity.
        from: u64,
        to: u64,
        /// Wall-clock start of a duration slice.
        start: Option<DateTime<FixedOffset>>,
        quantity: u64,
        unit_price: Decimal,
        price_per: u64,
        /// unit_price × quantity / price_per, unrounded.
        amount: Decimal,
    },
    /// A declared pricing function.
    Algorithm {
        function: String,
        setup: Decimal,
        rate: Decimal,
        cap: Option<Decimal>,
        free: Option<u64>,
        /// The quantity in price units the rate applies to.
        n: Decimal,
        amount: Decimal,
    },
    Minimum {
        minimum: Decimal,
        before: Decimal,
        applied: bool,
    },
    /// The charge's amount before discount and rounding.
    Unrounded { amount: Decimal },
    Discount {
        list: String,
        revision: u16,
        percent: Decimal,
        before: Decimal,
        after: Decimal,
    },
    Rounding {
        side: Side,
        list: String,
        decimals: u32,
        mode: String,
        before: Decimal,
        after: Decimal,
        currency: String,
    },
    /// One priced item, as written into the pricing module.
    Price {
        item: String,
        price_type: String,
        basic: Decimal,
        individual: Decimal,
        currency: String,
        vat_percent: Decimal,
        list: String,
        revision: u16,
    },
    /// The pricing module of a usage module.
    ModuleTotal {
        index: usize,
        currency: String,
        vat_percent: Decimal,
        basic: Decimal,
        individual: Decimal,
    },
    /// Why pricing stopped.
    Fault { status: String, detail: String },
    /// A complete session, as its events say.
    Session {
        session_id: String,
        service: String,
        provider: Option<String>,
        start: DateTime<FixedOffset>,
        end: DateTime<FixedOffset>,
        starter: Option<String>,
        /// The policy's event filter (None: every type).
        event_filter: Option<Vec<String>>,
        events: Vec<SessionEventView>,
        segments: Vec<Segment>,
    },
    /// One participant's part, before its rules are priced.
    Participation {
        participant_id: String,
        role: String,
        billed_party: String,
        user_name: String,
        marketing_company: String,
        /// `event` (the SDR that carried the event) or `registry`.
        marketing_company_from: String,
        spans: Vec<Span>,
        active_seconds: u64,
        events_counted: u64,
    },
    /// A rule of the participant's role and what it measures.
    Rule {
        participant_id: String,
        item: String,
        measure: String,
        quantity: u64,
        unit: String,
    },
    /// One stretch of a shared rate: its price divided among the sharers
    /// active then.
    SharedSlice {
        start: DateTime<FixedOffset>,
        seconds: u64,
        period: Option<String>,
        unit_price: Decimal,
        price_per: u64,
        sharers_active: u64,
        /// Of those, how many this share is for.
        share_of: u64,
        amount: Decimal,
    },
    /// A shared rate rounded once for the participants priced by the same
    /// charge, then handed out cent by cent.
    Allocation {
        item: String,
        side: Side,
        list: String,
        revision: u16,
        participants: Vec<String>,
        total: Decimal,
        rounded_total: Decimal,
        unrounded_shares: Vec<Decimal>,
        /// Each share at the group's precision, before the participant's
        /// own discount and rounding.
        allocated: Vec<Decimal>,
        shares: Vec<Decimal>,
    },
    /// One rule line of a participation, rounded.
    Line {
        participant_id: String,
        item: String,
        basic: Decimal,
        individual: Decimal,
    },
    ParticipationTotal {
        participant_id: String,
        customer: String,
        currency: String,
        vat_percent: Decimal,
        list: String,
        revision: u16,
        basic: Decimal,
        individual: Decimal,
    },
    /// What the retailer owes a provider for one session item.
    Cost {
        provider: String,
        list: String,
        revision: u16,
        item: String,
        currency: String,
        amount: Decimal,
    },
    /// Pricing components registered for the subscriber, and what the
    /// interaction rule made of them (docs/interactions.md).
    Components {
        profile: String,
        revision: u16,
        owner: String,
        /// As registered in the profile.
        registered: Vec<String>,
        rule: String,
        /// False for the default rule of a set no rule was written for.
        written: bool,
        /// Precedence.
        order: Vec<String>,
        combine: crate::resolve::profile::Combine,
        conflict: crate::resolve::profile::Conflict,
        on_failure: crate::resolve::profile::OnFailure,
        steps: Vec<crate::price::interact::Step>,
        /// The individual amount before rounding; None when it failed.
        amount: Option<Decimal>,
        failure: Option<String>,
    },
    /// Anything else a pricing stage wants to say.
    Note { stage: String, text: String },
}

/// The step that opens a charge's arithmetic.
pub fn charge_step(side: Side, c: &Charge, list: &PriceList, from_base: bool) -> Step {
    Step::Charge {
        side,
        item: c.item.get_ref().clone(),
        list: list.def.id.clone(),
        revision: list.def.revision,
        from_base,
        per: crate::price::per_name(c.per).into(),
        price: crate::price::describe_price(c),
        when: c.when.clone(),
        access_form: c.access_form.clone(),
    }
}

/// The step of rounding one side's amount with `list`'s rule.
pub fn rounding_step(
    side: Side,
    list: &PriceList,
    before: crate::money::Exact,
    after: Decimal,
    currency: String,
) -> Step {
    Step::Rounding {
        side,
        list: format!("{} r{}", list.def.id, list.def.revision),
        decimals: list.def.rounding.decimals,
        mode: rounding_mode(list.def.rounding.mode).into(),
        before: crate::price::shown(before),
        after,
        currency,
    }
}

/// A session rule's measure as the tariff policy writes it.
pub fn measure_name(m: crate::resolve::policy::Measure) -> &'static str {
    use crate::resolve::policy::Measure;
    match m {
        Measure::EntryFee => "entry-fee",
        Measure::ActiveTime => "active-time",
        Measure::SharedTime => "shared-time",
        Measure::Events => "events",
        Measure::Session => "session",
    }
}

/// A rounding mode as price lists write it.
pub fn rounding_mode(m: RoundingMode) -> &'static str {
    match m {
        RoundingMode::HalfAwayFromZero => "half-away-from-zero",
        RoundingMode::HalfEven => "half-even",
        RoundingMode::Up => "up",
        RoundingMode::Down => "down",
    }
}

/// `0.975` as `0.975`, `2.1195000` as `2.1195`: trailing zeros of exact
/// arithmetic say nothing.
pub fn num(d: Decimal) -> String {
    d.normalize().to_string()
}

/// Money with its currency, as written into a pricing module.
fn money(d: Decimal, currency: &str) -> String {
    if currency.is_empty() {
        d.to_string()
    } else {
        format!("{d} {currency}")
    }
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "TRUE",
        Some(false) => "FALSE",
        None => "absent",
    }
}

fn unit_name(per: &str, price_per: u64) -> String {
    match per {
        "duration" => format!("{price_per} s"),
        "unit" if price_per == 1 => "unit".into(),
        "unit" => format!("{price_per} units"),
        _ => "event".into(),
    }
}

fn time(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339()
}

fn revision_status(s: RevisionStatus) -> &'static str {
    match s {
        RevisionStatus::InEffect => "in effect",
        RevisionStatus::Superseded => "superseded by a later revision",
        RevisionStatus::NotYetValid => "not yet valid",
        RevisionStatus::Expired => "expired",
        RevisionStatus::Cancelled => "cancelled",
    }
}

fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Chosen => "CHOSEN: sets the individual price".into(),
        Verdict::BasicPriceOnly => "not chosen; sets the basic price".into(),
        Verdict::Overridden { by } => format!("not chosen: the {} list comes first", by.name()),
        Verdict::NoList => "none exists".into(),
        Verdict::NoGroup => "none: the customer is in no group".into(),
        Verdict::NotValid => "not chosen: no revision valid at the time of use".into(),
        Verdict::Forbidden { flag } => format!("not allowed: {flag} allows the base list only"),
        Verdict::NotReached => "not reached: resolution failed".into(),
    }
}

fn resolution_text(c: &Candidates, w: &mut String, ind: &str) {
    let _ = writeln!(
        w,
        "{ind}Price list resolution for {} at {}",
        c.service,
        time(&c.time_of_use)
    );
    let customer = match (&c.customer_id, c.customer_found, &c.registry_validity) {
        (None, _, _) => "the SDR names no customer".to_owned(),
        (Some(id), false, None) => format!("{id}: NOT in the customer registry"),
        (Some(id), false, Some(valid)) => {
            format!("{id}: in the registry, but NO row of it is valid then ({valid})")
        }
        (Some(id), true, valid) => format!(
            "{id}: in the registry, marketing company {}, group {}{}",
            c.registry_company.as_deref().unwrap_or("-"),
            c.group.as_deref().unwrap_or("none"),
            valid
                .as_ref()
                .map_or_else(String::new, |v| format!(" (row {v})"))
        ),
    };
    let _ = writeln!(w, "{ind}  customer            {customer}");
    let _ = writeln!(
        w,
        "{ind}  marketing company   {} (the usage's; its base and group lists count)",
        c.marketing_company
    );
    let _ = writeln!(
        w,
        "{ind}  flags               customerPrice {}, marketPrice {}",
        yes_no(c.customer_price),
        yes_no(c.market_price)
    );
    match &c.basic {
        Some(b) => {
            let rev = c
                .service_revision
                .map(|r| {
                    format!(
                        "; service revision {r} {}",
                        if c.service_revision_known {
                            "known"
                        } else {
                            "NOT known"
                        }
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                w,
                "{ind}  basic list          {} r{}{rev}",
                b.id, b.revision
            );
        }
        None => {
            let _ = writeln!(w, "{ind}  basic list          none valid");
        }
    }
    for cand in &c.candidates {
        let who = if cand.owner.is_empty() {
            String::new()
        } else {
            format!(" ({})", cand.owner)
        };
        let _ = writeln!(
            w,
            "{ind}  {:<9} list{:<22} {}",
            cand.kind.name(),
            who,
            verdict_text(&cand.verdict)
        );
        for r in &cand.revisions {
            let to = r
                .valid_to
                .map(|t| format!(" to {}", time(&t)))
                .unwrap_or_default();
            let _ = writeln!(
                w,
                "{ind}      {} r{}: valid from {}{to}: {}",
                r.id,
                r.revision,
                time(&r.valid_from),
                revision_status(r.status)
            );
        }
    }
    if let Some(f) = &c.failure {
        let _ = writeln!(w, "{ind}  resolution fails: {f}");
    }
}

/// The trace as an operator's worksheet: aligned, money with currency.
pub fn render_text(trace: &Trace) -> String {
    let mut w = String::new();
    let ind = "  ";
    let mut per = String::new();
    for step in &trace.steps {
        match step {
            Step::UsageModule {
                index,
                service,
                service_revision,
                marketing_company,
                access_form,
                customer_price,
                market_price,
            } => {
                let _ = writeln!(
                    w,
                    "\nUsage module {}: {service} revision {service_revision}, marketing company {marketing_company}, access form {}, customerPrice {}, marketPrice {}",
                    index + 1,
                    access_form.as_deref().unwrap_or("-"),
                    yes_no(*customer_price),
                    yes_no(*market_price)
                );
            }
            Step::UsageItem {
                item,
                quantity,
                unit,
                at,
                lists_at,
            } => {
                let what = if lists_at == at {
                    String::new()
                } else {
                    format!(" (lists chosen as of {})", time(lists_at))
                };
                let _ = writeln!(
                    w,
                    "\n{ind}Item {item}: {quantity} {unit} from {}{what}",
                    time(at)
                );
            }
            Step::Resolution(c) => resolution_text(c, &mut w, ind),
            Step::NoCharge {
                item,
                list,
                revision,
            } => {
                let _ = writeln!(
                    w,
                    "{ind}  base list {list} r{revision} has no charge for {item}: free, not priced"
                );
            }
            Step::Charge {
                side,
                item,
                list,
                revision,
                from_base,
                per: p,
                price,
                when,
                access_form,
            } => {
                per = p.clone();
                let mut cond = Vec::new();
                if let Some(a) = access_form {
                    cond.push(format!("accessForm = {a}"));
                }
                cond.extend(when.iter().map(|(k, v)| format!("{k} = {v}")));
                let cond = if cond.is_empty() {
                    String::new()
                } else {
                    format!(" when {}", cond.join(", "))
                };
                let base = if *from_base {
                    " (the chosen list has no charge of its own: the base list's applies)"
                } else {
                    ""
                };
                let _ = writeln!(
                    w,
                    "{ind}  {}: charge {item}{cond} of {list} r{revision}{base}\n{ind}    per {p}, price {price}",
                    side.title()
                );
            }
            Step::Quantity {
                per: p,
                used,
                first_increment,
                next_increment,
                unit_size,
                charged,
                price_per,
            } => {
                let how = match (p.as_str(), first_increment, next_increment, unit_size) {
                    ("duration", f, n, _) => format!(
                        "first increment {} s, then {} s",
                        f.unwrap_or(1),
                        n.unwrap_or(1)
                    ),
                    ("unit", _, _, s) => format!("whole units of {}", s.unwrap_or(1)),
                    _ => "counted as they are".into(),
                };
                let u = if p == "duration" { " s" } else { "" };
                let _ = writeln!(
                    w,
                    "{ind}    used {used}{u} -> charged {charged}{u} ({how}); priced per {}",
                    unit_name(p, *price_per)
                );
            }
            Step::Tiers {
                mode,
                charged,
                reached,
            } => {
                let r = reached
                    .map(|r| format!(": the total {charged} reaches the tier from {r}"))
                    .unwrap_or_default();
                let _ = writeln!(w, "{ind}    {mode} tiers{r}");
            }
            Step::Slice {
                period,
                band,
                from,
                to,
                start,
                quantity,
                unit_price,
                price_per,
                amount,
            } => {
                let mut label = period.clone().unwrap_or_else(|| "flat".into());
                if let Some((lo, hi)) = band {
                    let hi = hi.map(|h| h.to_string()).unwrap_or_else(|| "".into());
                    label = format!("{label}, tier {lo}-{hi}");
                }
                let at = start
                    .map(|s| format!(" from {}", s.format("%Y-%m-%d %H:%M:%S%:z")))
                    .unwrap_or_default();
                let u = if per == "duration" { " s" } else { "" };
                let _ = writeln!(
                    w,
                    "{ind}    {label:<24} [{from}..{to}){at}: {quantity}{u} x {} / {} = {}",
                    num(*unit_price),
                    unit_name(&per, *price_per),
                    num(*amount)
                );
            }
            Step::Algorithm {
                function,
                setup,
                rate,
                cap,
                free,
                n,
                amount,
            } => {
                let extra = match (cap, free) {
                    (Some(c), _) => format!(", capped at {}", num(*c)),
                    (_, Some(f)) => format!(", {f} free"),
                    _ => String::new(),
                };
                let _ = writeln!(
                    w,
                    "{ind}    {function}: {} + {} x {}{extra} = {}",
                    num(*setup),
                    num(*rate),
                    num(*n),
                    num(*amount)
                );
            }
            Step::Minimum {
                minimum,
                before,
                applied,
            } => {
                let what = if *applied {
                    format!("{} is below it: charged {}", num(*before), num(*minimum))
                } else {
                    format!("{} is not below it", num(*before))
                };
                let _ = writeln!(w, "{ind}    minimum {}: {what}", num(*minimum));
            }
            Step::Unrounded { amount } => {
                let _ = writeln!(w, "{ind}    unrounded {}", num(*amount));
            }
            Step::Discount {
                list,
                revision,
                percent,
                before,
                after,
            } => {
                let _ = writeln!(
                    w,
                    "{ind}    discount {}% of {list} r{revision}: {} -> {}",
                    num(*percent),
                    num(*before),
                    num(*after)
                );
            }
            Step::Rounding {
                side,
                list,
                decimals,
                mode,
                before,
                after,
                currency,
            } => {
                let _ = writeln!(
                    w,
                    "{ind}    {} rounded {mode} to {decimals} decimals ({list}): {} -> {}",
                    side.title().to_lowercase(),
                    num(*before),
                    money(*after, currency)
                );
            }
            Step::Price {
                item,
                price_type,
                basic,
                individual,
                currency,
                vat_percent,
                list,
                revision,
            } => {
                let _ = writeln!(
                    w,
                    "{ind}  = {item} ({price_type}): basic {}, individual {}; table {list} r{revision}; VAT {}%",
                    money(*basic, currency),
                    money(*individual, currency),
                    num(*vat_percent)
                );
            }
            Step::ModuleTotal {
                index,
                currency,
                vat_percent,
                basic,
                individual,
            } => {
                let _ = writeln!(
                    w,
                    "\n  Pricing module {}: basic {}, individual {}, VAT level {}% (not included)",
                    index + 1,
                    money(*basic, currency),
                    money(*individual, currency),
                    num(*vat_percent)
                );
            }
            Step::Fault { status, detail } => {
                let _ = writeln!(w, "{ind}  FAULT {status}: {detail}");
            }
            Step::Session {
                session_id,
                service,
                provider,
                start,
                end,
                starter,
                event_filter,
                events,
                segments,
            } => {
                let _ = writeln!(
                    w,
                    "Session {session_id}: {service}, provider {}, {} to {}, started by {}",
                    provider.as_deref().unwrap_or("-"),
                    time(start),
                    time(end),
                    starter.as_deref().unwrap_or("-")
                );
                let filter = event_filter
                    .as_ref()
                    .map(|f| f.join(", "))
                    .unwrap_or_else(|| "every type".into());
                let _ = writeln!(w, "  event filter: {filter}");
                for e in events {
                    let seq = e.sequence.map(|s| format!("#{s}")).unwrap_or_default();
                    let _ = writeln!(
                        w,
                        "    {seq:>4} {} {:<10} {:<12}{}",
                        time(&e.timestamp),
                        e.event_type,
                        e.participant_id,
                        if e.admitted { "" } else { " filtered out" }
                    );
                }
                if segments.iter().any(|s| s.active.len() > 1) {
                    let _ = writeln!(w, "  who is active together:");
                    for s in segments {
                        let _ = writeln!(
                            w,
                            "    {} {:>6} s  {}",
                            time(&s.start),
                            s.seconds,
                            s.active.join(", ")
                        );
                    }
                }
            }
            Step::Participation {
                participant_id,
                role,
                billed_party,
                user_name,
                marketing_company,
                marketing_company_from,
                spans,
                active_seconds,
                events_counted,
            } => {
                let _ = writeln!(
                    w,
                    "\nParticipation {participant_id} ({user_name}), role {role}, billed to {billed_party}, marketing company {marketing_company} (from the {marketing_company_from})"
                );
                for s in spans {
                    let _ = writeln!(
                        w,
                        "  active {} to {}: {} s",
                        time(&s.start),
                        time(&s.end),
                        s.seconds
                    );
                }
                let _ = writeln!(
                    w,
                    "  active {active_seconds} s in all; {events_counted} events counted"
                );
            }
            Step::Rule {
                item,
                measure,
                quantity,
                unit,
                ..
            } => {
                let _ = writeln!(
                    w,
                    "\n  Rule {item}: measure {measure}, quantity {quantity} {unit}"
                );
            }
            Step::SharedSlice {
                start,
                seconds,
                period,
                unit_price,
                price_per,
                sharers_active,
                share_of,
                amount,
            } => {
                let p = period.as_deref().unwrap_or("flat");
                let _ = writeln!(
                    w,
                    "{ind}    {} {p}: {seconds} s x {} / {price_per} s x {share_of}/{sharers_active} sharers = {}",
                    start.format("%H:%M:%S"),
                    num(*unit_price),
                    num(*amount)
                );
            }
            Step::Allocation {
                item,
                side,
                list,
                revision,
                participants,
                total,
                rounded_total,
                unrounded_shares,
                allocated,
                shares,
            } => {
                let parts: Vec<String> = participants
                    .iter()
                    .zip(unrounded_shares.iter().zip(allocated.iter().zip(shares)))
                    .map(|(p, (u, (a, s)))| {
                        if a == s {
                            format!("{p} {} -> {s}", num(*u))
                        } else {
                            format!("{p} {} -> {a} -> {s} (own discount and rounding)", num(*u))
                        }
                    })
                    .collect();
                let _ = writeln!(
                    w,
                    "\n  Shared {item}, {} under {list} r{revision}: total {} rounded to {}, handed out: {}",
                    match side {
                        Side::Basic => "basic",
                        Side::Individual => "individual",
                    },
                    num(*total),
                    rounded_total,
                    parts.join("; ")
                );
            }
            Step::Line {
                item,
                basic,
                individual,
                ..
            } => {
                let _ = writeln!(w, "{ind}  = {item}: basic {basic}, individual {individual}");
            }
            Step::ParticipationTotal {
                participant_id,
                customer,
                currency,
                vat_percent,
                list,
                revision,
                basic,
                individual,
            } => {
                let _ = writeln!(
                    w,
                    "\n  {participant_id} ({customer}): basic {}, individual {}; table {list} r{revision}; VAT {}% (not included)",
                    money(*basic, currency),
                    money(*individual, currency),
                    num(*vat_percent)
                );
            }
            Step::Cost {
                provider,
                list,
                revision,
                item,
                currency,
                amount,
            } => {
                let _ = writeln!(
                    w,
                    "  cost to {provider} for {item}: {} ({list} r{revision})",
                    money(*amount, currency)
                );
            }
            Step::Components {
                profile,
                revision,
                owner,
                registered,
                rule,
                written,
                order,
                combine,
                conflict,
                on_failure,
                steps,
                amount,
                failure,
            } => {
                use crate::price::interact::Effect;
                let word = |x: &dyn std::fmt::Debug| format!("{x:?}").to_lowercase();
                let _ = writeln!(
                    w,
                    "{ind}  components: profile {profile} r{revision} ({owner}) registers {}",
                    registered.join(", ")
                );
                let _ = writeln!(
                    w,
                    "{ind}    rule {rule}{}: precedence {}; combine {}, conflict {}, on failure {}",
                    if *written {
                        ""
                    } else {
                        " (no rule written for this set)"
                    },
                    order.join(" > "),
                    word(combine),
                    word(conflict),
                    word(on_failure)
                );
                for st in steps {
                    let c = &st.component;
                    let what = match &st.effect {
                        Effect::Priced { amount, total } => {
                            format!("priced {}; amount so far {}", num(*amount), num(*total))
                        }
                        Effect::Converted { from, to, how } => {
                            format!("{how}: {} -> {}", num(*from), num(*to))
                        }
                        Effect::Translated { attribute, value } => {
                            format!("set {attribute} = {value}")
                        }
                        Effect::Overruled {
                            attribute,
                            value,
                            kept,
                        } => format!(
                            "answered {attribute} = {value}, overruled: {kept} has precedence"
                        ),
                        Effect::NotForItem => "does not take part in this item".into(),
                        Effect::Failed { reason, policy } => {
                            format!("failed ({reason}); on failure {}", word(policy))
                        }
                    };
                    let _ = writeln!(w, "{ind}    {c}: {what}");
                }
                match (amount, failure) {
                    (Some(a), _) => {
                        let _ = writeln!(w, "{ind}    individual amount {}", num(*a));
                    }
                    (None, Some(f)) => {
                        let _ = writeln!(w, "{ind}    fault: {f}");
                    }
                    (None, None) => {}
                }
            }
            Step::Note { stage, text } => {
                let _ = writeln!(w, "{ind}  [{stage}] {text}");
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_built_without_a_trace() {
        let mut none: Option<&mut Trace> = None;
        record(&mut none, || unreachable!("not tracing"));
        let mut t = Trace::default();
        let mut some = Some(&mut t);
        record(&mut some, || Step::Note {
            stage: "test".into(),
            text: "hello".into(),
        });
        assert_eq!(t.steps.len(), 1);
        assert!(render_text(&t).contains("[test] hello"));
    }

    #[test]
    fn steps_serialise_with_their_name_and_money_as_strings() {
        let s = Step::Discount {
            list: "l".into(),
            revision: 2,
            percent: "10".parse().unwrap(),
            before: "2.355".parse().unwrap(),
            after: "2.1195".parse().unwrap(),
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["step"], "discount");
        assert_eq!(v["after"], "2.1195");
        assert_eq!(num("2.11950".parse().unwrap()), "2.1195");
    }
}
