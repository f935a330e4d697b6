//! Subscriber profiles, pricing components and interaction rules
//! (`price_lists/profiles/*.toml`, documented in docs/interactions.md).
//!
//! A profile says which pricing components take part in rating one usage
//! of a service for a customer, a customer group or a whole marketing
//! company. Registering a component never fails because another one is
//! present: how the components present interact is decided afterwards, by
//! the interaction rule kept for exactly that set of components.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use toml::Spanned;

use super::price_list::{Charge, Money, Per, PriceSpec, Rounding, collect_toml, config_error};
use super::validate::{self, Usage};

/// The sub-directory of the price-list directory holding profiles,
/// components and rules.
pub const DIR: &str = "profiles";

/// The component that prices with the price list resolution chose.
pub const LIST: &str = "list";

/// One file: any mix of components, rules and profiles.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    #[serde(default)]
    component: Vec<ComponentDef>,
    #[serde(default)]
    rule: Vec<RuleDef>,
    #[serde(default)]
    profile: Vec<ProfileDef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Prices the usage with one charge (e.g. a third-party surcharge).
    Charge,
    /// Prices with the charge chosen by the value of a usage attribute
    /// (e.g. on-net and off-net VPN calls).
    RateBy,
    /// Sets an attribute for the components after it, from another
    /// attribute by longest prefix (e.g. a number to a tariff class).
    Translate,
    /// Multiplies the amount so far by the factor of the zone the user was
    /// in (e.g. an office zone).
    Zone,
    /// Converts the amount so far into a prepaid price.
    Prepaid,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Translation {
    pub prefix: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneDef {
    pub name: String,
    pub prefixes: Vec<String>,
    pub factor: Money,
}

/// A `[[component]]` as written; which keys apply depends on `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentDef {
    pub id: Spanned<String>,
    pub kind: Kind,
    pub description: Option<String>,
    /// The usage items it takes part in (default: every item).
    #[serde(default)]
    pub items: Vec<String>,
    /// The third party a charge is for, named in the bill information.
    pub provider: Option<String>,
    pub per: Option<Per>,
    pub price: Option<Money>,
    pub unit_size: Option<u64>,
    pub unit_seconds: Option<u64>,
    pub first_increment: Option<u64>,
    pub next_increment: Option<u64>,
    pub minimum: Option<Money>,
    /// rate-by, zone: the attribute read; translate: the one translated.
    pub attribute: Option<Spanned<String>>,
    #[serde(default)]
    pub rates: BTreeMap<Spanned<String>, Money>,
    /// translate: the attribute it sets.
    pub to: Option<Spanned<String>>,
    #[serde(default)]
    pub map: Vec<Translation>,
    /// translate: the value when no prefix matches.
    pub default: Option<String>,
    #[serde(default)]
    pub zone: Vec<ZoneDef>,
    /// zone: the factor outside every zone (none: the component fails).
    pub outside_factor: Option<Money>,
    /// prepaid: added to the post-paid amount, in percent.
    pub markup_percent: Option<Money>,
    /// prepaid: how the prepaid price is rounded (e.g. up to 0.10).
    pub rounding: Option<Spanned<Rounding>>,
}

/// What a component does, checked and ready to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Charge(Box<Charge>),
    RateBy {
        attribute: String,
        charges: BTreeMap<String, Charge>,
    },
    Translate {
        from: String,
        to: String,
        /// Applied by longest matching prefix.
        map: Vec<Translation>,
        default: Option<String>,
    },
    Zone {
        attribute: String,
        zones: Vec<ZoneDef>,
        outside: Option<Decimal>,
    },
    Prepaid {
        markup_percent: Decimal,
        rounding: Option<Rounding>,
        minimum: Option<Decimal>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub id: String,
    pub action: Action,
    pub items: Vec<String>,
    pub provider: Option<String>,
    pub path: PathBuf,
}

impl Component {
    pub fn takes_part_in(&self, item: &str) -> bool {
        self.items.is_empty() || self.items.iter().any(|i| i == item)
    }
}

/// How two amounts for the same item are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Combine {
    /// The first component by precedence that priced it wins.
    #[default]
    First,
    /// The last one wins (a later component overrides).
    Last,
    Lowest,
    Highest,
    Sum,
}

/// When two components set the same attribute differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Conflict {
    /// The answer of the component with precedence stands.
    #[default]
    Precedence,
    /// The latest answer replaces the earlier one.
    Latest,
}

/// What happens when a component cannot do its part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    /// The record is a fault, kept for recycling.
    #[default]
    Fault,
    /// The next component by precedence takes over; a fault when the
    /// failing component is the last.
    Next,
    /// The results of the components that succeeded are kept; a fault
    /// only when none priced.
    Keep,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    name: Option<String>,
    /// The components the rule is for, in order of precedence.
    order: Vec<Spanned<String>>,
    #[serde(default)]
    combine: Combine,
    #[serde(default)]
    conflict: Conflict,
    #[serde(default)]
    on_failure: OnFailure,
}

/// An interaction rule for one set of components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Its name, or the components joined by `+`.
    pub name: String,
    pub order: Vec<String>,
    pub combine: Combine,
    pub conflict: Conflict,
    pub on_failure: OnFailure,
    /// Where it was written; None for the default rule.
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerDef {
    service: String,
    components: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileDef {
    id: String,
    revision: u16,
    marketing_company: String,
    group: Option<String>,
    customer: Option<String>,
    valid_from: DateTime<FixedOffset>,
    valid_to: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    cancelled: bool,
    trigger: Vec<TriggerDef>,
}

/// The components registered for one service, with the rule for their
/// set, looked up once at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub components: Vec<String>,
    pub rule: Rule,
}

/// One revision of a subscriber profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub id: String,
    pub revision: u16,
    pub marketing_company: String,
    pub group: Option<String>,
    pub customer: Option<String>,
    pub valid_from: DateTime<FixedOffset>,
    pub valid_to: Option<DateTime<FixedOffset>>,
    pub cancelled: bool,
    /// Service feature code (or session service) -> what is registered.
    pub triggers: BTreeMap<String, Trigger>,
    pub path: PathBuf,
}

impl Profile {
    pub fn is_valid_at(&self, t: &DateTime<FixedOffset>) -> bool {
        !self.cancelled && self.valid_from <= *t && self.valid_to.is_none_or(|to| *t < to)
    }

    /// Who it is for, in words.
    pub fn owner(&self) -> String {
        match (&self.customer, &self.group) {
            (Some(c), _) => format!("customer {c}"),
            (None, Some(g)) => format!("group {g} of {}", self.marketing_company),
            (None, None) => format!("marketing company {}", self.marketing_company),
        }
    }
}

/// The components taking part in rating one usage, and their rule.
#[derive(Debug, Clone, Copy)]
pub struct Applicable<'a> {
    pub profile: &'a Profile,
    pub components: &'a [String],
    pub rule: &'a Rule,
}

type Revisions = Vec<Arc<Profile>>;

/// Every profile, component and rule of a price-list directory.
#[derive(Debug, Default)]
pub struct Interactions {
    components: BTreeMap<String, Component>,
    rules: BTreeMap<BTreeSet<String>, Rule>,
    /// Rules made for registered sets no rule was written for.
    defaults: BTreeMap<BTreeSet<String>, Rule>,
    by_customer: FxHashMap<String, Revisions>,
    by_group: FxHashMap<String, FxHashMap<String, Revisions>>,
    by_company: FxHashMap<String, Revisions>,
    profiles: Vec<Arc<Profile>>,
    /// Every service some profile has a trigger for, sorted: most usage
    /// modules are of a service no profile names, and one look here
    /// spares them the three owner lookups.
    services: Vec<String>,
    /// Hash of every file's text: part of a run's identity.
    digest: u128,
}

/// A charge built from a component's charge keys.
fn charge(def: &ComponentDef, item: &str, price: Decimal) -> Result<Charge, String> {
    let per = def.per.ok_or("needs `per` (event, unit or duration)")?;
    Ok(Charge {
        item: Spanned::new(0..0, item.to_owned()),
        per,
        price: Some(Spanned::new(0..0, PriceSpec::Flat(Money(price)))),
        tiers: None,
        tier: Vec::new(),
        algorithm: None,
        unit_size: def.unit_size,
        unit_seconds: def.unit_seconds,
        first_increment: def.first_increment,
        next_increment: def.next_increment,
        minimum: def.minimum,
        access_form: None,
        when: BTreeMap::new(),
    })
}

/// Checks a component's keys against its kind and builds its action.
fn action(def: &ComponentDef) -> Result<Action, String> {
    let charge_keys = def.per.is_some()
        || def.unit_size.is_some()
        || def.unit_seconds.is_some()
        || def.first_increment.is_some()
        || def.next_increment.is_some();
    let used: [(&str, bool, &[Kind]); 12] = [
        ("per", charge_keys, &[Kind::Charge, Kind::RateBy]),
        ("price", def.price.is_some(), &[Kind::Charge]),
        ("rates", !def.rates.is_empty(), &[Kind::RateBy]),
        (
            "attribute",
            def.attribute.is_some(),
            &[Kind::RateBy, Kind::Translate, Kind::Zone],
        ),
        ("to", def.to.is_some(), &[Kind::Translate]),
        ("map", !def.map.is_empty(), &[Kind::Translate]),
        ("default", def.default.is_some(), &[Kind::Translate]),
        ("zone", !def.zone.is_empty(), &[Kind::Zone]),
        (
            "outside_factor",
            def.outside_factor.is_some(),
            &[Kind::Zone],
        ),
        (
            "markup_percent",
            def.markup_percent.is_some(),
            &[Kind::Prepaid],
        ),
        ("rounding", def.rounding.is_some(), &[Kind::Prepaid]),
        (
            "minimum",
            def.minimum.is_some(),
            &[Kind::Charge, Kind::RateBy, Kind::Prepaid],
        ),
    ];
    for (key, present, kinds) in used {
        if present && !kinds.contains(&def.kind) {
            return Err(format!(
                "`{key}` (or a key like it) does not apply to a component of kind {:?}",
                def.kind
            ));
        }
    }
    if def.per.is_none() && charge_keys {
        return Err("increments and unit sizes need `per`".into());
    }
    let attribute = || {
        def.attribute
            .as_ref()
            .map(|a| a.get_ref().clone())
            .ok_or_else(|| format!("a {:?} component needs `attribute`", def.kind))
    };
    Ok(match def.kind {
        Kind::Charge => {
            let price = def.price.ok_or("a charge component needs `price`")?;
            Action::Charge(Box::new(charge(def, "", price.0)?))
        }
        Kind::RateBy => {
            if def.rates.is_empty() {
                return Err("a rate-by component needs `rates` (value = price)".into());
            }
            let mut charges = BTreeMap::new();
            for (value, price) in &def.rates {
                charges.insert(value.get_ref().clone(), charge(def, "", price.0)?);
            }
            Action::RateBy {
                attribute: attribute()?,
                charges,
            }
        }
        Kind::Translate => {
            if def.map.is_empty() && def.default.is_none() {
                return Err("a translate component needs `map` or `default`".into());
            }
            let map = def.map.clone();
            Action::Translate {
                from: attribute()?,
                to: def
                    .to
                    .as_ref()
                    .map(|t| t.get_ref().clone())
                    .ok_or("a translate component needs `to`, the attribute it sets")?,
                map,
                default: def.default.clone(),
            }
        }
        Kind::Zone => {
            if def.zone.is_empty() {
                return Err("a zone component needs at least one [[component.zone]]".into());
            }
            Action::Zone {
                attribute: attribute()?,
                zones: def.zone.clone(),
                outside: def.outside_factor.map(|m| m.0),
            }
        }
        Kind::Prepaid => Action::Prepaid {
            markup_percent: def.markup_percent.map_or(Decimal::ZERO, |m| m.0),
            rounding: def.rounding.as_ref().map(|r| *r.get_ref()),
            minimum: def.minimum.map(|m| m.0),
        },
    })
}

/// The attributes components read and the values they expect: names a
/// usage module has (or a `translate` or `zone` component sets), values its
/// enumerations take, and a prepaid rounding the pricing module carries.
/// A misspelt one would make the component fail on every usage, and an
/// interaction rule with `on_failure = "next"` or `"keep"` would then price
/// with another component without a word.
fn check_attributes(parsed: &[(&PathBuf, &String, FileDef)]) -> Result<()> {
    let module = Usage::Undeclared.attributes();
    let mut set: BTreeSet<String> = BTreeSet::from(["zone".to_owned()]);
    for (_, _, def) in parsed {
        for c in &def.component {
            if let (Kind::Translate, Some(to)) = (c.kind, &c.to) {
                set.insert(to.get_ref().clone());
            }
        }
    }
    let readable: Vec<&str> = module
        .iter()
        .map(|a| a.name)
        .chain(set.iter().map(String::as_str))
        .collect();
    for (path, src, def) in parsed {
        for c in &def.component {
            let id = c.id.get_ref();
            let err = |span: std::ops::Range<usize>, m: String| {
                config_error(path, src, Some(span), &format!("component `{id}`: {m}"))
            };
            if let Some(to) = &c.to {
                // A new attribute may have any name, but not a known one
                // in another case: the components after it would read the
                // known one.
                let t = to.get_ref();
                if let Some(k) = module
                    .iter()
                    .find(|a| a.name != t && a.name.eq_ignore_ascii_case(t))
                {
                    return Err(err(
                        to.span(),
                        format!(
                            "`to = \"{t}\"` differs from the usage attribute `{}` only in case; did you mean `{}`?",
                            k.name, k.name
                        ),
                    ));
                }
                if let Some(a) = module.iter().find(|a| a.name == t) {
                    let values = c.map.iter().map(|m| &m.value).chain(&c.default);
                    for v in values {
                        a.check_value(v).map_err(|m| err(to.span(), m))?;
                    }
                }
            }
            if let Some(attr) = &c.attribute {
                let name = attr.get_ref();
                if !readable.contains(&name.as_str()) {
                    return Err(err(
                        attr.span(),
                        format!(
                            "`{name}` is not an attribute a usage module has, nor one a translate or zone component sets (usage attributes: {}){}",
                            module.iter().map(|a| a.name).collect::<Vec<_>>().join(", "),
                            validate::did_you_mean(name, readable.iter().copied())
                        ),
                    ));
                }
                if c.kind == Kind::RateBy
                    && let Some(a) = module.iter().find(|a| a.name == name)
                {
                    for value in c.rates.keys() {
                        a.check_value(value.get_ref())
                            .map_err(|m| err(value.span(), format!("rates: {m}")))?;
                    }
                }
            }
            if let Some(r) = &c.rounding {
                validate::check_decimals(r.get_ref().decimals).map_err(|m| err(r.span(), m))?;
            }
        }
    }
    Ok(())
}

impl Interactions {
    /// Loads every `*.toml` under `dir` (none if it does not exist).
    pub fn load_dir(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Ok(Self::default());
        }
        let mut files = Vec::new();
        // Nothing below profiles/ is skipped.
        collect_toml(dir, Path::new(""), &mut files)
            .with_context(|| format!("cannot read profiles in {}", dir.display()))?;
        files.sort();
        let mut sources = Vec::new();
        for f in files {
            let src = std::fs::read_to_string(&f).map_err(|e| {
                crate::error::Failure::Config(format!(
                    "cannot read profile file {}: {e}",
                    f.display()
                ))
            })?;
            sources.push((f, src));
        }
        Self::from_sources(sources)
    }

    pub fn from_sources(sources: Vec<(PathBuf, String)>) -> Result<Self> {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut parsed = Vec::new();
        for (path, src) in &sources {
            hasher.update(path.to_string_lossy().as_bytes());
            hasher.update(b"\0");
            hasher.update(src.as_bytes());
            let def: FileDef =
                toml::from_str(src).map_err(|e| config_error(path, src, e.span(), e.message()))?;
            parsed.push((path, src, def));
        }
        let mut out = Interactions {
            digest: hasher.digest128(),
            ..Self::default()
        };
        // Components first: rules and profiles name them.
        for (path, src, def) in &parsed {
            for c in &def.component {
                let id = c.id.get_ref();
                let at = Some(c.id.span());
                if id == LIST {
                    return Err(config_error(
                        path,
                        src,
                        at,
                        "`list` is the built-in component that prices with the price list; give another id",
                    ));
                }
                if let Some(other) = out.components.get(id) {
                    return Err(config_error(
                        path,
                        src,
                        at,
                        &format!(
                            "component `{id}` is already defined in {}",
                            other.path.display()
                        ),
                    ));
                }
                let action = action(c).map_err(|m| {
                    config_error(path, src, at.clone(), &format!("component `{id}`: {m}"))
                })?;
                out.components.insert(
                    id.clone(),
                    Component {
                        id: id.clone(),
                        action,
                        items: c.items.clone(),
                        provider: c.provider.clone(),
                        path: (*path).clone(),
                    },
                );
            }
        }
        check_attributes(&parsed)?;
        let known = |name: &Spanned<String>, path: &Path, src: &str| -> Result<()> {
            let n = name.get_ref();
            if n == LIST || out.components.contains_key(n) {
                Ok(())
            } else {
                Err(config_error(
                    path,
                    src,
                    Some(name.span()),
                    &format!("no component `{n}` is defined (and it is not the built-in `list`)"),
                ))
            }
        };
        let unique = |names: &[Spanned<String>],
                      path: &Path,
                      src: &str,
                      what: &str|
         -> Result<BTreeSet<String>> {
            let mut set = BTreeSet::new();
            for n in names {
                if !set.insert(n.get_ref().clone()) {
                    return Err(config_error(
                        path,
                        src,
                        Some(n.span()),
                        &format!("component `{}` is named twice in {what}", n.get_ref()),
                    ));
                }
            }
            if set.is_empty() {
                return Err(config_error(
                    path,
                    src,
                    None,
                    &format!("{what} names no component"),
                ));
            }
            Ok(set)
        };
        let mut rules = BTreeMap::new();
        for (path, src, def) in &parsed {
            for r in &def.rule {
                for n in &r.order {
                    known(n, path, src)?;
                }
                let set = unique(&r.order, path, src, "a rule's order")?;
                let order: Vec<String> = r.order.iter().map(|n| n.get_ref().clone()).collect();
                if let Some(other) = rules.get(&set) {
                    let other: &Rule = other;
                    return Err(config_error(
                        path,
                        src,
                        r.order.first().map(Spanned::span),
                        &format!(
                            "a rule for {{{}}} already exists ({}); one rule per set of components",
                            order.join(", "),
                            other.name
                        ),
                    ));
                }
                rules.insert(
                    set,
                    Rule {
                        name: r.name.clone().unwrap_or_else(|| order.join("+")),
                        order,
                        combine: r.combine,
                        conflict: r.conflict,
                        on_failure: r.on_failure,
                        path: Some((*path).clone()),
                    },
                );
            }
        }
        out.rules = rules;
        let mut seen: HashMap<(String, u16), (PathBuf, ProfileDef)> = HashMap::new();
        for (path, src, def) in &parsed {
            for p in &def.profile {
                let fail = |m: String| {
                    Err(config_error(
                        path,
                        src,
                        None,
                        &format!("profile {}: {m}", p.id),
                    ))
                };
                if let Some((other_path, other)) = seen.get(&(p.id.clone(), p.revision)) {
                    if other != p {
                        return fail(format!(
                            "revision {} differs from the one in {}; a published revision is immutable, publish a new revision instead",
                            p.revision,
                            other_path.display()
                        ));
                    }
                    continue;
                }
                seen.insert((p.id.clone(), p.revision), ((*path).clone(), p.clone()));
                if p.group.is_some() && p.customer.is_some() {
                    return fail("is for a group or for a customer, not both".into());
                }
                if let Some(to) = p.valid_to
                    && to <= p.valid_from
                {
                    return fail(format!(
                        "valid_to {to} is not after valid_from {}",
                        p.valid_from
                    ));
                }
                let mut triggers = BTreeMap::new();
                for t in &p.trigger {
                    for n in &t.components {
                        known(n, path, src)?;
                    }
                    let set = unique(&t.components, path, src, "a trigger")?;
                    let names: Vec<String> =
                        t.components.iter().map(|n| n.get_ref().clone()).collect();
                    if triggers.contains_key(&t.service) {
                        return fail(format!("has two triggers for {}", t.service));
                    }
                    // Registration never fails: a set without a written
                    // rule gets the default one (precedence as registered,
                    // first result wins, a failure is a fault).
                    let rule = match out.rules.get(&set) {
                        Some(r) => r.clone(),
                        None => out
                            .defaults
                            .entry(set)
                            .or_insert_with(|| Rule {
                                name: format!("default for {}", names.join("+")),
                                order: names.clone(),
                                combine: Combine::First,
                                conflict: Conflict::Precedence,
                                on_failure: OnFailure::Fault,
                                path: None,
                            })
                            .clone(),
                    };
                    triggers.insert(
                        t.service.clone(),
                        Trigger {
                            components: names,
                            rule,
                        },
                    );
                }
                let profile = Arc::new(Profile {
                    id: p.id.clone(),
                    revision: p.revision,
                    marketing_company: p.marketing_company.clone(),
                    group: p.group.clone(),
                    customer: p.customer.clone(),
                    valid_from: p.valid_from,
                    valid_to: p.valid_to,
                    cancelled: p.cancelled,
                    triggers,
                    path: (*path).clone(),
                });
                let revisions = match (&p.customer, &p.group) {
                    (Some(c), _) => out.by_customer.entry(c.clone()).or_default(),
                    (None, Some(g)) => out
                        .by_group
                        .entry(p.marketing_company.clone())
                        .or_default()
                        .entry(g.clone())
                        .or_default(),
                    (None, None) => out
                        .by_company
                        .entry(p.marketing_company.clone())
                        .or_default(),
                };
                revisions.push(profile.clone());
                out.profiles.push(profile);
            }
        }
        out.profiles
            .sort_by(|a, b| (&a.id, a.revision).cmp(&(&b.id, b.revision)));
        out.services = out
            .profiles
            .iter()
            .flat_map(|p| p.triggers.keys().cloned())
            .collect();
        out.services.sort();
        out.services.dedup();
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// Every profile revision, by id then revision.
    pub fn profiles(&self) -> &[Arc<Profile>] {
        &self.profiles
    }

    pub fn components(&self) -> impl Iterator<Item = &Component> {
        self.components.values()
    }

    pub fn component(&self, id: &str) -> Option<&Component> {
        self.components.get(id)
    }

    /// Written rules, then the default rules registrations needed.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values().chain(self.defaults.values())
    }

    pub fn digest(&self) -> u128 {
        self.digest
    }

    /// The most specific profile valid at `t` that registers components for
    /// `service`: the customer's, else the group's, else the marketing
    /// company's. `own` false (the usage asks for market prices) skips the
    /// customer's and the group's.
    pub fn applicable(
        &self,
        service: &str,
        customer: &str,
        company: &str,
        group: Option<&str>,
        own: bool,
        t: &DateTime<FixedOffset>,
    ) -> Option<Applicable<'_>> {
        if !self.services.iter().any(|s| s == service) {
            return None;
        }
        fn pick<'p>(
            revs: Option<&'p Revisions>,
            service: &str,
            t: &DateTime<FixedOffset>,
        ) -> Option<(&'p Profile, &'p Trigger)> {
            revs?
                .iter()
                .filter(|p| p.is_valid_at(t))
                .filter_map(|p| Some((p.as_ref(), p.triggers.get(service)?)))
                .max_by_key(|(p, _)| (p.valid_from, p.revision))
        }
        let pick = |revs| pick(revs, service, t);
        let found = own
            .then(|| {
                pick(self.by_customer.get(customer)).or_else(|| {
                    group.and_then(|g| pick(self.by_group.get(company).and_then(|m| m.get(g))))
                })
            })
            .flatten()
            .or_else(|| pick(self.by_company.get(company)))?;
        let (profile, trigger) = found;
        Some(Applicable {
            profile,
            components: &trigger.components,
            rule: &trigger.rule,
        })
    }
}
