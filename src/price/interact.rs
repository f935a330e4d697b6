//! Several pricing components answering one usage item, combined by the
//! interaction rule of the set registered for the subscriber.
//!
//! Components run in the rule's order of precedence. Each one sees the
//! attributes as the components before it left them (a translated number,
//! a tariff class, a zone) and the amount so far: a pricer's amount is
//! combined with it by the rule (`first`, `last`, `lowest`, `highest`,
//! `sum`), a zone or prepaid conversion transforms it. What each component
//! did, and every failure the rule let pass, is recorded in steps that go
//! into the bill information; a failure the rule does not let pass makes
//! the record a fault.

use crate::sdr::Text;
use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::Serialize;

use super::{PriceError, Quantity, amount, shown};
use crate::money::Exact;
use crate::resolve::period::Calendar;
use crate::resolve::price_list::{Charge, Per};
use crate::resolve::profile::{
    Action, Applicable, Combine, Conflict, Interactions, LIST, OnFailure,
};

/// One usage item as the components see it.
pub struct Usage<'a> {
    pub item: &'a str,
    pub quantity: Quantity,
    pub at: &'a DateTime<FixedOffset>,
    /// The usage's own attributes (by ASN.1 name).
    pub attrs: &'a dyn Fn(&str) -> Option<Text>,
}

/// The built-in `list` component: the individual amount under the list
/// resolution chose (discount applied, unrounded), with the attributes as
/// translated so far; None when that list does not charge the item.
pub type ListPricer<'a> =
    dyn Fn(&dyn Fn(&str) -> Option<Text>) -> Result<Option<Exact>, PriceError> + 'a;

/// What one component did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Effect {
    /// Priced the item; `total` is the amount after combining.
    Priced { amount: Decimal, total: Decimal },
    /// Transformed the amount so far.
    Converted {
        from: Decimal,
        to: Decimal,
        how: String,
    },
    /// Set an attribute for the components after it.
    Translated { attribute: String, value: String },
    /// Its translation lost a conflict to a component with precedence.
    Overruled {
        attribute: String,
        value: String,
        kept: String,
    },
    /// Does not take part in this item.
    NotForItem,
    /// Could not do its part; the rule let the others go on.
    Failed { reason: String, policy: OnFailure },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub component: String,
    #[serde(flatten)]
    pub effect: Effect,
}

/// The item priced by its components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Exact until the caller rounds it once.
    pub amount: Exact,
    pub rule: String,
    pub combine: Combine,
    pub steps: Vec<Step>,
}

impl Applied {
    /// One line for the bill information: what each component did.
    pub fn bill_information(&self, item: &str) -> String {
        let mut s = format!("{item}: rule {}", self.rule);
        for st in &self.steps {
            let c = &st.component;
            let part = match &st.effect {
                Effect::Priced { amount, total } => {
                    let how = format!("{:?}", self.combine).to_lowercase();
                    format!("{c} {} ({how} → {})", amount.normalize(), total.normalize())
                }
                Effect::Converted { from, to, how } => {
                    format!("{c} {how}: {} → {}", from.normalize(), to.normalize())
                }
                Effect::Translated { attribute, value } => format!("{c} {attribute}={value}"),
                Effect::Overruled {
                    attribute,
                    value,
                    kept,
                } => {
                    format!("{c} {attribute}={value} overruled, kept {kept}")
                }
                Effect::NotForItem => continue,
                Effect::Failed { reason, policy } => {
                    format!(
                        "{c} failed ({reason}); {}",
                        match policy {
                            OnFailure::Next => "next component took over",
                            OnFailure::Keep => "kept the others' results",
                            OnFailure::Fault => "fault",
                        }
                    )
                }
            };
            s.push_str("; ");
            s.push_str(&part);
        }
        s
    }
}

/// Why the item could not be priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failed {
    /// A component failed and the rule makes that a fault; or nothing
    /// priced the item.
    Component(String),
    /// Arithmetic went wrong (overflow): a technical error.
    Price(PriceError),
}

fn combine(how: Combine, so_far: Option<Exact>, new: Exact) -> Option<Exact> {
    let Some(old) = so_far else {
        return Some(new);
    };
    Some(match how {
        Combine::First => old,
        Combine::Last => new,
        Combine::Lowest => old.min(new),
        Combine::Highest => old.max(new),
        Combine::Sum => old.checked_add(new)?,
    })
}

fn longest_prefix<'a, T>(value: &str, entries: impl Iterator<Item = (&'a str, T)>) -> Option<T> {
    entries
        .filter(|(p, _)| value.starts_with(p))
        .max_by_key(|(p, _)| p.len())
        .map(|(_, t)| t)
}

/// What one component returns before the rule combines it.
enum Did {
    Price(Exact),
    /// New amount, how, and the zone it found (for later components).
    Convert(Exact, String, Option<String>),
    Translate(String, String),
}

/// A component's own charge applied to the usage: Ok(Err) when it does
/// not fit the usage (a failure the rule decides on), Err on overflow.
fn priced(charge: &Charge, usage: &Usage<'_>) -> Result<Result<Did, String>, Failed> {
    // A charge per event on a measured item (a call) counts the item once.
    let quantity = match (charge.per, usage.quantity) {
        (Per::Event, Quantity::Seconds(_)) => Quantity::Events(1),
        (_, q) => q,
    };
    match amount(charge, quantity, usage.at, &Calendar::default()) {
        Ok(a) => Ok(Ok(Did::Price(a))),
        Err(e @ PriceError::Overflow(_)) => Err(Failed::Price(e)),
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// Prices one usage item with the components registered for it.
pub fn apply(
    interactions: &Interactions,
    app: &Applicable<'_>,
    usage: &Usage<'_>,
    list: &ListPricer<'_>,
) -> Result<Applied, Failed> {
    let rule = app.rule;
    let mut set: Vec<(String, String)> = Vec::new();
    let mut total: Option<Exact> = None;
    let mut steps = Vec::with_capacity(rule.order.len());
    let overflow = || Failed::Price(PriceError::Overflow(usage.item.to_owned()));
    for (i, id) in rule.order.iter().enumerate() {
        let attrs = |name: &str| -> Option<Text> {
            set.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| Text::from(v.as_str()))
                .or_else(|| (usage.attrs)(name))
        };
        let did: Result<Did, String> = if id == LIST {
            match list(&attrs) {
                Ok(Some(a)) => Ok(Did::Price(a)),
                Ok(None) => Err("the price list does not charge this usage".into()),
                Err(e) => return Err(Failed::Price(e)),
            }
        } else {
            let c = interactions
                .component(id)
                .expect("rules name only loaded components");
            if !c.takes_part_in(usage.item) {
                steps.push(Step {
                    component: id.clone(),
                    effect: Effect::NotForItem,
                });
                continue;
            }
            match &c.action {
                Action::Charge(charge) => priced(charge, usage)?,
                Action::RateBy { attribute, charges } => match attrs(attribute) {
                    None => Err(format!("the usage has no {attribute}")),
                    Some(v) => match charges.get(v.as_str()) {
                        None => Err(format!("no rate for {attribute} {v}")),
                        Some(ch) => priced(ch, usage)?,
                    },
                },
                Action::Translate {
                    from,
                    to,
                    map,
                    default,
                } => match attrs(from) {
                    None => Err(format!("the usage has no {from}")),
                    Some(v) => {
                        longest_prefix(&v, map.iter().map(|m| (m.prefix.as_str(), &m.value)))
                            .or(default.as_ref())
                            .map(|value| Did::Translate(to.clone(), value.clone()))
                            .ok_or_else(|| format!("no translation for {from} {v}"))
                    }
                },
                Action::Zone {
                    attribute,
                    zones,
                    outside,
                } => match (total, attrs(attribute)) {
                    (None, _) => Err("no amount before it to apply a zone to".into()),
                    (_, None) => Err(format!("the usage has no {attribute}")),
                    (Some(so_far), Some(v)) => {
                        let zone = longest_prefix(
                            &v,
                            zones
                                .iter()
                                .flat_map(|z| z.prefixes.iter().map(move |p| (p.as_str(), z))),
                        );
                        match (zone, outside) {
                            (Some(z), _) => Ok(Did::Convert(
                                so_far.mul_decimal(z.factor.0).ok_or_else(overflow)?,
                                format!("zone {} ×{}", z.name, z.factor.0),
                                Some(z.name.clone()),
                            )),
                            (None, Some(f)) => Ok(Did::Convert(
                                so_far.mul_decimal(*f).ok_or_else(overflow)?,
                                format!("outside every zone ×{f}"),
                                Some("outside".into()),
                            )),
                            (None, None) => Err(format!("{attribute} {v} is in no zone")),
                        }
                    }
                },
                Action::Prepaid {
                    markup_percent,
                    rounding,
                    minimum,
                } => match total {
                    None => Err("no post-paid amount before it to convert".into()),
                    Some(so_far) => {
                        let marked = so_far.plus_percent(*markup_percent).ok_or_else(overflow)?;
                        // The component's own rounding, when it names one:
                        // a step of the conversion, not the price's.
                        let rounded = match rounding {
                            None => marked,
                            Some(r) => Exact::from_decimal(r.round(marked).ok_or_else(overflow)?),
                        };
                        let to = match minimum {
                            Some(m) if rounded < Exact::from_decimal(*m) => Exact::from_decimal(*m),
                            _ => rounded,
                        };
                        let mut how = format!("prepaid +{markup_percent}%");
                        if let Some(r) = rounding {
                            how.push_str(
                                &format!(", rounded {:?} to {} decimals", r.mode, r.decimals)
                                    .to_lowercase(),
                            );
                        }
                        if to != rounded {
                            how.push_str(", minimum");
                        }
                        Ok(Did::Convert(to, how, None))
                    }
                },
            }
        };
        let effect = match did {
            Ok(Did::Price(a)) => {
                total = Some(combine(rule.combine, total, a).ok_or_else(overflow)?);
                Effect::Priced {
                    amount: shown(a),
                    total: shown(total.unwrap_or_default()),
                }
            }
            Ok(Did::Convert(to, how, zone)) => {
                if let Some(z) = zone {
                    set.push(("zone".into(), z));
                }
                let from = shown(total.unwrap_or_default());
                total = Some(to);
                Effect::Converted {
                    from,
                    to: shown(to),
                    how,
                }
            }
            Ok(Did::Translate(attribute, value)) => {
                // A translation an earlier component made stands under
                // `precedence`: only components' answers conflict, not the
                // usage's own data.
                let earlier = set
                    .iter()
                    .find(|(k, _)| *k == attribute)
                    .map(|(_, v)| v.clone());
                match (earlier, rule.conflict) {
                    (Some(kept), Conflict::Precedence) if kept != value => Effect::Overruled {
                        attribute,
                        value,
                        kept,
                    },
                    _ => {
                        set.push((attribute.clone(), value.clone()));
                        Effect::Translated { attribute, value }
                    }
                }
            }
            Err(reason) => {
                let last = i + 1 == rule.order.len();
                match rule.on_failure {
                    OnFailure::Fault => {
                        return Err(Failed::Component(format!(
                            "component {id} cannot price {}: {reason} (rule {}: a failure is a fault)",
                            usage.item, rule.name
                        )));
                    }
                    OnFailure::Next if last => {
                        return Err(Failed::Component(format!(
                            "component {id} cannot price {}: {reason}, and no component follows it to fall back to (rule {})",
                            usage.item, rule.name
                        )));
                    }
                    policy => Effect::Failed { reason, policy },
                }
            }
        };
        steps.push(Step {
            component: id.clone(),
            effect,
        });
    }
    let amount = total.ok_or_else(|| {
        let failures: Vec<String> = steps
            .iter()
            .filter_map(|s| match &s.effect {
                Effect::Failed { reason, .. } => Some(format!("{}: {reason}", s.component)),
                _ => None,
            })
            .collect();
        Failed::Component(format!(
            "no component of rule {} priced {} ({})",
            rule.name,
            usage.item,
            if failures.is_empty() {
                "none takes part in it".to_owned()
            } else {
                failures.join("; ")
            }
        ))
    })?;
    Ok(Applied {
        amount,
        rule: rule.name.clone(),
        combine: rule.combine,
        steps,
    })
}
