//! Pricing a complete multi-party session: the session pricing manager of
//! the BT seed (Figure 14). Its events are filtered by the service tariff
//! policy, each participant's state is followed through the session, and a
//! participation pricing engine per participant prices the rules its role
//! gets, seeing what the others did (entry fees per joiner, a rate shared
//! among whoever is active). The same facts are costed with the providers'
//! cost lists (Figure 15).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;

use crate::group::Event;
use crate::group::assemble::Session;
use crate::money::Exact;
use crate::price::trace::{self as explain, Side, Step, Trace};
use crate::price::{self, PriceError, Quantity, interact, shown};
use crate::resolve::policy::{Measure, Rule, Scope, SessionPolicy};
use crate::resolve::price_list::{Charge, PriceList, PriceSpec, Rounding};
use crate::resolve::{self, Customers, PriceLists, Query, Unresolved};
use crate::sdr::{SessionEventType, StatusIndicator, Text, Timestamp};

/// One participant's part in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participation {
    pub participant_id: Text,
    pub role: Text,
    pub billed_party: Text,
    pub user_name: Text,
    /// From the SDRs that carried the participant's events, if any.
    pub marketing_company: Option<Text>,
    /// Active spans: (start, seconds).
    pub spans: Vec<(DateTime<FixedOffset>, u64)>,
    pub first_join: Timestamp,
    pub last_leave: Timestamp,
    /// Events of this participant that passed the policy's filter.
    pub events_counted: u64,
}

impl Participation {
    pub fn active_seconds(&self) -> u64 {
        self.spans.iter().map(|(_, s)| s).sum()
    }
}

/// What the session's events say, after the policy's event filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub session_id: Text,
    pub service: Text,
    pub provider: Option<Text>,
    /// Time of the first event: the time of use that selects price lists.
    pub start: Timestamp,
    /// Time of the last event.
    pub end: Timestamp,
    /// Who started the session (the start event, else the first to join).
    pub starter: Option<Text>,
    /// Everyone who was active at some time, by participant id.
    pub parts: Vec<Participation>,
    /// Spans of constant company: (start, seconds, indices into `parts`
    /// of those active).
    pub segments: Vec<(DateTime<FixedOffset>, u64, Vec<usize>)>,
    /// Admitted events: (participant, type, provider event name).
    pub events: Vec<(Text, SessionEventType, Option<Text>)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Absent,
    Active,
    Suspended,
    Left,
}

/// Order of events at one instant (without sequence numbers), given
/// whether their participant was active just before.
fn instant_rank(t: SessionEventType, active: bool) -> u8 {
    use SessionEventType as T;
    let arrival = matches!(t, T::Join | T::Resume | T::Logon);
    let departure = matches!(t, T::Suspend | T::Leave | T::Logoff);
    match t {
        T::Start => 0,
        T::End => 9,
        _ if arrival => {
            if active {
                3
            } else {
                1
            }
        }
        _ if departure => {
            if active {
                1
            } else {
                3
            }
        }
        _ => 2,
    }
}

/// Follows every participant through the session: active from start, join
/// or resume until suspend, leave or end. Events the policy filters out
/// change nothing; invitations and the like change no state but are kept
/// for rules that count them.
pub fn facts(session: &Session, policy: &SessionPolicy) -> Facts {
    use SessionEventType as T;
    let first: &Event = &session.events[0];
    let mut start = first.timestamp;
    let mut end = first.timestamp;
    for e in &session.events {
        start = start.min(e.timestamp);
        end = end.max(e.timestamp);
    }
    struct P {
        part: Participation,
        state: State,
        since: Option<DateTime<FixedOffset>>,
        joined: bool,
    }
    let mut people: BTreeMap<Text, P> = BTreeMap::new();
    let mut starter = None;
    let mut events = Vec::with_capacity(session.events.len());
    let mut ended = false;
    // Without sequence numbers, events of one instant are ordered by what
    // each participant was doing just before: one who was active leaves
    // before rejoining (a reconnect), one who was not joins before leaving.
    let sequenced = session.events.iter().all(|e| e.sequence.is_some());
    let evs = &session.events;
    let mut i = 0;
    // One buffer for every instant's events (nearly always one event).
    let mut group: Vec<&Event> = Vec::with_capacity(4);
    while i < evs.len() {
        let mut j = i + 1;
        while !sequenced && j < evs.len() && evs[j].timestamp.0 == evs[i].timestamp.0 {
            j += 1;
        }
        group.clear();
        group.extend(&evs[i..j]);
        if group.len() > 1 {
            group.sort_by_key(|e| {
                let active = people
                    .get(&e.participant_id)
                    .is_some_and(|p| p.state == State::Active);
                instant_rank(e.event_type, active)
            });
        }
        i = j;
        for &e in &group {
            if !policy.admits(e.event_type) || ended {
                continue;
            }
            events.push((
                e.participant_id.clone(),
                e.event_type,
                e.provider_event.clone(),
            ));
            let p = people.entry(e.participant_id.clone()).or_insert_with(|| P {
                part: Participation {
                    participant_id: e.participant_id.clone(),
                    role: Text::default(),
                    billed_party: e.billed_party.clone(),
                    user_name: e.user_name.clone(),
                    marketing_company: None,
                    spans: Vec::new(),
                    first_join: e.timestamp,
                    last_leave: e.timestamp,
                    events_counted: 0,
                },
                state: State::Absent,
                since: None,
                joined: false,
            });
            p.part.events_counted += 1;
            if p.part.role.is_empty()
                && let Some(r) = &e.role
            {
                p.part.role = r.clone();
            }
            if p.part.marketing_company.is_none() {
                p.part.marketing_company = e.marketing_company.clone();
            }
            let t = e.timestamp.0;
            let activate = |p: &mut P| {
                if p.state != State::Active {
                    if !p.joined {
                        p.part.first_join = e.timestamp;
                        p.joined = true;
                    }
                    p.state = State::Active;
                    p.since = Some(t);
                }
            };
            let deactivate = |p: &mut P, to: State| {
                if let (State::Active, Some(s)) = (p.state, p.since) {
                    let secs = (t.timestamp() - s.timestamp()).max(0) as u64;
                    p.part.spans.push((s, secs));
                    p.part.last_leave = e.timestamp;
                }
                if p.state != State::Absent || to == State::Left {
                    p.state = to;
                }
                p.since = None;
            };
            match e.event_type {
                T::Start => {
                    starter.get_or_insert_with(|| e.participant_id.clone());
                    activate(p);
                }
                T::Join => activate(p),
                T::Resume if p.state == State::Suspended => activate(p),
                T::Suspend if p.state == State::Active => deactivate(p, State::Suspended),
                T::Leave => deactivate(p, State::Left),
                T::End => {
                    for p in people.values_mut() {
                        deactivate(p, State::Left);
                    }
                    ended = true;
                }
                _ => {}
            }
        }
    }
    // Nobody can still be active in a complete session, unless its last
    // events were filtered out: their time runs to the last event.
    for p in people.values_mut() {
        if let (State::Active, Some(s)) = (p.state, p.since) {
            let secs = (end.0.timestamp() - s.timestamp()).max(0) as u64;
            p.part.spans.push((s, secs));
            p.part.last_leave = end;
        }
    }
    let mut parts: Vec<Participation> = people
        .into_values()
        .filter(|p| p.joined)
        .map(|mut p| {
            if p.part.role.is_empty() {
                p.part.role = "participant".into();
            }
            p.part
        })
        .collect();
    parts.sort_by(|a, b| a.participant_id.cmp(&b.participant_id));
    if starter.is_none() {
        starter = parts
            .iter()
            .min_by_key(|p| p.first_join)
            .map(|p| p.participant_id.clone());
    }
    Facts {
        session_id: session.id.clone(),
        service: first.service.clone(),
        provider: session.events.iter().find_map(|e| e.provider.clone()),
        start,
        end,
        starter,
        segments: segments(&parts),
        parts,
        events,
    }
}

/// Splits the session at every moment someone becomes active or inactive.
fn segments(parts: &[Participation]) -> Vec<(DateTime<FixedOffset>, u64, Vec<usize>)> {
    let spans: Vec<(usize, i64, i64, DateTime<FixedOffset>)> = parts
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            p.spans
                .iter()
                .map(move |(s, n)| (i, s.timestamp(), s.timestamp() + *n as i64, *s))
        })
        .collect();
    let mut cuts: Vec<(i64, DateTime<FixedOffset>)> = spans
        .iter()
        .flat_map(|&(_, a, b, s)| [(a, s), (b, s + chrono::Duration::seconds(b - a))])
        .collect();
    cuts.sort_by_key(|c| c.0);
    cuts.dedup_by_key(|c| c.0);
    let mut out = Vec::new();
    for w in cuts.windows(2) {
        let (a, at) = w[0];
        let b = w[1].0;
        let mut who: Vec<usize> = spans
            .iter()
            .filter(|&&(_, s, e, _)| s <= a && b <= e)
            .map(|&(i, ..)| i)
            .collect();
        who.dedup();
        if !who.is_empty() {
            out.push((at, (b - a) as u64, who));
        }
    }
    out
}

/// The quantity a rule measures for participant `i`.
fn quantity(f: &Facts, rule: &Rule, i: usize) -> Quantity {
    let me = &f.parts[i];
    match rule.measure {
        Measure::EntryFee => Quantity::Events(
            f.parts
                .iter()
                .filter(|p| rule.counts.is_empty() || rule.counts.iter().any(|c| *c == p.role))
                .count() as u64,
        ),
        Measure::ActiveTime => Quantity::Seconds(me.active_seconds()),
        Measure::SharedTime => Quantity::Seconds(
            f.segments
                .iter()
                .filter(|(_, _, who)| who.contains(&i))
                .map(|(_, n, _)| n)
                .sum(),
        ),
        Measure::Events => {
            let ty = rule.event_type();
            Quantity::Events(
                f.events
                    .iter()
                    .filter(|(who, t, name)| {
                        Some(*t) == ty
                            && (rule.of == Scope::Session || *who == me.participant_id)
                            && rule
                                .provider_event
                                .as_ref()
                                .is_none_or(|n| name.as_deref() == Some(n.as_str()))
                    })
                    .count() as u64,
            )
        }
        Measure::Session => {
            Quantity::Events(u64::from(f.starter.as_deref() == Some(&me.participant_id)))
        }
    }
}

/// The participants who share the rate of `item`: those whose role gets
/// its rule. Others active at the same time (a viewer of a game) neither
/// pay a share nor make the sharers' shares smaller.
fn sharers(f: &Facts, policy: &SessionPolicy, item: &str) -> Vec<usize> {
    f.parts
        .iter()
        .enumerate()
        .filter(|(_, p)| policy.rules_for(&p.role).any(|r| r.item.get_ref() == item))
        .map(|(i, _)| i)
        .collect()
}

/// The unrounded amount of participant `i`'s share of a shared rate:
/// each segment's price divided by the number of `sharers` then active.
/// `members` (a subset of `sharers`) restricts the sum to segments'
/// members in a set (None: just `i`) and returns the set's total instead,
/// computed without dividing when every sharer then active is in the set,
/// so a session's shares add up exactly.
fn shared_amount(
    f: &Facts,
    charge: &Charge,
    list: &PriceList,
    sharers: &[usize],
    i: usize,
    members: Option<&[usize]>,
    mut trace: Option<&mut Trace>,
) -> Result<Exact, PriceError> {
    let item = charge.item.get_ref();
    let overflow = || PriceError::Overflow(item.clone());
    let unit = charge.unit_seconds.unwrap_or(60);
    let spec = charge.price.as_ref().map(|p| p.get_ref());
    let mut sum = Exact::ZERO;
    for (at, secs, who) in &f.segments {
        let mine = match members {
            None => u64::from(who.contains(&i)),
            Some(set) => who.iter().filter(|w| set.contains(w)).count() as u64,
        };
        let company = who.iter().filter(|w| sharers.contains(w)).count() as u64;
        if mine == 0 || company == 0 {
            continue;
        }
        // One slice unless the price changes with the period.
        let split;
        let whole = [(0, *secs)];
        let slices: &[(usize, u64)] = match spec {
            Some(PriceSpec::ByPeriod(_)) => {
                split = list
                    .calendar
                    .split(at, *secs)
                    .map_err(|err| PriceError::Period {
                        item: item.clone(),
                        err,
                    })?;
                &split
            }
            _ => &whole,
        };
        let mut offset = 0u64;
        for &(period, n) in slices {
            let name = list.calendar.names().get(period).map_or("", String::as_str);
            let price =
                spec.and_then(|s| s.for_period(name))
                    .ok_or_else(|| PriceError::NoPeriodPrice {
                        item: item.clone(),
                        period: name.to_owned(),
                    })?;
            // price × seconds × mine / company, exactly.
            let x = Exact::from_decimal(price)
                .mul_int(n)
                .and_then(|x| x.mul_int(mine))
                .and_then(|x| x.div_int(company))
                .ok_or_else(overflow)?;
            sum = sum.checked_add(x).ok_or_else(overflow)?;
            explain::record(&mut trace, || Step::SharedSlice {
                start: *at + chrono::Duration::seconds(offset as i64),
                seconds: n,
                period: matches!(spec, Some(PriceSpec::ByPeriod(_))).then(|| name.to_owned()),
                unit_price: price,
                price_per: charge.unit_seconds.unwrap_or(60),
                sharers_active: company,
                share_of: mine,
                amount: x.div_int(unit).map(shown).unwrap_or_default(),
            });
            offset += n;
        }
    }
    sum.div_int(unit).ok_or_else(overflow)
}

/// One priced rule of one participation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub item: String,
    pub measure: Measure,
    pub quantity: Quantity,
    pub basic: Decimal,
    pub individual: Decimal,
    /// Unrounded, for the shared-rate allocation: the basic amount and the
    /// individual one before the chosen list's discount.
    basic_raw: Exact,
    undiscounted_raw: Exact,
    /// What the subscriber's pricing components did to the line, if any.
    pub components: Option<String>,
}

/// One participation, priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedParticipation {
    pub part: Participation,
    pub customer: Text,
    pub marketing_company: Text,
    /// The customer's group in the registry, if any (for the analytics
    /// export).
    pub customer_group: Option<Text>,
    pub currency: Text,
    pub vat_percent: Decimal,
    /// The list that set the individual price.
    pub table: String,
    pub revision: u16,
    pub lines: Vec<Line>,
    pub basic: Decimal,
    pub individual: Decimal,
}

/// One provider's cost of one session item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CostLine {
    pub provider: String,
    pub table: String,
    pub revision: u16,
    pub item: String,
    pub currency: String,
    pub amount: Decimal,
}

/// A session, priced and costed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedSession {
    pub facts: Facts,
    pub participations: Vec<PricedParticipation>,
    pub costs: Vec<CostLine>,
}

/// Why a session could not be priced; every one of its events is a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFault {
    pub status: StatusIndicator,
    pub detail: String,
}

impl From<Unresolved> for SessionFault {
    fn from(u: Unresolved) -> Self {
        SessionFault {
            status: u.status,
            detail: u.detail,
        }
    }
}

fn technical(e: impl std::fmt::Display) -> SessionFault {
    SessionFault {
        status: StatusIndicator::TechnicalError,
        detail: e.to_string(),
    }
}

/// The tariff policy of a service at a time.
pub fn policy_at<'a>(
    lists: &'a PriceLists,
    service: &str,
    at: &Timestamp,
) -> Result<&'a SessionPolicy, SessionFault> {
    if !lists.knows_service(service) {
        return Err(SessionFault {
            status: StatusIndicator::UnableToLocateServiceFeatureCode,
            detail: format!("no price list for session service `{service}`"),
        });
    }
    let basic = lists.basic_at(service, &at.0).ok_or_else(|| SessionFault {
        status: StatusIndicator::UnableToLocatePriceTable,
        detail: format!("no basic list of {service} valid at {}", at.0),
    })?;
    basic.def.session.as_ref().ok_or_else(|| SessionFault {
        status: StatusIndicator::UnableToLocatePriceTable,
        detail: format!(
            "basic list {} of {service} has no [session] tariff policy",
            basic.def.id
        ),
    })
}

fn role_attr(role: &str) -> impl Fn(&str) -> Option<Text> + '_ {
    move |name: &str| (name == "role").then(|| Text::from(role))
}

/// Prices every participation of a complete session and costs it.
pub fn price_session(
    lists: &PriceLists,
    customers: &Customers,
    session: &Session,
) -> Result<PricedSession, SessionFault> {
    price_session_traced(lists, customers, session, None, None)
}

/// [`price_session`] with the lists and the customer registry's rows
/// chosen as valid at `as_of` (`rerate --as-of`) instead of at the
/// session's first event, when given; rate periods still follow the time
/// of use.
pub fn price_session_as_of(
    lists: &PriceLists,
    customers: &Customers,
    session: &Session,
    as_of: Option<&Timestamp>,
) -> Result<PricedSession, SessionFault> {
    price_session_traced(lists, customers, session, as_of, None)
}

/// [`price_session`], recording how each price was made into `trace` when
/// one is given (`sdrate explain --session`).
pub fn price_session_traced(
    lists: &PriceLists,
    customers: &Customers,
    session: &Session,
    as_of: Option<&Timestamp>,
    mut trace: Option<&mut Trace>,
) -> Result<PricedSession, SessionFault> {
    let first = &session.events[0];
    let policy = policy_at(lists, &first.service, as_of.unwrap_or(&first.timestamp))?;
    let f = facts(session, policy);
    // When the lists are chosen; `f.start` stays the time of use that
    // decides rate periods.
    let lists_at = as_of.map_or(&f.start.0, |t| &t.0);
    explain::record(&mut trace, || explain_session(session, policy, &f));
    if f.parts.is_empty() {
        return Err(SessionFault {
            status: StatusIndicator::TechnicalError,
            detail: format!("session {} ended without anybody taking part", session.id),
        });
    }
    // Who shares each shared rate, found once per session rather than
    // twice per participant and line.
    let sharing_of: Vec<(&str, Vec<usize>)> = policy
        .rules
        .iter()
        .filter(|r| r.measure == Measure::SharedTime)
        .map(|r| {
            (
                r.item.get_ref().as_str(),
                sharers(&f, policy, r.item.get_ref()),
            )
        })
        .collect();
    let sharing_for = |item: &str| -> std::borrow::Cow<'_, [usize]> {
        sharing_of.iter().find(|(i, _)| *i == item).map_or_else(
            || sharers(&f, policy, item).into(),
            |(_, s)| s.as_slice().into(),
        )
    };
    let mut out = Vec::with_capacity(f.parts.len());
    // For the shared-rate allocation: item -> (participation, line index).
    let mut shared: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
    let mut resolved = Vec::with_capacity(f.parts.len());
    for (i, part) in f.parts.iter().enumerate() {
        let company = part
            .marketing_company
            .clone()
            .or_else(|| {
                customers
                    .at(&part.billed_party, lists_at)
                    .map(|c| Text::from(c.marketing_company))
            })
            .unwrap_or_default();
        let q = Query {
            service: &f.service,
            service_revision: None,
            customer_id: Some(&part.billed_party),
            marketing_company: &company,
            time_of_use: lists_at,
            customer_price: None,
            market_price: None,
        };
        explain::record(&mut trace, || explain_participation(part, &company));
        explain::record(&mut trace, || {
            Step::Resolution(Box::new(resolve::candidates::candidates(
                lists, customers, &q,
            )))
        });
        let r = resolve::resolve(lists, customers, &q)?;
        let attrs = role_attr(&part.role);
        let mut lines = Vec::new();
        for rule in policy.rules_for(&part.role) {
            let item = rule.item.get_ref();
            explain::record(&mut trace, || {
                explain_rule(part, rule, quantity(&f, rule, i))
            });
            let base_charge = r.base.charge_for(item, None, &attrs);
            // The chosen list's own charge, else the base list's.
            let own = if std::sync::Arc::ptr_eq(r.chosen, r.base) {
                None
            } else {
                r.chosen.charge_for(item, None, &attrs)
            };
            let Some((chosen_charge, chosen_list)) = own
                .map(|c| (c, r.chosen))
                .or(base_charge.map(|c| (c, r.base)))
            else {
                // No list charges this item: free for everybody.
                explain::record(&mut trace, || Step::NoCharge {
                    item: item.clone(),
                    list: r.base.def.id.clone(),
                    revision: r.base.def.revision,
                });
                continue;
            };
            let q = quantity(&f, rule, i);
            let raw = |c: &Charge,
                       l: &PriceList,
                       t: Option<&mut Trace>|
             -> Result<Exact, PriceError> {
                match rule.measure {
                    Measure::SharedTime => shared_amount(&f, c, l, &sharing_for(item), i, None, t),
                    Measure::ActiveTime => {
                        price::amount_spans_traced(c, &part.spans, &l.calendar, t)
                    }
                    _ => price::amount_traced(c, q, &f.start.0, &l.calendar, t),
                }
            };
            let t = &mut trace;
            // An item the base list does not charge has a basic price of 0.
            let basic_raw = match base_charge {
                Some(base_charge) => {
                    explain::record(t, || {
                        explain::charge_step(Side::Basic, base_charge, r.base, false)
                    });
                    raw(base_charge, r.base, t.as_deref_mut()).map_err(technical)?
                }
                None => {
                    explain::record(t, || Step::NoCharge {
                        item: item.clone(),
                        list: r.base.def.id.clone(),
                        revision: r.base.def.revision,
                    });
                    Exact::ZERO
                }
            };
            explain::record(t, || {
                let from_base =
                    std::ptr::eq(chosen_list, r.base) && !std::ptr::eq(r.chosen, r.base);
                explain::charge_step(Side::Individual, chosen_charge, chosen_list, from_base)
            });
            // The base list's own charge gives the basic amount again:
            // computed once unless an explanation shows both.
            let reused = own.is_none() && t.is_none();
            let undiscounted_raw = if reused {
                basic_raw
            } else {
                raw(chosen_charge, chosen_list, t.as_deref_mut()).map_err(technical)?
            };
            let mut individual_raw = undiscounted_raw;
            if let Some(d) = r.chosen.def.discount_percent {
                individual_raw = individual_raw
                    .less_percent(d.0)
                    .ok_or_else(|| technical("arithmetic overflow applying a discount"))?;
                explain::record(t, || Step::Discount {
                    list: r.chosen.def.id.clone(),
                    revision: r.chosen.def.revision,
                    percent: d.0,
                    before: shown(undiscounted_raw),
                    after: shown(individual_raw),
                });
            }
            let round = |rounding: Rounding, x: Exact| {
                rounding
                    .round(x)
                    .ok_or_else(|| technical("arithmetic overflow rounding a price"))
            };
            let basic = round(r.base.def.rounding, basic_raw)?;
            let individual = if reused
                && r.chosen.def.discount_percent.is_none()
                && r.chosen.def.rounding == r.base.def.rounding
            {
                basic
            } else {
                round(r.chosen.def.rounding, individual_raw)?
            };
            let currency = || r.base.def.currency.clone().unwrap_or_default();
            explain::record(t, || {
                explain::rounding_step(Side::Basic, r.base, basic_raw, basic, currency())
            });
            explain::record(t, || {
                explain::rounding_step(
                    Side::Individual,
                    r.chosen,
                    individual_raw,
                    individual,
                    currency(),
                )
            });
            if rule.measure == Measure::SharedTime {
                explain::record(t, || Step::Note {
                    stage: "shared rate".into(),
                    text: format!(
                        "{item} is shared: the session's total is rounded once and handed out (allocation below)"
                    ),
                });
            }
            if rule.measure == Measure::SharedTime {
                shared.entry(item).or_default().push((i, lines.len()));
            }
            lines.push(Line {
                item: item.to_owned(),
                measure: rule.measure,
                quantity: q,
                basic,
                individual,
                basic_raw,
                undiscounted_raw,
                components: None,
            });
        }
        out.push(PricedParticipation {
            part: part.clone(),
            customer: Text::from(r.customer.customer_id),
            marketing_company: company,
            customer_group: r.customer.group.map(Text::from),
            currency: Text::from(r.base.def.currency.as_deref().unwrap_or_default()),
            vat_percent: r
                .chosen
                .def
                .vat_percent
                .or(r.base.def.vat_percent)
                .map_or(Decimal::ZERO, |v| v.0),
            table: r.chosen.def.id.clone(),
            revision: r.chosen.def.revision,
            lines,
            basic: Decimal::ZERO,
            individual: Decimal::ZERO,
        });
        resolved.push(r);
    }
    // A shared rate is allocated per group of sharers priced by the same
    // charge of the same list revision, whatever their discounts and
    // roundings: the group's exact total is rounded once at the finest
    // precision among them and handed out by largest remainder (ties to
    // the lower participant id, never the order of joining); then each
    // participant's own discount and rounding apply to their share
    // (docs/sessions.md, "Shared rates add up").
    for (item, members) in &shared {
        // (basic side?, list id, revision, charge index) -> members.
        type Key<'a> = (bool, &'a str, u16, usize);
        type Members<'a> = (Vec<(usize, usize)>, &'a PriceList);
        let mut groups: BTreeMap<Key<'_>, Members<'_>> = BTreeMap::new();
        for &(p, l) in members {
            let r = &resolved[p];
            let attrs = role_attr(&f.parts[p].role);
            let base_charge = r.base.charge_for(item, None, &attrs);
            let own = if std::sync::Arc::ptr_eq(r.chosen, r.base) {
                None
            } else {
                r.chosen.charge_for(item, None, &attrs)
            };
            let chosen = own
                .map(|c| (c, &**r.chosen))
                .or(base_charge.map(|c| (c, &**r.base)));
            let index = |list: &PriceList, c: &Charge| {
                list.def
                    .charge
                    .iter()
                    .position(|x| std::ptr::eq(x, c))
                    .unwrap_or(usize::MAX)
            };
            let sides = [(true, base_charge.map(|c| (c, &**r.base))), (false, chosen)];
            for (basic, found) in sides {
                // Without a base charge the basic share is 0: nothing to share.
                let Some((charge, list)) = found else {
                    continue;
                };
                let key = (
                    basic,
                    list.def.id.as_str(),
                    list.def.revision,
                    index(list, charge),
                );
                groups
                    .entry(key)
                    .or_insert_with(|| (Vec::new(), list))
                    .0
                    .push((p, l));
            }
        }
        for ((basic, ..), (group, list)) in groups {
            let side_of = |p: usize| {
                let r = &resolved[p];
                if basic {
                    (r.base.def.rounding, None)
                } else {
                    (
                        r.chosen.def.rounding,
                        r.chosen.def.discount_percent.map(|d| d.0),
                    )
                }
            };
            let raws: Vec<Exact> = group
                .iter()
                .map(|&(p, l)| {
                    let line = &out[p].lines[l];
                    if basic {
                        line.basic_raw
                    } else {
                        line.undiscounted_raw
                    }
                })
                .collect();
            let total = raws
                .iter()
                .try_fold(Exact::ZERO, |a, x| a.checked_add(*x))
                .ok_or_else(|| technical("arithmetic overflow adding up shares"))?;
            let finest = finest_rounding(group.iter().map(|&(p, _)| side_of(p).0));
            let allocated = allocate(total, &raws, finest)
                .ok_or_else(|| technical("arithmetic overflow allocating a shared rate"))?;
            let mut finals = Vec::with_capacity(group.len());
            for (&(p, _), share) in group.iter().zip(&allocated) {
                let (rounding, discount) = side_of(p);
                let mut x = Exact::from_decimal(*share);
                if let Some(d) = discount {
                    x = x
                        .less_percent(d)
                        .ok_or_else(|| technical("arithmetic overflow applying a discount"))?;
                }
                finals.push(
                    rounding
                        .round(x)
                        .ok_or_else(|| technical("arithmetic overflow rounding a price"))?,
                );
            }
            explain::record(&mut trace, || Step::Allocation {
                item: (*item).to_owned(),
                side: if basic { Side::Basic } else { Side::Individual },
                list: list.def.id.clone(),
                revision: list.def.revision,
                participants: group
                    .iter()
                    .map(|&(p, _)| f.parts[p].participant_id.to_string())
                    .collect(),
                total: shown(total),
                rounded_total: finest.round(total).unwrap_or_default(),
                unrounded_shares: raws.iter().map(|x| shown(*x)).collect(),
                allocated: allocated.clone(),
                shares: finals.clone(),
            });
            for (&(p, l), share) in group.iter().zip(finals) {
                let line = &mut out[p].lines[l];
                if basic {
                    line.basic = share;
                } else {
                    line.individual = share;
                }
            }
        }
    }
    // Pricing components registered for a billed party
    // (docs/interactions.md) apply to each rule line once the shared rates
    // were handed out; the list's amount is the line's individual price.
    if !lists.interactions.is_empty() {
        for (p, r) in out.iter_mut().zip(&resolved) {
            let Some(app) = lists.interactions.applicable(
                &f.service,
                r.customer.customer_id,
                &p.marketing_company,
                r.customer.group,
                true,
                lists_at,
            ) else {
                continue;
            };
            let part = &p.part;
            let attrs = |name: &str| match name {
                "role" => Some(part.role.clone()),
                "participantId" => Some(part.participant_id.clone()),
                "userName" => Some(part.user_name.clone()),
                "billedParty" => Some(part.billed_party.clone()),
                _ => None,
            };
            for l in &mut p.lines {
                let usage = interact::Usage {
                    item: &l.item,
                    quantity: l.quantity,
                    at: &f.start.0,
                    attrs: &attrs,
                };
                let listed = Exact::from_decimal(l.individual);
                let list = |_: &dyn Fn(&str) -> Option<Text>| Ok(Some(listed));
                let applied = interact::apply(&lists.interactions, &app, &usage, &list).map_err(
                    |e| match e {
                        interact::Failed::Price(e) => technical(e),
                        interact::Failed::Component(detail) => SessionFault {
                            status: StatusIndicator::UnableToLocatePriceTable,
                            detail: format!(
                                "participant {} of session {}: profile {} r{}: {detail}",
                                part.participant_id,
                                f.session_id,
                                app.profile.id,
                                app.profile.revision
                            ),
                        },
                    },
                )?;
                l.individual = r
                    .chosen
                    .def
                    .rounding
                    .round(applied.amount)
                    .ok_or_else(|| technical("arithmetic overflow rounding a price"))?;
                l.components = Some(applied.bill_information(&l.item));
            }
            p.table = app.profile.id.clone();
            p.revision = app.profile.revision;
        }
    }
    for p in &mut out {
        let overflow = || technical("arithmetic overflow adding up prices");
        for l in &p.lines {
            p.basic = p.basic.checked_add(l.basic).ok_or_else(overflow)?;
            p.individual = p
                .individual
                .checked_add(l.individual)
                .ok_or_else(overflow)?;
        }
    }
    if let Some(t) = trace.as_deref_mut() {
        for p in &out {
            t.steps.push(Step::ParticipationTotal {
                participant_id: p.part.participant_id.to_string(),
                customer: p.customer.to_string(),
                currency: p.currency.to_string(),
                vat_percent: p.vat_percent,
                list: p.table.clone(),
                revision: p.revision,
                basic: p.basic,
                individual: p.individual,
            });
            for l in &p.lines {
                t.steps.push(Step::Line {
                    participant_id: p.part.participant_id.to_string(),
                    item: l.item.clone(),
                    basic: l.basic,
                    individual: l.individual,
                });
            }
        }
    }
    let costs = cost_session(lists, policy, &f, lists_at)?;
    if let Some(t) = trace {
        for c in &costs {
            t.steps.push(Step::Cost {
                provider: c.provider.clone(),
                list: c.table.clone(),
                revision: c.revision,
                item: c.item.clone(),
                currency: c.currency.clone(),
                amount: c.amount,
            });
        }
    }
    Ok(PricedSession {
        facts: f,
        participations: out,
        costs,
    })
}

// Steps of `sdrate explain`, built only when tracing.

fn explain_session(session: &Session, policy: &SessionPolicy, f: &Facts) -> Step {
    Step::Session {
        session_id: f.session_id.to_string(),
        service: f.service.to_string(),
        provider: f.provider.as_deref().map(str::to_owned),
        start: f.start.0,
        end: f.end.0,
        starter: f.starter.as_deref().map(str::to_owned),
        event_filter: policy
            .events
            .as_ref()
            .map(|e| e.iter().map(|n| n.get_ref().clone()).collect()),
        events: session
            .events
            .iter()
            .map(|e| explain::SessionEventView {
                sequence: e.sequence,
                timestamp: e.timestamp.0,
                event_type: e.event_type.to_string(),
                participant_id: e.participant_id.to_string(),
                admitted: policy.admits(e.event_type),
            })
            .collect(),
        segments: f
            .segments
            .iter()
            .map(|(start, seconds, who)| explain::Segment {
                start: *start,
                seconds: *seconds,
                active: who
                    .iter()
                    .map(|&w| f.parts[w].participant_id.to_string())
                    .collect(),
            })
            .collect(),
    }
}

fn explain_participation(part: &Participation, company: &str) -> Step {
    Step::Participation {
        participant_id: part.participant_id.to_string(),
        role: part.role.to_string(),
        billed_party: part.billed_party.to_string(),
        user_name: part.user_name.to_string(),
        marketing_company: company.to_owned(),
        marketing_company_from: if part.marketing_company.is_some() {
            "event"
        } else {
            "registry"
        }
        .into(),
        spans: part
            .spans
            .iter()
            .map(|(start, n)| explain::Span {
                start: *start,
                end: *start + chrono::Duration::seconds(*n as i64),
                seconds: *n,
            })
            .collect(),
        active_seconds: part.active_seconds(),
        events_counted: part.events_counted,
    }
}

fn explain_rule(part: &Participation, rule: &Rule, q: Quantity) -> Step {
    let (quantity, unit) = match q {
        Quantity::Events(n) => (n, "events"),
        Quantity::Units(n) => (n, "units"),
        Quantity::Seconds(n) => (n, "seconds"),
    };
    Step::Rule {
        participant_id: part.participant_id.to_string(),
        item: rule.item.get_ref().clone(),
        measure: explain::measure_name(rule.measure).into(),
        quantity,
        unit: unit.into(),
    }
}

/// The rounding a shared rate's group is allocated at: the most decimals
/// any member rounds to, with the members' mode when they agree, else the
/// default (half away from zero).
fn finest_rounding(members: impl Iterator<Item = Rounding>) -> Rounding {
    let mut out: Option<Rounding> = None;
    let mut same_mode = true;
    for r in members {
        match &mut out {
            None => out = Some(r),
            Some(o) => {
                same_mode &= o.mode == r.mode;
                o.decimals = o.decimals.max(r.decimals);
            }
        }
    }
    let mut out = out.unwrap_or_default();
    if !same_mode {
        out.mode = Default::default();
    }
    out
}

/// Rounds `total` with `rounding` and splits it into shares in proportion
/// to `raws` (each rounded down, then one unit more to the largest
/// remainders, ties to the earlier share), so the shares add up to the
/// rounded total exactly. None on overflow.
pub fn allocate(total: Exact, raws: &[Exact], rounding: Rounding) -> Option<Vec<Decimal>> {
    let total = rounding.round(total)?;
    let step = Decimal::new(1, rounding.decimals);
    let down = Rounding {
        decimals: rounding.decimals,
        mode: crate::resolve::price_list::RoundingMode::Down,
    };
    let mut shares: Vec<Decimal> = raws.iter().map(|r| down.round(*r)).collect::<Option<_>>()?;
    let given = shares
        .iter()
        .try_fold(Decimal::ZERO, |a, x| a.checked_add(*x))?;
    let mut left = total.checked_sub(given)?;
    let remainders: Vec<Exact> = raws
        .iter()
        .zip(&shares)
        .map(|(r, s)| r.checked_sub(Exact::from_decimal(*s)))
        .collect::<Option<_>>()?;
    let mut order: Vec<usize> = (0..raws.len()).collect();
    // Largest remainder first; stable, so ties go to the earlier share.
    order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]));
    let mut k = 0;
    while left >= step && !order.is_empty() {
        let s = &mut shares[order[k % order.len()]];
        *s = s.checked_add(step)?;
        left -= step;
        k += 1;
    }
    Some(shares)
}

/// What the retailer owes each provider for the session: every cost list
/// of the service valid at the session's start prices the same rules,
/// summed over the participations and rounded once per item.
fn cost_session(
    lists: &PriceLists,
    policy: &SessionPolicy,
    f: &Facts,
    lists_at: &DateTime<FixedOffset>,
) -> Result<Vec<CostLine>, SessionFault> {
    let mut out = Vec::new();
    for list in lists.costs_at(&f.service, lists_at) {
        let mut by_item: BTreeMap<&str, Exact> = BTreeMap::new();
        // Shared rates: the participants each charge covers, priced once.
        let mut shared: BTreeMap<usize, (&Charge, Vec<usize>)> = BTreeMap::new();
        for (i, part) in f.parts.iter().enumerate() {
            let attrs = role_attr(&part.role);
            for rule in policy.rules_for(&part.role) {
                let item = rule.item.get_ref();
                let Some(c) = list.charge_for(item, None, &attrs) else {
                    continue;
                };
                let raw = match rule.measure {
                    Measure::SharedTime => {
                        let at = list.def.charge.iter().position(|x| std::ptr::eq(x, c));
                        shared
                            .entry(at.unwrap_or(usize::MAX))
                            .or_insert((c, Vec::new()))
                            .1
                            .push(i);
                        continue;
                    }
                    Measure::ActiveTime => price::amount_spans(c, &part.spans, &list.calendar),
                    _ => price::amount(c, quantity(f, rule, i), &f.start.0, &list.calendar),
                }
                .map_err(technical)?;
                let sum = by_item.entry(item).or_default();
                *sum = sum
                    .checked_add(raw)
                    .ok_or_else(|| technical("arithmetic overflow adding up costs"))?;
            }
        }
        for (c, set) in shared.into_values() {
            let sharing = sharers(f, policy, c.item.get_ref());
            let raw =
                shared_amount(f, c, list, &sharing, set[0], Some(&set), None).map_err(technical)?;
            let sum = by_item.entry(c.item.get_ref()).or_default();
            *sum = sum
                .checked_add(raw)
                .ok_or_else(|| technical("arithmetic overflow adding up costs"))?;
        }
        for (item, amount) in by_item {
            out.push(CostLine {
                provider: list.def.provider.clone().unwrap_or_default(),
                table: list.def.id.clone(),
                revision: list.def.revision,
                item: item.to_owned(),
                currency: list.def.currency.clone().unwrap_or_default(),
                amount: list
                    .def
                    .rounding
                    .round(amount)
                    .ok_or_else(|| technical("arithmetic overflow rounding a cost"))?,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::{Origin, Position, Raw};
    use crate::resolve::price_list::RoundingMode;
    use crate::sdr::EventCategory;
    use chrono::DateTime;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn x(s: &str) -> Exact {
        Exact::from_decimal(d(s))
    }

    #[test]
    fn allocation_hands_out_the_rounded_total_cent_by_cent() {
        let r = Rounding {
            decimals: 2,
            mode: RoundingMode::HalfAwayFromZero,
        };
        // 1.00 among three: exactly a third each; the first share gets the cent.
        let third = Exact::ratio(1, 3).unwrap();
        assert_eq!(
            allocate(x("1"), &[third, third, third], r),
            Some(vec![d("0.34"), d("0.33"), d("0.33")])
        );
        // Largest remainder first: 0.124 + 0.876 -> 0.12 + 0.88.
        assert_eq!(
            allocate(x("1.00"), &[x("0.124"), x("0.876")], r),
            Some(vec![d("0.12"), d("0.88")])
        );
        // Equal remainders: the earlier share gets the cent.
        assert_eq!(
            allocate(x("1.00"), &[x("0.125"), x("0.875")], r),
            Some(vec![d("0.13"), d("0.87")])
        );
        // The total is rounded once: 0.005 -> 0.01, to the first of equals.
        assert_eq!(
            allocate(x("0.005"), &[x("0.0025"), x("0.0025")], r),
            Some(vec![d("0.01"), d("0.00")])
        );
    }

    #[test]
    fn finest_rounding_takes_the_most_decimals_and_a_shared_mode() {
        let r = |decimals, mode| Rounding { decimals, mode };
        use RoundingMode as M;
        assert_eq!(
            finest_rounding([r(0, M::Up), r(2, M::Up)].into_iter()),
            r(2, M::Up)
        );
        // Modes that disagree: the default, half away from zero.
        assert_eq!(
            finest_rounding([r(2, M::Down), r(3, M::Up)].into_iter()),
            r(3, M::HalfAwayFromZero)
        );
    }

    fn ev(seq: u32, ty: SessionEventType, who: &str, at: &str) -> Event {
        Event {
            session_id: "g1".into(),
            service: "GAME".into(),
            category: EventCategory::ParticipantRelated,
            event_type: ty,
            provider_event: None,
            timestamp: Timestamp(DateTime::parse_from_rfc3339(at).unwrap()),
            participant_id: who.into(),
            user_name: who.into(),
            billed_party: "C1".into(),
            role: Some("player".into()),
            sequence: Some(seq),
            provider: None,
            marketing_company: None,
            parameters: Vec::new(),
            origin: Origin {
                file: "t".into(),
                position: Position::Line(u64::from(seq) + 1),
                raw: Raw::Row(Vec::new()),
            },
        }
    }

    fn policy(events: Option<&str>) -> SessionPolicy {
        let filter = events
            .map(|e| format!("events = {e}\n"))
            .unwrap_or_default();
        toml::from_str(&format!(
            "{filter}[roles]\n\"*\" = [\"play\"]\n[[rule]]\nitem = \"play\"\nmeasure = \"shared-time\"\n"
        ))
        .unwrap()
    }

    use SessionEventType as T;

    /// The seed's game: p1 starts, p2 and p3 join, p1 leaves, later p2
    /// and p3 leave.
    fn game() -> Session {
        Session {
            id: "g1".into(),
            events: vec![
                ev(1, T::Start, "p1", "2026-11-21T20:00:00+01:00"),
                ev(2, T::Join, "p2", "2026-11-21T20:01:00+01:00"),
                ev(3, T::Join, "p3", "2026-11-21T20:02:00+01:00"),
                ev(4, T::Suspend, "p3", "2026-11-21T20:10:00+01:00"),
                ev(5, T::Resume, "p3", "2026-11-21T20:12:00+01:00"),
                ev(6, T::Leave, "p1", "2026-11-21T20:32:00+01:00"),
                ev(7, T::Leave, "p2", "2026-11-21T20:42:00+01:00"),
                ev(8, T::Leave, "p3", "2026-11-21T20:44:00+01:00"),
            ],
        }
    }

    #[test]
    fn facts_follow_each_participant_and_the_company_they_keep() {
        let f = facts(&game(), &policy(None));
        let secs: Vec<u64> = f.parts.iter().map(|p| p.active_seconds()).collect();
        // p1 20:00-20:32; p2 20:01-20:42; p3 20:02-20:10 and 20:12-20:44.
        assert_eq!(secs, [1920, 2460, 2400]);
        assert_eq!(f.starter.as_deref(), Some("p1"));
        let company: Vec<(u64, usize)> = f
            .segments
            .iter()
            .map(|(_, n, who)| (*n, who.len()))
            .collect();
        assert_eq!(
            company,
            [
                (60, 1),
                (60, 2),
                (480, 3),
                (120, 2),
                (1200, 3),
                (600, 2),
                (120, 1)
            ]
        );
        // Without suspend/resume in the filter, p3 plays straight through.
        let f = facts(
            &game(),
            &policy(Some("[\"start\", \"join\", \"leave\", \"end\"]")),
        );
        assert_eq!(f.parts[2].active_seconds(), 2520);
    }
}
