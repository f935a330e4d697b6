//! The service tariff policy of a multi-party session service, held by its
//! basic price list (`[session]`): event filter rules, participation spawn
//! rules (which pricing rules each role gets) and the pricing rules. The
//! rules name items; base, group, customer and cost lists price those items
//! with ordinary charges, so customer discounts, roles (`when = { role =
//! ".." }`), rate periods and increments work as for single SDRs.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::resolve::price_list::Per;
use crate::sdr::SessionEventType;

/// What one pricing rule measures for a participation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// One per participant who joined the session (start or join), counted
    /// once per participant; optionally only participants of `counts`
    /// roles. The seed's conference: the organiser pays N per participant.
    EntryFee,
    /// Seconds this participant was active: from start, join or resume to
    /// suspend, leave or end.
    ActiveTime,
    /// The session's time, shared among the participants active at each
    /// moment: with three active each pays a third of the rate. The seed's
    /// game.
    SharedTime,
    /// Events of type `event` (and provider event name `provider_event`)
    /// raised by this participant, or by anyone when `of = "session"`.
    Events,
    /// Once per session, to the participant who started it.
    Session,
}

impl Measure {
    /// How the charge of an item with this measure must be priced.
    pub fn per(self) -> Per {
        match self {
            Measure::ActiveTime | Measure::SharedTime => Per::Duration,
            Measure::EntryFee | Measure::Events | Measure::Session => Per::Event,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Only this participant's own events count.
    #[default]
    Own,
    /// Everybody's events in the session count.
    Session,
}

/// One pricing rule; `item` is what the charges price.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub item: toml::Spanned<String>,
    pub measure: Measure,
    /// entry-fee: count only participants with these roles (default all).
    #[serde(default)]
    pub counts: Vec<String>,
    /// events: the event type counted (`invite`, `providerDefined`...).
    pub event: Option<toml::Spanned<String>>,
    /// events of type providerDefined: the provider's event name.
    pub provider_event: Option<String>,
    /// events: whose events count.
    #[serde(default)]
    pub of: Scope,
}

impl Rule {
    /// The event type an `events` rule counts (checked at load).
    pub fn event_type(&self) -> Option<SessionEventType> {
        self.event
            .as_ref()
            .and_then(|e| SessionEventType::from_name(e.get_ref()))
    }
}

/// `[session]` of a basic list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionPolicy {
    /// Event filter rules: the event types that take part in pricing;
    /// others are dropped before pricing (default: every type). Leaving
    /// out `suspend` and `resume`, for instance, charges through pauses.
    pub events: Option<Vec<toml::Spanned<String>>>,
    /// A session still open this many hours after its first event (by the
    /// newest event time seen) is closed as a fault. Default 24.
    pub max_open_hours: Option<u64>,
    /// Participation spawn rules: role -> the items of the rules priced for
    /// a participant of that role; `"*"` for any role not listed.
    pub roles: BTreeMap<String, Vec<toml::Spanned<String>>>,
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
}

/// Defined where sessions are grouped, which needs it first.
pub use crate::group::assemble::DEFAULT_MAX_OPEN_HOURS;

impl SessionPolicy {
    /// Whether events of this type take part in pricing.
    pub fn admits(&self, t: SessionEventType) -> bool {
        match &self.events {
            None => true,
            Some(list) => t
                .name()
                .is_some_and(|n| list.iter().any(|e| e.get_ref() == n)),
        }
    }

    /// The rules priced for a participant of `role`, in the role's order.
    /// An iterator, not a vector: pricing asks three times a participation.
    pub fn rules_for(&self, role: &str) -> impl Iterator<Item = &Rule> + '_ {
        let items = self.roles.get(role).or_else(|| self.roles.get("*"));
        items
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|i| self.rule(i.get_ref()))
    }

    pub fn rule(&self, item: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.item.get_ref() == item)
    }

    pub fn max_open_seconds(&self) -> i64 {
        let h = self.max_open_hours.unwrap_or(DEFAULT_MAX_OPEN_HOURS);
        i64::try_from(h.saturating_mul(3600)).unwrap_or(i64::MAX)
    }

    /// Checks the policy against its list's items; the error names the
    /// offending span.
    pub fn check(&self, items: &[String]) -> Result<(), (Option<std::ops::Range<usize>>, String)> {
        if let Some(events) = &self.events {
            for e in events {
                if SessionEventType::from_name(e.get_ref()).is_none() {
                    return Err((
                        Some(e.span()),
                        format!("`{}` is not a session event type", e.get_ref()),
                    ));
                }
            }
        }
        let mut seen = Vec::new();
        for r in &self.rules {
            let item = r.item.get_ref();
            if !items.contains(item) {
                return Err((
                    Some(r.item.span()),
                    format!("rule item `{item}` is not in this list's items"),
                ));
            }
            if seen.contains(&item) {
                return Err((Some(r.item.span()), format!("rule item `{item}` twice")));
            }
            seen.push(item);
            match (r.measure, &r.event) {
                (Measure::Events, None) => {
                    return Err((
                        Some(r.item.span()),
                        format!("rule `{item}` counts events: it needs `event`"),
                    ));
                }
                (Measure::Events, Some(e))
                    if SessionEventType::from_name(e.get_ref()).is_none() =>
                {
                    return Err((
                        Some(e.span()),
                        format!("`{}` is not a session event type", e.get_ref()),
                    ));
                }
                (Measure::Events, _) => {}
                (_, Some(e)) => {
                    return Err((
                        Some(e.span()),
                        "`event` applies only to rules with measure = \"events\"".into(),
                    ));
                }
                (_, None) => {}
            }
        }
        if self.roles.is_empty() {
            return Err((
                None,
                "[session.roles] must name the rules of at least one role (\"*\" for any)".into(),
            ));
        }
        for names in self.roles.values() {
            for n in names {
                if self.rule(n.get_ref()).is_none() {
                    return Err((
                        Some(n.span()),
                        format!("role rule `{}` is not a [[session.rule]] item", n.get_ref()),
                    ));
                }
            }
        }
        Ok(())
    }
}
