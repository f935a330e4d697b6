//! Price lists: loading, checking, and finding the one valid at a time.
//!
//! One TOML file per list revision (see docs/price-lists.md). A basic list
//! names what a service can price; every base, group and customer list of
//! that service is built on it and may price only what it names.

use crate::sdr::Text;
use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer};

use crate::error::Failure;
use crate::money::Exact;
use crate::resolve::period::{Calendar, HOLIDAY_BIT, Rule};
use crate::resolve::policy::{Measure, SessionPolicy};
use crate::resolve::profile::{self, Interactions};
use crate::resolve::validate::{self, Usage, UsageKind};

/// A decimal read from a TOML string only: `"0.45"`, never `0.45`, so no
/// float ever touches a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money(pub Decimal);

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Decimal>()
            .map(Money)
            .map_err(|e| serde::de::Error::custom(format!("`{s}` is not a decimal amount: {e}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListKind {
    Basic,
    Base,
    Group,
    Customer,
    /// What the retailer pays a service provider (third-party costing).
    Cost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RoundingMode {
    #[default]
    HalfAwayFromZero,
    HalfEven,
    Up,
    Down,
}

impl RoundingMode {
    pub fn strategy(self) -> RoundingStrategy {
        match self {
            RoundingMode::HalfAwayFromZero => RoundingStrategy::MidpointAwayFromZero,
            RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
            RoundingMode::Up => RoundingStrategy::AwayFromZero,
            RoundingMode::Down => RoundingStrategy::ToZero,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rounding {
    #[serde(default = "two")]
    pub decimals: u32,
    #[serde(default)]
    pub mode: RoundingMode,
}

fn two() -> u32 {
    2
}

impl Default for Rounding {
    fn default() -> Self {
        Rounding {
            decimals: 2,
            mode: RoundingMode::default(),
        }
    }
}

impl Rounding {
    /// Rounds an exact amount once, to exactly `decimals` decimals; None
    /// when the result does not fit a decimal (an overflow of the record).
    pub fn round(&self, x: Exact) -> Option<Decimal> {
        x.round(self.decimals, self.mode.strategy())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// A price per event or function performed.
    Event,
    /// A price per `unit_size` units of quantity (pages, octets...),
    /// the quantity rounded up to whole unit sizes.
    Unit,
    /// A price per `unit_seconds` of duration, charged in increments.
    Duration,
}

/// A price: one amount, or one amount per rate period of the list
/// (`{ peak = "0.60", offpeak = "0.30" }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceSpec {
    Flat(Money),
    ByPeriod(BTreeMap<String, Money>),
}

impl<'de> Deserialize<'de> for PriceSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PriceSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "an amount as a string (\"0.60\") or a table of amounts per period ({ peak = \"0.60\", offpeak = \"0.30\" })",
                )
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<PriceSpec, E> {
                s.parse::<Decimal>()
                    .map(|d| PriceSpec::Flat(Money(d)))
                    .map_err(|e| E::custom(format!("`{s}` is not a decimal amount: {e}")))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<PriceSpec, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = m.next_entry::<String, Money>()? {
                    if out.insert(k.clone(), v).is_some() {
                        return Err(serde::de::Error::custom(format!(
                            "period `{k}` priced twice"
                        )));
                    }
                }
                Ok(PriceSpec::ByPeriod(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl PriceSpec {
    /// Every amount it names.
    pub fn amounts(&self) -> Vec<Decimal> {
        match self {
            PriceSpec::Flat(m) => vec![m.0],
            PriceSpec::ByPeriod(t) => t.values().map(|m| m.0).collect(),
        }
    }

    pub fn by_period(&self) -> bool {
        matches!(self, PriceSpec::ByPeriod(_))
    }

    /// The amount for a period name, if it has one.
    pub fn for_period(&self, period: &str) -> Option<Decimal> {
        match self {
            PriceSpec::Flat(m) => Some(m.0),
            PriceSpec::ByPeriod(t) => t.get(period).map(|m| m.0),
        }
    }
}

/// How a tier table prices a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TierMode {
    /// Each portion of the quantity at the price of the tier it falls in.
    Graduated,
    /// The whole quantity at the price of the tier its total reaches.
    Volume,
}

/// One tier: from this quantity on (item units: seconds, units, events).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub from: toml::Spanned<u64>,
    pub price: toml::Spanned<PriceSpec>,
}

/// A declared pricing function of the charged quantity `n`, counted in
/// price units (per unit_seconds, per unit_size units, or events).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "fn", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Algorithm {
    /// `setup + rate * n`.
    Linear {
        #[serde(default)]
        setup: Option<Money>,
        rate: Money,
    },
    /// `min(setup + rate * n, cap)`: a price that stops growing.
    Capped {
        #[serde(default)]
        setup: Option<Money>,
        rate: Money,
        cap: Money,
    },
    /// `setup + rate * (n - free)` for the part above a free allowance;
    /// `free` is in item units (seconds, units, events) like tier
    /// thresholds.
    Allowance {
        #[serde(default)]
        setup: Option<Money>,
        free: u64,
        rate: Money,
    },
}

/// One priced item of a list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    pub item: toml::Spanned<String>,
    pub per: Per,
    /// A flat price, or one per period. Exactly one of `price`, `tiers`
    /// (with `tier`) and `algorithm` is set.
    pub price: Option<toml::Spanned<PriceSpec>>,
    /// Prices by quantity tiers, listed in `tier`.
    pub tiers: Option<TierMode>,
    #[serde(default)]
    pub tier: Vec<Tier>,
    pub algorithm: Option<toml::Spanned<Algorithm>>,
    /// `unit`: the price is for this many units (default 1).
    pub unit_size: Option<u64>,
    /// `duration`: the price is for this many seconds (default 60).
    pub unit_seconds: Option<u64>,
    /// `duration`: the first charged increment in seconds (default 1).
    pub first_increment: Option<u64>,
    /// `duration`: every following increment in seconds (default 1).
    pub next_increment: Option<u64>,
    /// Least amount charged for a non-zero usage.
    pub minimum: Option<Money>,
    /// Applies only to usage with this access form.
    pub access_form: Option<String>,
    /// Applies only when every named usage attribute has the given value.
    #[serde(default)]
    pub when: BTreeMap<String, String>,
}

impl Charge {
    /// How specific the charge is; the most specific matching charge wins.
    pub fn specificity(&self) -> usize {
        usize::from(self.access_form.is_some()) + self.when.len()
    }
}

/// One revision of one price list, as written in its file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceListDef {
    pub id: String,
    pub revision: u16,
    pub kind: ListKind,
    pub service: String,
    pub based_on: Option<toml::Spanned<String>>,
    pub marketing_company: Option<String>,
    pub group: Option<String>,
    pub customer: Option<String>,
    /// cost lists: the service provider paid.
    pub provider: Option<String>,
    #[serde(deserialize_with = "rfc3339")]
    pub valid_from: DateTime<FixedOffset>,
    #[serde(default, deserialize_with = "rfc3339_opt")]
    pub valid_to: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub cancelled: bool,
    /// basic lists: the items the service can price.
    pub items: Option<Vec<String>>,
    /// basic lists: the revisions of the service's usage data they know.
    pub service_revisions: Option<Vec<u16>>,
    /// basic lists: the usage module the service's SDRs carry, by its ASN.1
    /// name (`virtualPrivateNetwork`...): what its charges' `when` can
    /// match. A list with a `[session]` policy names none.
    pub usage: Option<toml::Spanned<String>>,
    pub currency: Option<String>,
    pub vat_percent: Option<Money>,
    #[serde(default)]
    pub rounding: Rounding,
    /// group and customer lists: discount on the price, in percent.
    pub discount_percent: Option<Money>,
    /// IANA time zone of the list's rate periods and holidays (default UTC).
    pub time_zone: Option<toml::Spanned<String>>,
    /// Dates (`"2026-12-24"`) that are the day type `holiday`, whatever
    /// their weekday.
    #[serde(default)]
    pub holidays: Vec<toml::Spanned<String>>,
    /// The period of every time no `[[period]]` covers (default `offpeak`).
    pub default_period: Option<toml::Spanned<String>>,
    /// Rate periods; the first entry that covers a time wins.
    #[serde(default)]
    pub period: Vec<PeriodDef>,
    #[serde(default)]
    pub charge: Vec<Charge>,
    /// basic lists of multi-party session services: the tariff policy.
    pub session: Option<SessionPolicy>,
}

/// One `[[period]]` entry: a named period on some day types, between two
/// local times.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodDef {
    pub name: toml::Spanned<String>,
    /// `mon`...`sun` and `holiday`.
    pub days: Vec<toml::Spanned<String>>,
    /// `"HH:MM"`, inclusive (default `"00:00"`).
    pub from: Option<toml::Spanned<String>>,
    /// `"HH:MM"` or `"24:00"`, exclusive (default `"24:00"`).
    pub to: Option<toml::Spanned<String>>,
}

/// A loaded list revision with where it came from.
#[derive(Debug)]
pub struct PriceList {
    pub def: PriceListDef,
    pub path: PathBuf,
    /// Its rate periods, built from `time_zone`, `holidays` and `period`.
    pub calendar: Calendar,
}

impl PriceList {
    pub fn is_valid_at(&self, t: &DateTime<FixedOffset>) -> bool {
        !self.def.cancelled
            && self.def.valid_from <= *t
            && self.def.valid_to.is_none_or(|to| *t < to)
    }

    /// The most specific charge for `item` matching the usage.
    pub fn charge_for(
        &self,
        item: &str,
        access_form: Option<&str>,
        attrs: &dyn Fn(&str) -> Option<Text>,
    ) -> Option<&Charge> {
        self.def
            .charge
            .iter()
            .filter(|c| c.item.get_ref() == item)
            .filter(|c| {
                c.access_form
                    .as_deref()
                    .is_none_or(|a| Some(a) == access_form)
            })
            .filter(|c| c.when.iter().all(|(k, v)| attrs(k).as_deref() == Some(v)))
            .max_by_key(|c| c.specificity())
    }
}

/// Who a list belongs to, for resolution. Lookups use `Owner<&str>`, so
/// finding a list allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner<S> {
    Company(S),
    /// Marketing company and group.
    Group(S, S),
    Customer(S),
}

type Revisions = Vec<Arc<PriceList>>;

/// The lists of one service, by owner.
#[derive(Debug, Default)]
struct ServiceLists {
    company: FxHashMap<String, Revisions>,
    /// Marketing company, then group.
    group: FxHashMap<String, FxHashMap<String, Revisions>>,
    customer: FxHashMap<String, Revisions>,
}

impl ServiceLists {
    fn owned(&self, owner: Owner<&str>) -> Option<&Revisions> {
        match owner {
            Owner::Company(c) => self.company.get(c),
            Owner::Group(c, g) => self.group.get(c)?.get(g),
            Owner::Customer(id) => self.customer.get(id),
        }
    }
}

/// The lists of one known service ([`PriceLists::service`]).
#[derive(Debug, Clone, Copy)]
pub struct ServiceView<'a> {
    basic: &'a Revisions,
    priced: Option<&'a ServiceLists>,
}

impl<'a> ServiceView<'a> {
    /// The basic list valid at `t`.
    pub fn basic_at(&self, t: &DateTime<FixedOffset>) -> Option<&'a Arc<PriceList>> {
        valid_at(self.basic, t)
    }

    fn owned(&self, owner: Owner<&str>) -> Option<&'a Revisions> {
        self.priced?.owned(owner)
    }

    /// Every revision of the owner's list of the service; None when the
    /// owner has none.
    pub fn revisions_of(&self, owner: Owner<&str>) -> Option<&'a [Arc<PriceList>]> {
        self.owned(owner).map(Vec::as_slice)
    }

    /// The owner's list valid at `t`.
    pub fn list_at(
        &self,
        owner: Owner<&str>,
        t: &DateTime<FixedOffset>,
    ) -> Option<&'a Arc<PriceList>> {
        valid_at(self.owned(owner)?, t)
    }
}

/// Every list revision, indexed for resolution.
#[derive(Debug, Default)]
pub struct PriceLists {
    basic: FxHashMap<String, Revisions>,
    priced: FxHashMap<String, ServiceLists>,
    /// Cost lists: service, then provider.
    cost: BTreeMap<String, BTreeMap<String, Revisions>>,
    count: usize,
    /// Subscriber profiles, pricing components and interaction rules
    /// (the `profiles/` sub-directory).
    pub interactions: Interactions,
    /// Network cost lists and production terms (`--network-costs DIR`,
    /// docs/network-costs.md); None: no network costing.
    pub network: Option<crate::resolve::network::NetworkCosts>,
}

/// Where a list's values are written, for messages: read again from the
/// list's text once it has loaded, so the list's own types stay plain.
#[derive(Debug, Default, Deserialize)]
struct Located {
    id: Option<toml::Spanned<String>>,
    currency: Option<toml::Spanned<String>>,
    vat_percent: Option<toml::Spanned<toml::Value>>,
    rounding: Option<toml::Spanned<toml::Value>>,
    #[serde(default)]
    charge: Vec<LocatedCharge>,
}

#[derive(Debug, Default, Deserialize)]
struct LocatedCharge {
    access_form: Option<toml::Spanned<String>>,
    #[serde(default)]
    when: BTreeMap<toml::Spanned<String>, toml::Spanned<String>>,
}

impl Located {
    fn of(src: &str) -> Self {
        toml::from_str(src).unwrap_or_default()
    }
}

pub(crate) fn config_error(
    path: &Path,
    src: &str,
    span: Option<std::ops::Range<usize>>,
    msg: &str,
) -> anyhow::Error {
    let at = span
        .map(|s| {
            let before = &src[..s.start.min(src.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!(": line {line}, column {col}")
        })
        .unwrap_or_default();
    Failure::Config(format!("{}{at}: {msg}", path.display())).into()
}

/// A validity time: RFC 3339 with its UTC offset. chrono's own message for
/// a bare date (`2026-01-01`) is "premature end of input", which names
/// neither the format nor the fix.
fn rfc3339<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
    let s = String::deserialize(d)?;
    parse_validity(&s).map_err(serde::de::Error::custom)
}

fn rfc3339_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
    let s = String::deserialize(d)?;
    parse_validity(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn parse_validity(s: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(s).map_err(|e| {
        format!(
            "`{s}` is not an RFC 3339 time ({e}): give a date, a time and the UTC offset of the list's time zone, such as 2026-01-01T00:00:00+01:00"
        )
    })
}

impl PriceLists {
    /// Loads every `*.toml` under `dir` (recursively, sorted) and checks
    /// them; the first problem stops the load.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        let mut files = Vec::new();
        let profiles = dir.join(profile::DIR);
        if !dir.exists() {
            return Err(Failure::Config(format!(
                "there is no price-list directory {}: give the directory with --price-lists DIR (or SDRATE_PRICE_LISTS); sdrate looks in ./price_lists by default",
                dir.display()
            ))
            .into());
        }
        collect_toml(dir, &profiles, &mut files)
            .with_context(|| format!("cannot read price lists in {}", dir.display()))?;
        files.sort();
        let mut sources = Vec::new();
        for f in files {
            let src = std::fs::read_to_string(&f).map_err(|e| {
                Failure::Config(format!("cannot read price list {}: {e}", f.display()))
            })?;
            sources.push((f, src));
        }
        let mut lists = Self::from_sources(sources)?;
        lists.interactions = Interactions::load_dir(&profiles)?;
        Ok(lists)
    }

    /// Loads lists from (path, text) pairs.
    pub fn from_sources(sources: Vec<(PathBuf, String)>) -> Result<Self> {
        let mut parsed: Vec<(PathBuf, String, PriceListDef)> = Vec::new();
        for (path, src) in sources {
            let def: PriceListDef = toml::from_str(&src)
                .map_err(|e| config_error(&path, &src, e.span(), e.message()))?;
            parsed.push((path, src, def));
        }
        // A published revision is immutable: same id and revision must mean
        // the same content.
        let mut seen: HashMap<(String, u16), usize> = HashMap::new();
        let mut unique = Vec::new();
        for (i, (path, _, def)) in parsed.iter().enumerate() {
            match seen.get(&(def.id.clone(), def.revision)) {
                Some(&j) => {
                    if parsed[j].2 != *def {
                        return Err(Failure::Config(format!(
                            "{}: price list {} revision {} differs from the one in {}; a published revision is immutable, publish a new revision instead",
                            path.display(),
                            def.id,
                            def.revision,
                            parsed[j].0.display()
                        ))
                        .into());
                    }
                }
                None => {
                    seen.insert((def.id.clone(), def.revision), i);
                    unique.push(i);
                }
            }
        }
        check_overlaps(&parsed, &unique)?;
        let mut lists = PriceLists::default();
        let basics: HashMap<&str, &PriceListDef> = parsed
            .iter()
            .filter(|(_, _, d)| d.kind == ListKind::Basic)
            .map(|(_, _, d)| (d.id.as_str(), d))
            .collect();
        let mut calendars = HashMap::new();
        for &i in &unique {
            let (path, src, def) = &parsed[i];
            let cal = calendar(path, src, def)?;
            check(path, src, def, &basics, &cal)?;
            calendars.insert(i, cal);
        }
        for i in unique {
            let (path, _, def) = parsed[i].clone();
            let calendar = calendars.remove(&i).unwrap_or_default();
            if def.kind == ListKind::Cost {
                let service = def.service.clone();
                let provider = def.provider.clone().unwrap_or_default();
                lists
                    .cost
                    .entry(service)
                    .or_default()
                    .entry(provider)
                    .or_default()
                    .push(Arc::new(PriceList {
                        def,
                        path,
                        calendar,
                    }));
                lists.count += 1;
                continue;
            }
            let owner = match def.kind {
                ListKind::Basic | ListKind::Cost => None,
                ListKind::Base => Some(Owner::Company(
                    def.marketing_company.clone().unwrap_or_default(),
                )),
                ListKind::Group => Some(Owner::Group(
                    def.marketing_company.clone().unwrap_or_default(),
                    def.group.clone().unwrap_or_default(),
                )),
                ListKind::Customer => {
                    Some(Owner::Customer(def.customer.clone().unwrap_or_default()))
                }
            };
            let service = def.service.clone();
            let list = Arc::new(PriceList {
                def,
                path,
                calendar,
            });
            match owner {
                None => lists.basic.entry(service).or_default().push(list),
                Some(o) => {
                    let by_owner = lists.priced.entry(service).or_default();
                    let revisions = match o {
                        Owner::Company(c) => by_owner.company.entry(c).or_default(),
                        Owner::Group(c, g) => {
                            by_owner.group.entry(c).or_default().entry(g).or_default()
                        }
                        Owner::Customer(id) => by_owner.customer.entry(id).or_default(),
                    };
                    revisions.push(list);
                }
            }
            lists.count += 1;
        }
        Ok(lists)
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Every list revision, in a stable order (id, then revision), for
    /// manifests.
    pub fn all(&self) -> impl Iterator<Item = &Arc<PriceList>> {
        let mut v: Vec<&Arc<PriceList>> = self.iter().collect();
        v.sort_by(|a, b| (&a.def.id, a.def.revision).cmp(&(&b.def.id, b.def.revision)));
        v.into_iter()
    }

    /// Every loaded revision (basic, base, group, customer and cost lists),
    /// in no particular order; for reports such as `sdrate check`.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<PriceList>> {
        let priced = self.priced.values().flat_map(|s| {
            s.company
                .values()
                .chain(s.group.values().flat_map(|g| g.values()))
                .chain(s.customer.values())
        });
        self.basic
            .values()
            .chain(priced)
            .chain(self.cost.values().flat_map(|p| p.values()))
            .flatten()
    }

    /// The longest any session may stay open under any basic list's
    /// policy (the default, where a list sets none): how long the assembler
    /// remembers a priced session to recognise late copies of its events.
    pub fn longest_session_seconds(&self) -> i64 {
        let default = super::policy::DEFAULT_MAX_OPEN_HOURS as i64 * 3600;
        self.basic
            .values()
            .flatten()
            .filter_map(|l| l.def.session.as_ref())
            .map(super::policy::SessionPolicy::max_open_seconds)
            .fold(default, i64::max)
    }

    /// Whether any basic list exists for the service at all.
    pub fn knows_service(&self, service: &str) -> bool {
        self.basic.contains_key(service)
    }

    /// The basic list of a service valid at `t`.
    pub fn basic_at(&self, service: &str, t: &DateTime<FixedOffset>) -> Option<&Arc<PriceList>> {
        valid_at(self.basic.get(service)?, t)
    }

    fn owned(&self, service: &str, owner: Owner<&str>) -> Option<&Revisions> {
        self.priced.get(service)?.owned(owner)
    }

    /// The lists of one service, looked up once: resolution asks several
    /// questions of the same service for every usage module.
    pub fn service(&self, service: &str) -> Option<ServiceView<'_>> {
        Some(ServiceView {
            basic: self.basic.get(service)?,
            priced: self.priced.get(service),
        })
    }

    /// Whether the owner has any list of the service (valid or not).
    pub fn has_owner(&self, service: &str, owner: Owner<&str>) -> bool {
        self.owned(service, owner).is_some()
    }

    /// The owner's list of `service` valid at `t`.
    pub fn list_at(
        &self,
        service: &str,
        owner: Owner<&str>,
        t: &DateTime<FixedOffset>,
    ) -> Option<&Arc<PriceList>> {
        valid_at(self.owned(service, owner)?, t)
    }

    /// The cost list of every provider of `service` valid at `t`, by
    /// provider name.
    pub fn costs_at(&self, service: &str, t: &DateTime<FixedOffset>) -> Vec<&Arc<PriceList>> {
        self.cost
            .get(service)
            .into_iter()
            .flat_map(|by_provider| by_provider.values())
            .filter_map(|revs| valid_at(revs, t))
            .collect()
    }

    /// Every revision of the owner's list of `service`, for explanations.
    pub fn revisions(&self, service: &str, owner: Owner<&str>) -> &[Arc<PriceList>] {
        self.owned(service, owner).map_or(&[], Vec::as_slice)
    }
}

/// Among revisions valid at `t`, the one that took effect last (then the
/// highest revision): a new revision supersedes from its valid-from on,
/// while earlier usage keeps the revision valid when it happened.
pub(crate) fn valid_at<'a>(
    revs: &'a [Arc<PriceList>],
    t: &DateTime<FixedOffset>,
) -> Option<&'a Arc<PriceList>> {
    revs.iter()
        .filter(|l| l.is_valid_at(t))
        .max_by_key(|l| (l.def.valid_from, l.def.revision))
}

/// Two lists of one kind, owner and service with the same revision and
/// the same valid_from (and neither cancelled) would price by whichever
/// file sorts last: an error naming both files.
fn check_overlaps(parsed: &[(PathBuf, String, PriceListDef)], unique: &[usize]) -> Result<()> {
    let mut slots: HashMap<String, usize> = HashMap::new();
    for &i in unique {
        let (path, src, def) = &parsed[i];
        if def.cancelled {
            continue;
        }
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        let owner = match def.kind {
            ListKind::Basic => "the service".to_owned(),
            ListKind::Base => format!("marketing company {}", s(&def.marketing_company)),
            ListKind::Group => format!("group {} of {}", s(&def.group), s(&def.marketing_company)),
            ListKind::Customer => format!("customer {}", s(&def.customer)),
            ListKind::Cost => format!("provider {}", s(&def.provider)),
        };
        let key = format!(
            "{:?}\0{owner}\0{}\0{}\0{}",
            def.kind,
            def.service,
            def.revision,
            def.valid_from.timestamp()
        );
        if let Some(&j) = slots.get(&key) {
            let (other_path, _, other) = &parsed[j];
            let span = Located::of(src).id.map(|id| id.span());
            return Err(config_error(
                path,
                src,
                span,
                &format!(
                    "price list {} overlaps {} in {}: both are the {} list of {owner} for {}, revision {}, valid from {}, so which one prices would depend on the file names; give one a later valid_from or a higher revision, or cancel one",
                    def.id,
                    other.id,
                    other_path.display(),
                    format!("{:?}", def.kind).to_lowercase(),
                    def.service,
                    def.revision,
                    def.valid_from.to_rfc3339()
                ),
            ));
        }
        slots.insert(key, i);
    }
    Ok(())
}

/// Every `*.toml` under `dir` except those under `skip` (profiles).
///
/// Symbolic links are followed, so a list can be shared between
/// directories, but a link back to a directory being walked (a loop) is a
/// configuration error naming it: followed, it would load the same files
/// over and over under longer and longer names until the system gave up,
/// and the profiles below it would be read as price lists. A directory
/// or entry that cannot be read is a configuration error too, naming it.
pub(crate) fn collect_toml(dir: &Path, skip: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut walking = Vec::new();
    collect_toml_in(dir, skip, out, &mut walking)
}

fn collect_toml_in(
    dir: &Path,
    skip: &Path,
    out: &mut Vec<PathBuf>,
    walking: &mut Vec<PathBuf>,
) -> Result<()> {
    let unreadable =
        |p: &Path, e: std::io::Error| Failure::Config(format!("cannot read {}: {e}", p.display()));
    let real = std::fs::canonicalize(dir).map_err(|e| unreadable(dir, e))?;
    if walking.contains(&real) {
        return Err(Failure::Config(format!(
            "{}: symbolic link loop: it leads back to {}, which holds it",
            dir.display(),
            real.display()
        ))
        .into());
    }
    walking.push(real);
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| unreadable(dir, e))? {
        entries.push(entry.map_err(|e| unreadable(dir, e))?.path());
    }
    for p in entries {
        if p == skip {
            continue;
        }
        let meta = std::fs::metadata(&p).map_err(|e| unreadable(&p, e))?;
        if meta.is_dir() {
            collect_toml_in(&p, skip, out, walking)?;
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
    walking.pop();
    Ok(())
}

fn check(
    path: &Path,
    src: &str,
    def: &PriceListDef,
    basics: &HashMap<&str, &PriceListDef>,
    cal: &Calendar,
) -> Result<()> {
    let fail = |msg: String| Err(config_error(path, src, None, &msg));
    if let Some(to) = def.valid_to
        && to <= def.valid_from
    {
        return fail(format!(
            "valid_to {to} is not after valid_from {}",
            def.valid_from
        ));
    }
    let located = Located::of(src);
    check_terms(path, src, def, &located)?;
    if def.kind == ListKind::Basic {
        if def.items.as_ref().is_none_or(Vec::is_empty) {
            return fail("a basic list must name the items it can price (items = [...])".into());
        }
        check_usage_key(path, src, def)?;
        if !def.charge.is_empty() || !def.period.is_empty() {
            return fail(
                "a basic list names items; prices and periods belong in base, group and customer lists".into(),
            );
        }
        if let Some(policy) = &def.session {
            policy
                .check(def.items.as_deref().unwrap_or(&[]))
                .map_err(|(span, msg)| {
                    config_error(path, src, span, &format!("[session]: {msg}"))
                })?;
        }
        return Ok(());
    }
    if def.session.is_some() {
        return fail("only a basic list holds a [session] tariff policy".into());
    }
    let Some(based_on) = &def.based_on else {
        return fail(format!(
            "{:?} list must say which basic list it is based_on",
            def.kind
        ));
    };
    let Some(basic) = basics.get(based_on.get_ref().as_str()) else {
        return Err(config_error(
            path,
            src,
            Some(based_on.span()),
            &format!(
                "based_on `{}` is not a basic price list",
                based_on.get_ref()
            ),
        ));
    };
    if basic.service != def.service {
        return Err(config_error(
            path,
            src,
            Some(based_on.span()),
            &format!(
                "based_on `{}` is for service {}, this list is for {}",
                based_on.get_ref(),
                basic.service,
                def.service
            ),
        ));
    }
    let need = |field: &str, present: bool| {
        if present {
            Ok(())
        } else {
            fail(format!("{:?} list needs `{field}`", def.kind))
        }
    };
    need(
        "marketing_company",
        def.marketing_company.is_some() || matches!(def.kind, ListKind::Customer | ListKind::Cost),
    )?;
    if def.kind == ListKind::Cost {
        need("provider", def.provider.is_some())?;
        need("currency", def.currency.is_some())?;
        if basic.session.is_none() {
            return fail(format!(
                "cost lists price multi-party sessions; basic list {} has no [session] policy",
                basic.id
            ));
        }
    } else if def.provider.is_some() {
        return fail("only a cost list names a `provider`".into());
    }
    if def.kind == ListKind::Group {
        need("group", def.group.is_some())?;
    }
    if def.kind == ListKind::Customer {
        need("customer", def.customer.is_some())?;
    }
    if def.kind == ListKind::Base {
        need("currency", def.currency.is_some())?;
        need("vat_percent", def.vat_percent.is_some())?;
        if def.discount_percent.is_some() {
            return fail(
                "a base list sets prices; discounts belong in group and customer lists".into(),
            );
        }
    }
    if let Some(d) = def.discount_percent
        && (d.0 < Decimal::ZERO || d.0 > Decimal::ONE_HUNDRED)
    {
        return fail(format!("discount_percent {} is not between 0 and 100", d.0));
    }
    let items = basic.items.as_deref().unwrap_or(&[]);
    let usage = usage_of(basic);
    for (i, c) in def.charge.iter().enumerate() {
        if !items.contains(c.item.get_ref()) {
            return Err(config_error(
                path,
                src,
                Some(c.item.span()),
                &format!(
                    "item `{}` is not named by basic list {} (it names: {})",
                    c.item.get_ref(),
                    basic.id,
                    items.join(", ")
                ),
            ));
        }
        let zero = |v: Option<u64>| v == Some(0);
        if zero(c.unit_size)
            || zero(c.unit_seconds)
            || zero(c.first_increment)
            || zero(c.next_increment)
        {
            return Err(config_error(
                path,
                src,
                Some(c.item.span()),
                "unit sizes and increments must be at least 1",
            ));
        }
        check_pricing(path, src, c, cal)?;
        check_conditions(
            path,
            src,
            c,
            located.charge.get(i),
            &usage,
            basic.session.as_ref(),
        )?;
        if let Some(rule) = basic
            .session
            .as_ref()
            .and_then(|p| p.rule(c.item.get_ref()))
        {
            check_session_charge(path, src, c, rule.measure)?;
        }
    }
    Ok(())
}

/// What the charges of lists based on `basic` can match on.
pub(crate) fn usage_of(basic: &PriceListDef) -> Usage {
    if basic.session.is_some() {
        return Usage::Session;
    }
    match basic
        .usage
        .as_ref()
        .and_then(|u| UsageKind::from_name(u.get_ref()))
    {
        Some(k) => Usage::Module(k),
        None => Usage::Undeclared,
    }
}

/// A basic list's `usage`: a usage module by its ASN.1 name, whose items
/// the list names; none for a session service.
fn check_usage_key(path: &Path, src: &str, def: &PriceListDef) -> Result<()> {
    let Some(u) = &def.usage else {
        return Ok(());
    };
    let at = |msg: String| Err(config_error(path, src, Some(u.span()), &msg));
    if def.session.is_some() {
        return at(
            "a session service's usage is its session events: a basic list with [session] names no `usage`"
                .into(),
        );
    }
    let Some(kind) = UsageKind::from_name(u.get_ref()) else {
        let known = UsageKind::ALL.map(UsageKind::name);
        return at(format!(
            "usage `{}` is not a usage module (it takes: {}){}",
            u.get_ref(),
            known.join(", "),
            validate::did_you_mean(u.get_ref(), known)
        ));
    };
    if let Some(made) = kind.items() {
        let items = def.items.as_deref().unwrap_or(&[]);
        if let Some(bad) = items.iter().find(|i| !made.contains(&i.as_str())) {
            return fail_items(path, src, def, bad, kind, made);
        }
    }
    Ok(())
}

fn fail_items(
    path: &Path,
    src: &str,
    def: &PriceListDef,
    bad: &str,
    kind: UsageKind,
    made: &[&str],
) -> Result<()> {
    let span = def.usage.as_ref().map(toml::Spanned::span);
    Err(config_error(
        path,
        src,
        span,
        &format!(
            "item `{bad}` is never priced: the {} usage module gives the items {}{}",
            kind.name(),
            made.join(", "),
            validate::did_you_mean(bad, made.iter().copied())
        ),
    ))
}

/// Currency, VAT and rounding: an ISO 4217 code, 0-100 %, and no more
/// decimals than the pricing module carries.
fn check_terms(path: &Path, src: &str, def: &PriceListDef, located: &Located) -> Result<()> {
    if let Some(c) = &def.currency {
        validate::check_currency(c).map_err(|m| {
            config_error(path, src, located.currency.as_ref().map(|c| c.span()), &m)
        })?;
    }
    if let Some(v) = def.vat_percent
        && (v.0 < Decimal::ZERO || v.0 > Decimal::ONE_HUNDRED)
    {
        return Err(config_error(
            path,
            src,
            located.vat_percent.as_ref().map(|v| v.span()),
            &format!("vat_percent {} is not between 0 and 100", v.0),
        ));
    }
    validate::check_decimals(def.rounding.decimals)
        .map_err(|m| config_error(path, src, located.rounding.as_ref().map(|r| r.span()), &m))
}

/// A charge's `access_form` and `when`: names and values the usage can
/// have, so the charge can match at all.
fn check_conditions(
    path: &Path,
    src: &str,
    c: &Charge,
    located: Option<&LocatedCharge>,
    usage: &Usage,
    policy: Option<&SessionPolicy>,
) -> Result<()> {
    if let Some(a) = &c.access_form {
        let span = located
            .and_then(|l| l.access_form.as_ref())
            .map_or(c.item.span(), |s| s.span());
        if matches!(usage, Usage::Session) {
            return Err(config_error(
                path,
                src,
                Some(span),
                "a multi-party session has no access form: this charge would never match",
            ));
        }
        validate::check_access_form(a).map_err(|m| config_error(path, src, Some(span), &m))?;
    }
    for (k, v) in &c.when {
        let role = match policy {
            Some(p) if k == "role" => check_role(p, c.item.get_ref(), v),
            _ => Ok(()),
        };
        let checked = validate::check_when(usage, k, v)
            .and_then(|()| role.map_err(|m| (validate::Part::Value, m)));
        if let Err((part, msg)) = checked {
            let entry = located.and_then(|l| l.when.get_key_value(k.as_str()));
            let span = match (entry, part) {
                (Some((key, _)), validate::Part::Key) => key.span(),
                (Some((_, value)), validate::Part::Value) => value.span(),
                (None, _) => c.item.span(),
            };
            return Err(config_error(path, src, Some(span), &format!("when: {msg}")));
        }
    }
    Ok(())
}

/// A session charge's `role` condition: a participant of that role must be
/// priced for the charge's item (by its own `[session.roles]` entry, or by
/// `*` for a role not named there), or the charge would never apply.
fn check_role(policy: &SessionPolicy, item: &str, role: &str) -> Result<(), String> {
    let gives = |r: &str| {
        policy
            .roles
            .get(r)
            .is_some_and(|items| items.iter().any(|i| i.get_ref() == item))
    };
    let own = policy.roles.contains_key(role) && role != "*";
    if gives(role) || (!own && gives("*")) {
        return Ok(());
    }
    let priced: Vec<&str> = policy
        .roles
        .keys()
        .map(String::as_str)
        .filter(|r| *r != "*" && gives(r))
        .collect();
    Err(format!(
        "a participant of role `{role}` is never priced for item `{item}` under [session.roles], so this charge would never apply (roles named there for `{item}`: {}){}",
        if priced.is_empty() {
            "none".to_owned()
        } else {
            priced.join(", ")
        },
        validate::did_you_mean(role, priced.iter().copied())
    ))
}

/// A charge of a session rule's item prices what the rule measures; a
/// shared rate is a plain rate per time (no tiers, algorithms, increments
/// or minimum), so the participants' shares add up to the session's price.
fn check_session_charge(path: &Path, src: &str, c: &Charge, measure: Measure) -> Result<()> {
    let at = |msg: String| Err(config_error(path, src, Some(c.item.span()), &msg));
    if c.per != measure.per() {
        return at(format!(
            "item `{}` measures {measure:?}: its charge must be per = \"{}\"",
            c.item.get_ref(),
            match measure.per() {
                Per::Duration => "duration",
                _ => "event",
            }
        ));
    }
    if measure == Measure::SharedTime
        && (c.price.is_none()
            || c.first_increment.is_some()
            || c.next_increment.is_some()
            || c.minimum.is_some())
    {
        return at(format!(
            "item `{}` is a shared rate: give it a plain `price` (flat or per period), without increments or minimum",
            c.item.get_ref()
        ));
    }
    Ok(())
}

/// How a charge prices: exactly one way, tiers ascending from 0, nothing
/// negative, per-period prices for exactly the list's periods.
fn check_pricing(path: &Path, src: &str, c: &Charge, cal: &Calendar) -> Result<()> {
    let at =
        |span: std::ops::Range<usize>, msg: &str| Err(config_error(path, src, Some(span), msg));
    let ways = [c.price.is_some(), c.tiers.is_some(), c.algorithm.is_some()];
    if ways.iter().filter(|w| **w).count() != 1 {
        return at(
            c.item.span(),
            "a charge needs exactly one of `price`, `tiers` (with `tier` entries) and `algorithm`",
        );
    }
    if c.tiers.is_none() && !c.tier.is_empty() {
        return at(
            c.tier[0].from.span(),
            "`tier` entries need `tiers = \"graduated\"` or `tiers = \"volume\"`",
        );
    }
    if c.tiers.is_some() {
        let Some(first) = c.tier.first() else {
            return at(c.item.span(), "`tiers` needs at least one `tier`");
        };
        if *first.from.get_ref() != 0 {
            return at(first.from.span(), "the first tier must start at 0");
        }
        for w in c.tier.windows(2) {
            if w[1].from.get_ref() <= w[0].from.get_ref() {
                return at(
                    w[1].from.span(),
                    &format!(
                        "tier thresholds must ascend: {} is not above {}",
                        w[1].from.get_ref(),
                        w[0].from.get_ref()
                    ),
                );
            }
        }
    }
    let negative = |d: &Decimal| *d < Decimal::ZERO;
    let specs = c.price.iter().chain(c.tier.iter().map(|t| &t.price));
    for spec in specs {
        if spec.get_ref().amounts().iter().any(negative) {
            return at(spec.span(), "prices and minimums cannot be negative");
        }
        if let PriceSpec::ByPeriod(table) = spec.get_ref() {
            if !cal.has_periods() {
                return at(
                    spec.span(),
                    "a price per period needs `[[period]]` entries in this list",
                );
            }
            let names = cal.names();
            if let Some(k) = table.keys().find(|k| !names.contains(k)) {
                return at(
                    spec.span(),
                    &format!(
                        "period `{k}` is not defined by this list (it defines: {})",
                        names.join(", ")
                    ),
                );
            }
            if let Some(n) = names.iter().find(|n| !table.contains_key(*n)) {
                return at(spec.span(), &format!("no price for period `{n}`"));
            }
        }
    }
    if c.minimum.is_some_and(|m| negative(&m.0)) {
        return at(c.item.span(), "prices and minimums cannot be negative");
    }
    if let Some(a) = &c.algorithm {
        let (setup, rate, cap) = match a.get_ref() {
            Algorithm::Linear { setup, rate } | Algorithm::Allowance { setup, rate, .. } => {
                (setup, rate, None)
            }
            Algorithm::Capped { setup, rate, cap } => (setup, rate, Some(cap)),
        };
        let setup = setup.map_or(Decimal::ZERO, |m| m.0);
        if negative(&setup) || negative(&rate.0) || cap.is_some_and(|m| negative(&m.0)) {
            return at(a.span(), "algorithm amounts cannot be negative");
        }
        if cap.is_some_and(|m| m.0 < setup) {
            return at(a.span(), "the cap of `capped` cannot be below its setup");
        }
    }
    Ok(())
}

/// Builds a list's calendar from `time_zone`, `holidays`, `default_period`
/// and `[[period]]`, checking each.
fn calendar(path: &Path, src: &str, def: &PriceListDef) -> Result<Calendar> {
    let err = |span: std::ops::Range<usize>, msg: String| config_error(path, src, Some(span), &msg);
    let tz = match &def.time_zone {
        None => chrono_tz::Tz::UTC,
        Some(z) => z.get_ref().parse::<chrono_tz::Tz>().map_err(|_| {
            err(
                z.span(),
                format!(
                    "time_zone `{}` is not an IANA time zone name (like \"Europe/Stockholm\")",
                    z.get_ref()
                ),
            )
        })?,
    };
    let mut holidays = Vec::new();
    for h in &def.holidays {
        let d = chrono::NaiveDate::parse_from_str(h.get_ref(), "%Y-%m-%d").map_err(|_| {
            err(
                h.span(),
                format!(
                    "holiday `{}` is not a date like \"2026-12-24\"",
                    h.get_ref()
                ),
            )
        })?;
        holidays.push(d);
    }
    let default = match &def.default_period {
        Some(n) if n.get_ref().is_empty() => {
            return Err(err(n.span(), "default_period cannot be empty".into()));
        }
        Some(n) => n.get_ref().clone(),
        None => "offpeak".to_owned(),
    };
    let mut names = vec![default];
    let mut rules = Vec::new();
    for p in &def.period {
        let name = p.name.get_ref();
        if name.is_empty() {
            return Err(err(p.name.span(), "a period needs a name".into()));
        }
        let period = match names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                names.push(name.clone());
                names.len() - 1
            }
        };
        if p.days.is_empty() {
            return Err(err(p.name.span(), format!("period `{name}` names no days")));
        }
        let mut days = 0u8;
        for d in &p.days {
            const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
            let bit = match NAMES.iter().position(|n| n == d.get_ref()) {
                Some(i) => i as u8,
                None if d.get_ref() == "holiday" => HOLIDAY_BIT,
                None => {
                    return Err(err(
                        d.span(),
                        format!(
                            "day `{}` is not one of mon, tue, wed, thu, fri, sat, sun, holiday",
                            d.get_ref()
                        ),
                    ));
                }
            };
            days |= 1 << bit;
        }
        let time = |t: &Option<toml::Spanned<String>>, default: u32| -> Result<u32> {
            let Some(t) = t else { return Ok(default) };
            parse_hm(t.get_ref()).ok_or_else(|| {
                err(
                    t.span(),
                    format!(
                        "`{}` is not a time like \"08:00\" (or \"24:00\")",
                        t.get_ref()
                    ),
                )
            })
        };
        let from = time(&p.from, 0)?;
        let to = time(&p.to, 86_400)?;
        if from >= to {
            let span = p.from.as_ref().map_or(p.name.span(), |f| f.span());
            return Err(err(
                span,
                format!(
                    "period `{name}`: from must be before to (a period past midnight is two entries)"
                ),
            ));
        }
        rules.push(Rule {
            period,
            days,
            from,
            to,
        });
    }
    Ok(Calendar::new(tz, holidays, rules, names))
}

/// `"HH:MM"` to seconds after midnight; `"24:00"` is the end of the day.
fn parse_hm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(86_400),
        (0..=23, 0..=59) => Some(h * 3600 + m * 60),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    mod rounding {
        use super::super::{Rounding, RoundingMode};
        use crate::money::Exact;
        use rust_decimal::Decimal;

        #[test]
        fn halves_round_by_mode() {
            let d = |s: &str| s.parse::<Decimal>().unwrap();
            let r = |mode| Rounding { decimals: 2, mode };
            let round = |r: Rounding, x: Decimal| r.round(Exact::from_decimal(x)).unwrap();
            assert_eq!(
                round(r(RoundingMode::HalfAwayFromZero), d("1.125")),
                d("1.13")
            );
            assert_eq!(
                round(r(RoundingMode::HalfAwayFromZero), d("-1.125")),
                d("-1.13")
            );
            assert_eq!(round(r(RoundingMode::HalfEven), d("1.125")), d("1.12"));
            assert_eq!(round(r(RoundingMode::HalfEven), d("1.135")), d("1.14"));
            assert_eq!(round(r(RoundingMode::Up), d("1.1201")), d("1.13"));
            assert_eq!(round(r(RoundingMode::Down), d("-1.1299")), d("-1.12"));
            assert_eq!(
                round(r(RoundingMode::Down), d("0.0049")).to_string(),
                "0.00"
            );
        }
    }

    use super::*;

    #[test]
    fn wall_clock_times() {
        assert_eq!(parse_hm("00:00"), Some(0));
        assert_eq!(parse_hm("08:30"), Some(8 * 3600 + 30 * 60));
        assert_eq!(parse_hm("23:59"), Some(86_340));
        assert_eq!(parse_hm("24:00"), Some(86_400));
        for bad in [
            "8:00", "24:01", "23:60", "08:00:00", "0800", "+8:00", "ab:cd", "",
        ] {
            assert_eq!(parse_hm(bad), None, "{bad}");
        }
    }

    #[test]
    fn price_is_a_string_or_a_table_of_strings() {
        let c: Charge = toml::from_str(
            r#"item = "call"
               per = "duration"
               price = { peak = "0.60", offpeak = "0.30" }"#,
        )
        .unwrap();
        let p = c.price.unwrap().into_inner();
        assert_eq!(p.for_period("peak"), Some("0.60".parse().unwrap()));
        assert_eq!(p.for_period("weekend"), None);
        // Floats never become money, flat or per period.
        for bad in [r#"price = 0.60"#, r#"price = { peak = 0.60 }"#] {
            let text = format!("item = \"call\"\nper = \"duration\"\n{bad}");
            assert!(toml::from_str::<Charge>(&text).is_err(), "{bad}");
        }
    }
}
