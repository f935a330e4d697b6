//! Rating one SDR: classify it by its header, resolve a price list for each
//! usage module, price its usage items, and build its pricing modules.

use rust_decimal::Decimal;

use crate::money::Exact;
use crate::price::trace::{self as explain, Side, Step, Trace};
use crate::price::{self, Quantity, interact};
use crate::resolve::price_list::{Charge, Per};
use crate::resolve::{self, Customers, PriceLists, Query, Unresolved};
use crate::sdr::*;

/// What became of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Billing SDR, priced: write the SDR with its pricing modules.
    Priced(Vec<ServicePricingModule>, Totals),
    /// Price request, priced: answered to the producer.
    Answered(Vec<ServicePricingModule>, Totals),
    /// Quality-assurance or service-management SDR: passed on unpriced.
    NotPriced,
    /// One event of a multi-party session; priced per session, not here.
    SessionEvent,
    /// Could not be priced: labelled with the status indicator.
    Fault(Fault),
}

/// Money of one priced SDR, for the run's totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub currency: Text,
    pub marketing_company: Text,
    pub basic: Decimal,
    pub individual: Decimal,
    /// Its usage modules one by one, for the usage analysis.
    pub modules: Modules,
    /// Its network cost, when network costing is configured (a billed SDR
    /// only: not an answer to a price request).
    pub network: Option<Box<NetworkCost>>,
}

/// The network cost of one priced SDR: every hop of its network service
/// modules, costed under its provider's list, and the production cost
/// per usage module and currency (docs/network-costs.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkCost {
    pub sdr_identifier: u32,
    pub producer: Text,
    pub hops: Vec<Hop>,
    pub production: Vec<ProductionLine>,
}

/// One network hop (one `NetworkUsage` of an NSM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub provider: Text,
    pub network: Text,
    /// The switching element (`sseIdentifier`).
    pub element: Option<Text>,
    pub start: Timestamp,
    /// UTC date of the hop's start: the day a provider's invoice counts.
    pub day: chrono::NaiveDate,
    pub seconds: u64,
    pub capacity: Option<u64>,
    /// The service of the usage module the hop's NSM serves.
    pub service: Text,
    /// Its cost, or why it has none (no list): reported, never a fault of
    /// the SDR, whose price does not depend on it.
    pub costed: Result<CostedHop, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostedHop {
    pub list: Text,
    pub revision: u16,
    pub currency: Text,
    pub charged_seconds: u64,
    pub charged_units: u64,
    pub cost: Decimal,
}

/// The production cost of one usage module's network cost in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductionLine {
    pub marketing_company: Text,
    pub service: Text,
    /// The usage module's day of use, as the usage analysis counts it.
    pub day: chrono::NaiveDate,
    pub currency: Text,
    /// Whether the marketing company has production terms.
    pub terms: bool,
    pub cost: price::network::Production,
}

/// One priced usage module, as the usage analysis counts it (in the
/// currency of its [`Totals`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleUsage {
    pub service: Text,
    /// UTC date of the start of use: the earliest time of use of its items.
    pub day: chrono::NaiveDate,
    /// That start of use itself, for the analytics export (computed for
    /// `day` anyway; kept so the export needs no second look at the items).
    pub start: chrono::DateTime<chrono::Utc>,
    /// The customer group of the registry row the module was priced for
    /// (its first item's resolution); a group name is short, so this is
    /// an inline copy, not an allocation.
    pub customer_group: Option<Text>,
    /// Quantities of its items by kind, charged or free.
    pub seconds: u64,
    pub events: u64,
    pub units: u64,
    pub basic: Decimal,
    pub individual: Decimal,
}

/// The usage modules of one priced SDR. Nearly every SDR has one: it is
/// kept inline, and only further modules go to the heap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Modules {
    first: Option<ModuleUsage>,
    more: Vec<ModuleUsage>,
}

impl Modules {
    pub fn one(m: ModuleUsage) -> Self {
        Modules {
            first: Some(m),
            more: Vec::new(),
        }
    }

    pub fn push(&mut self, m: ModuleUsage) {
        match self.first {
            None => self.first = Some(m),
            Some(_) => self.more.push(m),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &ModuleUsage> {
        self.first.iter().chain(&self.more)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub status: StatusIndicator,
    pub detail: String,
    /// Pricing modules labelling the SDR (empty if it could not be decoded).
    pub spms: Vec<ServicePricingModule>,
}

/// Everything needed to price, shared read-only by all workers.
pub struct Rater {
    pub lists: PriceLists,
    pub customers: Customers,
    /// The date and time of pricing written into every pricing module; one
    /// value per run so output does not depend on scheduling.
    pub pricing_time: Timestamp,
    pub pricing_identifier: Text,
    /// What-if re-rating (`sdrate rerate --as-of`): choose price lists as
    /// valid at this time instead of at each usage's time of use. Rate
    /// periods still follow the time of use, for sessions too.
    pub as_of: Option<Timestamp>,
}

/// One usage item of a SUM, ready to price.
struct UsageItem<'a> {
    item: &'a str,
    quantity: Quantity,
    at: Timestamp,
}

/// Attributes a charge's `when` table can match, looked up by ASN.1 name.
fn attribute(sum: &ServiceUsageModule, name: &str) -> Option<Text> {
    // Items of the usage module itself first.
    match name {
        "dialledNumber" => return Some(sum.dialled_number.clone()),
        "userIdentifier" => return sum.user_identifier.clone(),
        "providerIdentifier" => return Some(sum.provider_identifier.clone()),
        "chargedParticipant" => return sum.charged_participant.clone(),
        "marketingCompany" => return Some(sum.marketing_company.clone()),
        _ => {}
    }
    let part = match &sum.service_specific {
        ServiceSpecificPart::Known(p) => p,
        ServiceSpecificPart::Unknown { .. } => return None,
    };
    if let ServicePart::VirtualPrivateNetwork(v) = part {
        let s = match name {
            "privateNumberA" => &v.private_number_a,
            "publicNumberA" => &v.public_number_a,
            "privateNumberB" => &v.private_number_b,
            "publicNumberB" => &v.public_number_b,
            "terminatingLineIdentity" => &v.terminating_line_identity,
            "costDistributionCode" => &v.cost_distribution_code,
            "companyIdentifier" => &v.company_identifier,
            "accountNumber" => &v.account_number,
            _ => &None,
        };
        if s.is_some() {
            return s.clone();
        }
    }
    match (part, name) {
        (ServicePart::VirtualPrivateNetwork(v), "callType") => v.call_type.map(VpnCallType::text),
        (ServicePart::VirtualPrivateNetwork(v), "typeOfAccess") => Some(v.type_of_access.text()),
        (ServicePart::VirtualPrivateNetwork(v), "originatingLineIdentity") => {
            v.originating_line_identity.clone()
        }
        (ServicePart::VirtualCallCentre(v), "serviceCarrier") => Some(v.service_carrier.text()),
        (ServicePart::SignalledAtm(v), "classOfService") => Some(v.class_of_service.text()),
        (ServicePart::BroadBand(v), "typeOfEvent") => Some(v.type_of_event.clone()),
        (ServicePart::FunctionUsage(v), "unit") => Some(v.unit.clone()),
        _ => None,
    }
}

/// The usage items of a SUM, or None for parts priced elsewhere (sessions).
fn usage_items<'a>(
    sdr: &ServiceDetailRecord,
    sum: &'a ServiceUsageModule,
) -> Result<Option<Vec<UsageItem<'a>>>, Unresolved> {
    let part = match &sum.service_specific {
        ServiceSpecificPart::Known(p) => p,
        ServiceSpecificPart::Unknown { .. } => {
            return Err(Unresolved {
                status: StatusIndicator::UnableToLocateRevisionStateOfFeature,
                detail: format!(
                    "service-specific part of {} is of a kind this version does not know",
                    sum.service_feature_code
                ),
            });
        }
    };
    let origin = sdr.service_header.time_of_origin;
    // The NSM correlated with this SUM (or the only one) gives charging
    // start and duration to services that do not carry their own.
    let nsm_usage = sdr.network_service_modules.as_ref().and_then(|nsms| {
        nsms.iter()
            .find(|n| n.nsm_sum_correlator == sum.nsm_sum_correlator)
            .and_then(|n| n.network_usage.first())
    });
    let items = match part {
        ServicePart::VirtualPrivateNetwork(v) => {
            let at = v
                .start_of_charging
                .or(nsm_usage.map(|u| u.start_of_charging))
                .unwrap_or(origin);
            let secs = v
                .chargeable_duration
                .or(nsm_usage.map(|u| u.chargeable_duration))
                .unwrap_or(0);
            vec![UsageItem {
                item: "call",
                quantity: Quantity::Seconds(secs),
                at,
            }]
        }
        ServicePart::VirtualCallCentre(v) => {
            let mut items = Vec::new();
            for e in &v.events {
                if let (Some(at), Some(secs)) = (e.queue_start, e.queue_duration) {
                    items.push(UsageItem {
                        item: "queue",
                        quantity: Quantity::Seconds(secs),
                        at,
                    });
                }
                if let (Some(at), Some(secs)) = (e.connect_start, e.connect_duration) {
                    items.push(UsageItem {
                        item: "connect",
                        quantity: Quantity::Seconds(secs),
                        at,
                    });
                }
            }
            items
        }
        ServicePart::SignalledAtm(v) => vec![UsageItem {
            item: "connection",
            quantity: Quantity::Seconds(v.chargeable_duration),
            at: v.start_of_charging,
        }],
        ServicePart::BroadBand(v) => {
            let mut items = Vec::with_capacity(3);
            items.extend([
                UsageItem {
                    item: "event",
                    quantity: Quantity::Events(1),
                    at: v.start_of_charging,
                },
                UsageItem {
                    item: "time",
                    quantity: Quantity::Seconds(v.chargeable_duration),
                    at: v.start_of_charging,
                },
            ]);
            if let Some(octets) = v.octets_transferred {
                items.push(UsageItem {
                    item: "volume",
                    quantity: Quantity::Units(octets),
                    at: v.start_of_charging,
                });
            }
            items
        }
        ServicePart::FunctionUsage(f) => {
            // A function no list names is caught as "no price" after
            // resolution, so an unknown service is reported as such first.
            let item = f.function.as_str();
            vec![UsageItem {
                item,
                quantity: Quantity::Units(f.quantity),
                at: f.start_time,
            }]
        }
        ServicePart::SessionEvent(_) | ServicePart::ParticipationSummary(_) => return Ok(None),
    };
    Ok(Some(items))
}

/// The kinds of usage item of a usage module, each once in the order
/// they first appear (`event`, `time`, `volume` of a broadband module),
/// read from the decoded SDR as pricing reads them. For the analytics
/// export only, so pricing keeps no list of names; empty for a module
/// that has no items of its own (a session event) or cannot be read.
pub fn item_names(sdr: &ServiceDetailRecord, sum: &ServiceUsageModule) -> Vec<Text> {
    let Ok(Some(items)) = usage_items(sdr, sum) else {
        return Vec::new();
    };
    let mut names: Vec<Text> = Vec::with_capacity(items.len());
    for u in &items {
        if !names.iter().any(|n| n.as_str() == u.item) {
            names.push(Text::from(u.item));
        }
    }
    names
}

fn fault_spm(rater: &Rater, sum: &ServiceUsageModule, u: &Unresolved) -> ServicePricingModule {
    ServicePricingModule {
        module_identifier: ModuleIdentifier::ServicePricing,
        revision_state: MODULE_REVISION,
        sum_spm_correlator: sum.sum_spm_correlator,
        service_pricing_identifier: Some(rater.pricing_identifier.clone()),
        time_of_pricing: rater.pricing_time,
        currency: Text::default(),
        vat_level: Amount::from_decimal(Decimal::ZERO).expect("zero fits"),
        prices: vec![PriceItem {
            price_type: PriceType::Combination,
            basic_price: Amount::from_decimal(Decimal::ZERO).expect("zero fits"),
            individual_price: None,
            price_table_identifier: Text::default(),
            price_table_revision: 0,
            bill_information: Some(u.detail.as_str().into()),
            status_indicator: u.status,
            unknown_items: None,
        }],
        unknown_items: None,
    }
}

fn price_type(per: Per) -> PriceType {
    match per {
        Per::Duration => PriceType::PerTimeSlice,
        Per::Event | Per::Unit => PriceType::PerFunction,
    }
}

fn technical(detail: String) -> Unresolved {
    Unresolved {
        status: StatusIndicator::TechnicalError,
        detail,
    }
}

impl Rater {
    /// Rates one decoded SDR.
    pub fn rate(&self, sdr: &ServiceDetailRecord) -> Outcome {
        self.rate_traced(sdr, None)
    }

    /// Rates one decoded SDR exactly as [`Rater::rate`] does and records
    /// how each price was made, for `sdrate explain`.
    pub fn explain_sdr(&self, sdr: &ServiceDetailRecord) -> (Outcome, Trace) {
        let mut trace = Trace::default();
        let outcome = self.rate_traced(sdr, Some(&mut trace));
        (outcome, trace)
    }

    fn rate_traced(&self, sdr: &ServiceDetailRecord, trace: Option<&mut Trace>) -> Outcome {
        let h = &sdr.service_header;
        let answer = match (h.sdr_type, h.action_indicator) {
            (SdrType::QualityAssurance | SdrType::ServiceManagement, _)
            | (
                _,
                ActionIndicator::QualityAssuranceNotPriced
                | ActionIndicator::ServiceManagementNotPriced,
            ) => {
                return Outcome::NotPriced;
            }
            (_, ActionIndicator::PriceAndForward) => false,
            (_, ActionIndicator::PriceRequest) => true,
            (_, ActionIndicator::Unknown(n)) => {
                return Outcome::Fault(Fault {
                    status: StatusIndicator::TechnicalError,
                    detail: format!("unknown action indicator {n}"),
                    spms: Vec::new(),
                });
            }
        };
        self.price_sdr(sdr, answer, trace)
    }

    /// Whether an SDR is a quality-assurance SDR: priced for the QA report
    /// ("does the invoice look right?"), never billed.
    pub fn is_quality_assurance(sdr: &ServiceDetailRecord) -> bool {
        let h = &sdr.service_header;
        h.sdr_type == SdrType::QualityAssurance
            || h.action_indicator == ActionIndicator::QualityAssuranceNotPriced
    }

    /// Prices an SDR as if it were billed, whatever its type says: for
    /// the quality-assurance report.
    pub fn rate_for_report(&self, sdr: &ServiceDetailRecord) -> Outcome {
        self.price_sdr(sdr, false, None)
    }

    fn price_sdr(
        &self,
        sdr: &ServiceDetailRecord,
        answer: bool,
        mut trace: Option<&mut Trace>,
    ) -> Outcome {
        let mut spms = Vec::with_capacity(sdr.service_usage_modules.len());
        let mut totals: Option<Totals> = None;
        let mut first_fault: Option<Unresolved> = None;
        for (index, sum) in sdr.service_usage_modules.iter().enumerate() {
            explain::record(&mut trace, || Step::UsageModule {
                index,
                service: sum.service_feature_code.to_string(),
                service_revision: sum.revision_state_of_service,
                marketing_company: sum.marketing_company.to_string(),
                access_form: sum.access_form.map(|a| a.to_string()),
                customer_price: sum.customer_price,
                market_price: sum.market_price,
            });
            match self.price_sum(sdr, sum, trace.as_deref_mut()) {
                Ok(None) => return Outcome::SessionEvent,
                Ok(Some((spm, t))) => {
                    explain::record(&mut trace, || Step::ModuleTotal {
                        index,
                        currency: t.currency.to_string(),
                        vat_percent: spm.vat_level.to_decimal().unwrap_or_default(),
                        basic: t.basic,
                        individual: t.individual,
                    });
                    spms.push(spm);
                    match &mut totals {
                        None => totals = Some(t),
                        Some(acc) if acc.currency == t.currency => {
                            match (
                                acc.basic.checked_add(t.basic),
                                acc.individual.checked_add(t.individual),
                            ) {
                                (Some(b), Some(i)) => {
                                    acc.basic = b;
                                    acc.individual = i;
                                    for m in t.modules.iter() {
                                        acc.modules.push(m.clone());
                                    }
                                }
                                _ => {
                                    let u =
                                        technical("arithmetic overflow adding up prices".into());
                                    spms.pop();
                                    spms.push(fault_spm(self, sum, &u));
                                    first_fault.get_or_insert(u);
                                }
                            }
                        }
                        // An SDR is billed in one currency: a module priced in
                        // another is a fault of its own, kept for recycling
                        // once the lists agree (docs/price-lists.md).
                        Some(acc) => {
                            let u = Unresolved {
                                status: StatusIndicator::CurrencyMismatch,
                                detail: format!(
                                    "usage module {index} is priced in {}, the modules before it in {}; an SDR is billed in one currency",
                                    t.currency, acc.currency
                                ),
                            };
                            spms.pop();
                            spms.push(fault_spm(self, sum, &u));
                            first_fault.get_or_insert(u);
                        }
                    }
                }
                Err(u) => {
                    explain::record(&mut trace, || Step::Fault {
                        status: u.status.to_string(),
                        detail: u.detail.clone(),
                    });
                    spms.push(fault_spm(self, sum, &u));
                    first_fault.get_or_insert(u);
                }
            }
        }
        match (first_fault, totals) {
            (Some(u), _) => Outcome::Fault(Fault {
                status: u.status,
                detail: u.detail,
                spms,
            }),
            (None, Some(t)) if answer => Outcome::Answered(spms, t),
            (None, Some(mut t)) => {
                if let Some(net) = &self.lists.network {
                    t.network = Some(Box::new(network_cost(net, sdr, &t)));
                }
                Outcome::Priced(spms, t)
            }
            (None, None) => Outcome::Fault(Fault {
                status: StatusIndicator::TechnicalError,
                detail: "the SDR has no usage module".into(),
                spms,
            }),
        }
    }

    fn price_sum(
        &self,
        sdr: &ServiceDetailRecord,
        sum: &ServiceUsageModule,
        mut trace: Option<&mut Trace>,
    ) -> Result<Option<(ServicePricingModule, Totals)>, Unresolved> {
        let Some(items) = usage_items(sdr, sum)? else {
            return Ok(None);
        };
        let h = &sdr.service_header;
        let customer_id = h
            .customer_identity
            .as_deref()
            .or(sum.charged_participant.as_deref())
            .or(sum.user_identifier.as_deref());
        // Known access forms by their static name: no text per usage module.
        let access_form: Option<std::borrow::Cow<'static, str>> = sum.access_form.map(|a| {
            a.name()
                .map_or_else(|| a.to_string().into(), std::borrow::Cow::Borrowed)
        });
        let attrs = |name: &str| attribute(sum, name);
        let mut prices = Vec::with_capacity(items.len());
        let mut total_basic = Decimal::ZERO;
        let mut total_individual = Decimal::ZERO;
        let mut currency_vat = None;
        // Items no list charges: free, and listed only when nothing else of
        // the module is (so a module all of whose usage is free is priced
        // 0.00, not a fault): (item, price type, list, revision).
        // Zeros in the lists' decimals: 0.00.
        let mut free: Vec<(&str, PriceType, &str, u16, Decimal, Decimal)> = Vec::new();
        let mut last: Option<(chrono::DateTime<chrono::FixedOffset>, resolve::Resolved<'_>)> = None;
        // The customer group of the first resolution, for ModuleUsage.
        let mut group: Option<Option<&str>> = None;
        for u in &items {
            let q = Query {
                service: &sum.service_feature_code,
                service_revision: Some(sum.revision_state_of_service),
                customer_id,
                marketing_company: &sum.marketing_company,
                time_of_use: self.as_of.as_ref().unwrap_or(&u.at),
                customer_price: sum.customer_price,
                market_price: sum.market_price,
            };
            explain::record(&mut trace, || explain_item(u, &q));
            explain::record(&mut trace, || explain_resolution(self, &q));
            // Items of one usage module mostly share their time of use
            // (broadband's event, time and volume): resolved once for them.
            let r = match &last {
                Some((at, r)) if at == q.time_of_use => r.clone(),
                _ => {
                    let r = resolve::resolve(&self.lists, &self.customers, &q)?;
                    group.get_or_insert(r.customer.group);
                    last = Some((*q.time_of_use, r.clone()));
                    r
                }
            };
            let base_charge = r.base.charge_for(u.item, access_form.as_deref(), &attrs);
            // The chosen list's own charge, else the base list's.
            let own_charge = if std::sync::Arc::ptr_eq(r.chosen, r.base) {
                None
            } else {
                r.chosen.charge_for(u.item, access_form.as_deref(), &attrs)
            };
            let Some(chosen_charge) = own_charge.or(base_charge) else {
                // No list charges this item (e.g. queue time): it is free
                // for everybody.
                explain::record(&mut trace, || explain_no_charge(u.item, r.base));
                currency_vat.get_or_insert_with(|| currency_and_vat(&r));
                let kind = match u.quantity {
                    Quantity::Seconds(_) => PriceType::PerTimeSlice,
                    _ => PriceType::PerFunction,
                };
                let zero =
                    |l: &resolve::PriceList| Decimal::new(0, l.def.rounding.decimals.min(28));
                free.push((
                    u.item,
                    kind,
                    r.chosen.def.id.as_str(),
                    r.chosen.def.revision,
                    zero(r.base),
                    zero(r.chosen),
                ));
                continue;
            };
            let err = |e: price::PriceError| technical(e.to_string());
            let t = &mut trace;
            // An item the base list does not charge has a basic price of
            // 0; the chosen list's own charge still sets the individual one.
            let basic_raw = match base_charge {
                Some(base_charge) => {
                    explain::record(t, || {
                        explain::charge_step(Side::Basic, base_charge, r.base, false)
                    });
                    price::amount_traced(
                        base_charge,
                        u.quantity,
                        &u.at,
                        &r.base.calendar,
                        t.as_deref_mut(),
                    )
                    .map_err(err)?
                }
                None => {
                    explain::record(t, || explain_no_charge(u.item, r.base));
                    Exact::ZERO
                }
            };
            // Pricing components registered for the subscriber, if any
            // (docs/interactions.md).
            let own_lists_allowed = q.market_price != Some(true) && q.customer_price != Some(false);
            let components = self.lists.interactions.applicable(
                &sum.service_feature_code,
                r.customer.customer_id,
                &sum.marketing_company,
                r.customer.group,
                own_lists_allowed,
                q.time_of_use,
            );
            // `same_raw`: the individual amount is the basic one, exactly.
            let (individual_raw, table, revision, info, same_raw) = match components {
                None => {
                    let inherited = own_charge.is_none();
                    let chosen_calendar = if inherited {
                        &r.base.calendar
                    } else {
                        &r.chosen.calendar
                    };
                    explain::record(t, || explain_chosen_charge(&r, chosen_charge, inherited));
                    // The same charge with the same calendar gives the same
                    // amount: computed once unless an explanation shows both.
                    let reused = inherited && t.is_none();
                    let mut individual_raw = if reused {
                        basic_raw
                    } else {
                        price::amount_traced(
                            chosen_charge,
                            u.quantity,
                            &u.at,
                            chosen_calendar,
                            t.as_deref_mut(),
                        )
                        .map_err(err)?
                    };
                    if let Some(d) = r.chosen.def.discount_percent {
                        let before = individual_raw;
                        individual_raw = individual_raw.less_percent(d.0).ok_or_else(|| {
                            technical("arithmetic overflow applying a discount".into())
                        })?;
                        explain::record(t, || explain_discount(r.chosen, before, individual_raw));
                    }
                    (
                        individual_raw,
                        &r.chosen.def.id,
                        r.chosen.def.revision,
                        Text::from(u.item),
                        reused && r.chosen.def.discount_percent.is_none(),
                    )
                }
                Some(app) => {
                    // The built-in `list` component: the chosen list's
                    // amount (discount applied, unrounded), with the
                    // attributes as the components before it left them.
                    let list_amount = |attrs: &dyn Fn(&str) -> Option<Text>| {
                        let found = r
                            .chosen
                            .charge_for(u.item, access_form.as_deref(), attrs)
                            .map(|c| (c, &r.chosen.calendar))
                            .or_else(|| {
                                r.base
                                    .charge_for(u.item, access_form.as_deref(), attrs)
                                    .map(|c| (c, &r.base.calendar))
                            });
                        let Some((charge, calendar)) = found else {
                            return Ok(None);
                        };
                        let raw = price::amount(charge, u.quantity, &u.at, calendar)?;
                        match r.chosen.def.discount_percent {
                            None => Ok(Some(raw)),
                            Some(d) => raw
                                .less_percent(d.0)
                                .map(Some)
                                .ok_or_else(|| price::PriceError::Overflow(u.item.to_owned())),
                        }
                    };
                    let usage = interact::Usage {
                        item: u.item,
                        quantity: u.quantity,
                        at: &u.at,
                        attrs: &attrs,
                    };
                    let applied =
                        interact::apply(&self.lists.interactions, &app, &usage, &list_amount);
                    explain::record(t, || explain_components(&app, &applied));
                    let applied = applied.map_err(|f| match f {
                        interact::Failed::Price(e) => err(e),
                        interact::Failed::Component(detail) => Unresolved {
                            status: StatusIndicator::UnableToLocatePriceTable,
                            detail: format!(
                                "profile {} r{}: {detail}",
                                app.profile.id, app.profile.revision
                            ),
                        },
                    })?;
                    (
                        applied.amount,
                        &app.profile.id,
                        app.profile.revision,
                        Text::from(applied.bill_information(u.item)),
                        false,
                    )
                }
            };
            let rounding_overflow = || technical("arithmetic overflow rounding a price".into());
            let basic = r
                .base
                .def
                .rounding
                .round(basic_raw)
                .ok_or_else(rounding_overflow)?;
            let individual = if same_raw && r.chosen.def.rounding == r.base.def.rounding {
                basic
            } else {
                r.chosen
                    .def
                    .rounding
                    .round(individual_raw)
                    .ok_or_else(rounding_overflow)?
            };
            explain::record(t, || explain_rounding(Side::Basic, &r, basic_raw, basic));
            explain::record(t, || {
                explain_rounding(Side::Individual, &r, individual_raw, individual)
            });
            // Decimal's `+` panics on overflow; an overflow is a fault.
            let overflow = || technical("arithmetic overflow adding up prices".into());
            total_basic = total_basic.checked_add(basic).ok_or_else(overflow)?;
            total_individual = total_individual
                .checked_add(individual)
                .ok_or_else(overflow)?;
            let (currency, vat) = currency_and_vat(&r);
            explain::record(&mut trace, || Step::Price {
                item: u.item.to_owned(),
                price_type: price_type(chosen_charge.per).to_string(),
                basic,
                individual,
                currency: currency.to_string(),
                vat_percent: vat,
                list: table.to_string(),
                revision,
            });
            currency_vat.get_or_insert((currency, vat));
            let amount = |d: Decimal| Amount::from_decimal(d).map_err(|e| technical(e.to_string()));
            prices.push(PriceItem {
                price_type: price_type(chosen_charge.per),
                basic_price: amount(basic)?,
                individual_price: Some(amount(individual)?),
                price_table_identifier: Text::from(table.as_str()),
                price_table_revision: revision,
                bill_information: Some(info),
                status_indicator: StatusIndicator::Priced,
                unknown_items: None,
            });
        }
        let Some((currency, vat)) = currency_vat else {
            return Err(Unresolved {
                status: StatusIndicator::UnableToLocatePriceTable,
                detail: format!(
                    "the usage module of {} has no usage item",
                    sum.service_feature_code
                ),
            });
        };
        if prices.is_empty() {
            let amount = |d: Decimal| Amount::from_decimal(d).map_err(|e| technical(e.to_string()));
            for (item, price_type, table, revision, basic, individual) in free {
                prices.push(PriceItem {
                    price_type,
                    basic_price: amount(basic)?,
                    individual_price: Some(amount(individual)?),
                    price_table_identifier: Text::from(table),
                    price_table_revision: revision,
                    bill_information: Some(Text::from(format!("{item}: not charged"))),
                    status_indicator: StatusIndicator::Priced,
                    unknown_items: None,
                });
            }
        }
        let spm = ServicePricingModule {
            module_identifier: ModuleIdentifier::ServicePricing,
            revision_state: MODULE_REVISION,
            sum_spm_correlator: sum.sum_spm_correlator,
            service_pricing_identifier: Some(self.pricing_identifier.clone()),
            time_of_pricing: self.pricing_time,
            currency: currency.clone(),
            vat_level: Amount::from_decimal(vat).map_err(|e| technical(e.to_string()))?,
            prices,
            unknown_items: None,
        };
        let group = group.flatten().map(Text::from);
        let module = module_usage(sum, &items, total_basic, total_individual, group);
        Ok(Some((
            spm,
            Totals {
                currency,
                marketing_company: sum.marketing_company.clone(),
                basic: total_basic,
                individual: total_individual,
                modules: Modules::one(module),
                network: None,
            },
        )))
    }
}

/// The network cost of a priced SDR with totals `t`: each hop of each NSM
/// costed under the list valid at its start, attributed to the usage
/// module the NSM serves (its `nsmSumCorrelator`, else the first).
fn network_cost(
    net: &crate::resolve::network::NetworkCosts,
    sdr: &ServiceDetailRecord,
    t: &Totals,
) -> NetworkCost {
    use crate::price::network::{hop_cost, production};
    let h = &sdr.service_header;
    let sums = &sdr.service_usage_modules;
    let mut hops = Vec::new();
    // (usage module, currency) -> network cost, in order of appearance.
    let mut per_module: Vec<(usize, Text, Option<Decimal>)> = Vec::new();
    for nsm in sdr.network_service_modules.iter().flatten() {
        let index = sums
            .iter()
            .position(|s| s.nsm_sum_correlator == nsm.nsm_sum_correlator)
            .unwrap_or(0);
        let service = sums
            .get(index)
            .map(|s| s.service_feature_code.clone())
            .unwrap_or_default();
        for u in &nsm.network_usage {
            let costed = net
                .find(
                    &u.network_provider,
                    u.type_of_network,
                    &u.start_of_charging.0,
                )
                .and_then(|list| {
                    let p = hop_cost(list, u.chargeable_duration, u.consumed_capacity)
                        .map_err(|e| format!("{} revision {}: {e}", list.id, list.revision))?;
                    Ok(CostedHop {
                        list: Text::from(list.id.as_str()),
                        revision: list.revision,
                        currency: Text::from(list.currency.as_str()),
                        charged_seconds: p.charged_seconds,
                        charged_units: p.charged_units,
                        cost: p.cost,
                    })
                });
            if let Ok(c) = &costed {
                match per_module
                    .iter_mut()
                    .find(|(i, cur, _)| *i == index && *cur == c.currency)
                {
                    Some((_, _, sum)) => *sum = sum.and_then(|s| s.checked_add(c.cost)),
                    None => per_module.push((index, c.currency.clone(), Some(c.cost))),
                }
            }
            hops.push(Hop {
                provider: u.network_provider.clone(),
                network: u.type_of_network.text(),
                element: u.sse_identifier.clone(),
                start: u.start_of_charging,
                day: u.start_of_charging.0.naive_utc().date(),
                seconds: u.chargeable_duration,
                capacity: u.consumed_capacity,
                service: service.clone(),
                costed,
            });
        }
    }
    let days: Vec<chrono::NaiveDate> = t.modules.iter().map(|m| m.day).collect();
    let production = per_module
        .into_iter()
        .filter_map(|(index, currency, sum)| {
            let sum_module = sums.get(index)?;
            let terms = net.terms(
                &sum_module.marketing_company,
                &sum_module.service_feature_code,
            );
            // An overflowing sum of hop costs gives no production line
            // rather than a wrong one.
            let cost = production(sum?, terms, &net.production_rounding)?;
            Some(ProductionLine {
                marketing_company: sum_module.marketing_company.clone(),
                service: sum_module.service_feature_code.clone(),
                day: days.get(index).copied().unwrap_or_else(|| {
                    hops.first()
                        .map_or(h.time_of_origin.0.naive_utc().date(), |hop| hop.day)
                }),
                currency,
                terms: terms.is_some(),
                cost,
            })
        })
        .collect();
    NetworkCost {
        sdr_identifier: h.sdr_identifier,
        producer: h.producer_identity.clone(),
        hops,
        production,
    }
}

/// What the usage analysis counts of a priced usage module with `items`
/// (never empty: a module without items is a fault).
fn module_usage(
    sum: &ServiceUsageModule,
    items: &[UsageItem<'_>],
    basic: Decimal,
    individual: Decimal,
    customer_group: Option<Text>,
) -> ModuleUsage {
    let (mut seconds, mut events, mut units) = (0u64, 0u64, 0u64);
    for u in items {
        // Saturating: one module's quantities come from u64 fields, and a
        // count that cannot be summed is no reason to refuse a price.
        match u.quantity {
            Quantity::Seconds(n) => seconds = seconds.saturating_add(n),
            Quantity::Events(n) => events = events.saturating_add(n),
            Quantity::Units(n) => units = units.saturating_add(n),
        }
    }
    let start = items.iter().map(|u| u.at.0).min().unwrap_or_default();
    ModuleUsage {
        service: sum.service_feature_code.clone(),
        day: start.naive_utc().date(),
        start: start.to_utc(),
        customer_group,
        seconds,
        events,
        units,
        basic,
        individual,
    }
}

/// The currency (the base list's) and VAT (the chosen list's, else the
/// base list's) of a usage priced with `r`.
fn currency_and_vat(r: &resolve::Resolved<'_>) -> (Text, Decimal) {
    let currency = Text::from(r.base.def.currency.as_deref().unwrap_or_default());
    let vat = r
        .chosen
        .def
        .vat_percent
        .or(r.base.def.vat_percent)
        .map_or(Decimal::ZERO, |v| v.0);
    (currency, vat)
}

// Steps of `sdrate explain`, built only when tracing (see
// `crate::price::trace::record`), so `price_sum` stays one line per step.

fn explain_components(
    app: &crate::resolve::profile::Applicable<'_>,
    applied: &Result<interact::Applied, interact::Failed>,
) -> Step {
    let rule = app.rule;
    Step::Components {
        profile: app.profile.id.clone(),
        revision: app.profile.revision,
        owner: app.profile.owner(),
        registered: app.components.to_vec(),
        rule: rule.name.clone(),
        written: rule.path.is_some(),
        order: rule.order.clone(),
        combine: rule.combine,
        conflict: rule.conflict,
        on_failure: rule.on_failure,
        steps: applied
            .as_ref()
            .map(|a| a.steps.clone())
            .unwrap_or_default(),
        amount: applied.as_ref().ok().map(|a| price::shown(a.amount)),
        failure: applied.as_ref().err().map(|f| match f {
            interact::Failed::Component(d) => d.clone(),
            interact::Failed::Price(e) => e.to_string(),
        }),
    }
}

fn explain_item(u: &UsageItem<'_>, q: &Query<'_>) -> Step {
    let (quantity, unit) = match u.quantity {
        Quantity::Events(n) => (n, "events"),
        Quantity::Units(n) => (n, "units"),
        Quantity::Seconds(n) => (n, "seconds"),
    };
    Step::UsageItem {
        item: u.item.to_owned(),
        quantity,
        unit: unit.into(),
        at: u.at.0,
        lists_at: *q.time_of_use,
    }
}

/// Every list resolution could have chosen, and why it did or did not.
fn explain_resolution(rater: &Rater, q: &Query<'_>) -> Step {
    Step::Resolution(Box::new(resolve::candidates::candidates(
        &rater.lists,
        &rater.customers,
        q,
    )))
}

fn explain_no_charge(item: &str, base: &resolve::PriceList) -> Step {
    Step::NoCharge {
        item: item.to_owned(),
        list: base.def.id.clone(),
        revision: base.def.revision,
    }
}

/// The individual side's charge: the chosen list's own, else the base
/// list's (`inherited`).
fn explain_chosen_charge(r: &resolve::Resolved<'_>, chosen: &Charge, inherited: bool) -> Step {
    let holder = if inherited { r.base } else { r.chosen };
    let from_base = inherited && !std::sync::Arc::ptr_eq(r.chosen, r.base);
    explain::charge_step(Side::Individual, chosen, holder, from_base)
}

fn explain_discount(list: &resolve::PriceList, before: Exact, after: Exact) -> Step {
    Step::Discount {
        list: list.def.id.clone(),
        revision: list.def.revision,
        percent: list.def.discount_percent.map_or(Decimal::ZERO, |d| d.0),
        before: price::shown(before),
        after: price::shown(after),
    }
}

fn explain_rounding(side: Side, r: &resolve::Resolved<'_>, before: Exact, after: Decimal) -> Step {
    let list = match side {
        Side::Basic => r.base,
        Side::Individual => r.chosen,
    };
    let currency = Text::from(r.base.def.currency.as_deref().unwrap_or_default());
    explain::rounding_step(side, list, before, after, currency.to_string())
}
