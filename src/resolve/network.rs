//! Network cost lists: what the network providers charge the service
//! producing company for putting their networks at a service's disposal
//! (the seed's Figures 16 and 19), and the production terms per marketing
//! company. Loaded from the directory of `--network-costs DIR`
//! (docs/network-costs.md); without it there is no network costing at all.
//!
//! **A list** is one TOML file per revision, for one network provider and
//! one type of network (the NSM's `networkProvider` and `typeOfNetwork`),
//! valid from a time (and optionally to one), in one currency, with one
//! named rounding. It prices the hop's chargeable duration (`[duration]`:
//! a price per `unit_seconds`, the duration first rounded up to whole
//! `increment`s: 1 for "per second", 60 for "per started minute"), its
//! consumed capacity (`[capacity]`: a price per started `unit_size`), or
//! both, added before the one rounding.
//!
//! **Choosing a list** for a hop: among the revisions of its provider and
//! network valid at the hop's start of charging, the highest revision.
//! Two lists of different ids for the same provider and network may not
//! be valid at the same time (refused at load: which one would an invoice
//! check believe?); a later revision of the same id supersedes the earlier
//! one where both are valid, as a corrected list does.
//!
//! **Production terms** (`production.toml` in the same directory): per
//! marketing company, and optionally per service, the refinement cost and
//! the profit margin the service producing company adds to the network
//! cost when it invoices the marketing company (the seed, page 36).
//!
//! Bad input is a configuration error naming the file, line and column.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::error::Failure;
use crate::resolve::price_list::{Money, Rounding, config_error};
use crate::sdr::TypeOfNetwork;

/// The file of production terms inside the network cost directory.
pub const PRODUCTION_FILE: &str = "production.toml";

/// One revision of a network cost list, as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkListDef {
    pub id: String,
    pub revision: u16,
    /// The NSM's `networkProvider`, exactly.
    pub provider: String,
    /// The NSM's `typeOfNetwork` by its ASN.1 name (`signalling`, `ip`,
    /// `voiceChannel`, `atm`, `mobile`).
    pub network: toml::Spanned<String>,
    #[serde(deserialize_with = "rfc3339")]
    pub valid_from: DateTime<FixedOffset>,
    #[serde(default, deserialize_with = "rfc3339_opt")]
    pub valid_to: Option<DateTime<FixedOffset>>,
    pub currency: String,
    #[serde(default)]
    pub rounding: Rounding,
    pub duration: Option<toml::Spanned<DurationRate>>,
    pub capacity: Option<toml::Spanned<CapacityRate>>,
}

/// A price per duration.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DurationRate {
    /// Per `unit_seconds` of chargeable duration.
    pub price: Money,
    #[serde(default = "sixty")]
    pub unit_seconds: u64,
    /// The duration is rounded up to whole increments first: 1 prices
    /// every started second, 60 every started minute.
    #[serde(default = "one")]
    pub increment: u64,
}

/// A price per started `unit_size` units of consumed capacity.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityRate {
    pub price: Money,
    #[serde(default = "one")]
    pub unit_size: u64,
}

fn sixty() -> u64 {
    60
}

fn one() -> u64 {
    1
}

fn rfc3339<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
    let s = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(&s).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{s}` is not an RFC 3339 time ({e}): give a date, a time and the UTC offset, such as 2026-01-01T00:00:00+01:00"
        ))
    })
}

fn rfc3339_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
    rfc3339(d).map(Some)
}

/// A loaded list revision.
#[derive(Debug)]
pub struct NetworkList {
    pub id: String,
    pub revision: u16,
    pub provider: String,
    pub network: TypeOfNetwork,
    pub valid_from: DateTime<FixedOffset>,
    pub valid_to: Option<DateTime<FixedOffset>>,
    pub currency: String,
    pub rounding: Rounding,
    pub duration: Option<DurationRate>,
    pub capacity: Option<CapacityRate>,
    pub path: PathBuf,
}

impl NetworkList {
    fn valid_at(&self, t: &DateTime<FixedOffset>) -> bool {
        self.valid_from <= *t && self.valid_to.is_none_or(|to| *t < to)
    }
}

/// The refinement cost and profit margin added to the network cost for
/// one marketing company (and optionally one service).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    pub marketing_company: String,
    /// Every service when left out; a row naming the service wins.
    pub service: Option<String>,
    /// Percent of the network cost.
    #[serde(default = "zero")]
    pub refinement_percent: Money,
    /// Per priced usage module with network cost, in that cost's currency.
    #[serde(default = "zero")]
    pub refinement_amount: Money,
    /// Percent of network cost plus refinement.
    #[serde(default = "zero")]
    pub margin_percent: Money,
    #[serde(default = "zero")]
    pub margin_amount: Money,
}

fn zero() -> Money {
    Money(Decimal::ZERO)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductionDef {
    #[serde(default)]
    rounding: Rounding,
    #[serde(default)]
    terms: Vec<toml::Spanned<Terms>>,
}

/// Every network cost list and the production terms.
#[derive(Debug, Default)]
pub struct NetworkCosts {
    by_key: HashMap<(String, TypeOfNetwork), Vec<Arc<NetworkList>>>,
    terms: Vec<Terms>,
    /// Rounding of refinement cost and profit margin.
    pub production_rounding: Rounding,
    /// A digest of every file read: another configuration is another run.
    pub digest: u64,
    pub count: usize,
}

/// Why a hop has no network cost, in words for the report.
pub type NoList = String;

impl NetworkCosts {
    /// Loads every `*.toml` of `dir` (recursively, sorted): `production.toml`
    /// at its top holds the production terms, every other file one list
    /// revision.
    pub fn load_dir(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Failure::Config(format!(
                "there is no network cost directory {}: give the directory of network cost lists with --network-costs DIR",
                dir.display()
            ))
            .into());
        }
        let mut files = Vec::new();
        crate::resolve::price_list::collect_toml(dir, &dir.join("\0none"), &mut files)?;
        files.sort();
        let mut sources = Vec::new();
        for f in files {
            let src = std::fs::read_to_string(&f).map_err(|e| {
                Failure::Config(format!(
                    "cannot read network cost list {}: {e}",
                    f.display()
                ))
            })?;
            sources.push((f, src));
        }
        let production = dir.join(PRODUCTION_FILE);
        Self::from_sources(sources, &production)
    }

    /// Loads from (path, text) pairs; the one at `production` holds the
    /// production terms.
    pub fn from_sources(sources: Vec<(PathBuf, String)>, production: &Path) -> Result<Self> {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        let mut costs = NetworkCosts::default();
        let mut seen: HashMap<(String, u16), PathBuf> = HashMap::new();
        for (path, src) in sources {
            h.update(path.to_string_lossy().as_bytes());
            h.update(b"\0");
            h.update(src.as_bytes());
            h.update(b"\0");
            if path == production {
                let def: ProductionDef = toml::from_str(&src)
                    .map_err(|e| config_error(&path, &src, e.span(), e.message()))?;
                check_rounding(&path, &src, &def.rounding)?;
                let mut keys = HashMap::new();
                for t in def.terms {
                    let span = t.span();
                    let t = t.into_inner();
                    let fail = |m: String| Err(config_error(&path, &src, Some(span.clone()), &m));
                    for (name, v) in [
                        ("refinement_percent", t.refinement_percent),
                        ("refinement_amount", t.refinement_amount),
                        ("margin_percent", t.margin_percent),
                        ("margin_amount", t.margin_amount),
                    ] {
                        if v.0.is_sign_negative() {
                            return fail(format!("{name} {} is negative", v.0));
                        }
                    }
                    let key = (t.marketing_company.clone(), t.service.clone());
                    if keys.insert(key, ()).is_some() {
                        return fail(format!(
                            "a second [[terms]] for marketing company {} and {}: one row each",
                            t.marketing_company,
                            t.service
                                .as_deref()
                                .map_or("every service".into(), |s| format!("service {s}"))
                        ));
                    }
                    costs.terms.push(t);
                }
                costs.production_rounding = def.rounding;
                continue;
            }
            let def: NetworkListDef = toml::from_str(&src)
                .map_err(|e| config_error(&path, &src, e.span(), e.message()))?;
            let list = check_list(&path, &src, def)?;
            if let Some(first) = seen.insert((list.id.clone(), list.revision), path.clone()) {
                return Err(Failure::Config(format!(
                    "{}: network cost list {} revision {} is also in {}; publish a new revision instead",
                    path.display(),
                    list.id,
                    list.revision,
                    first.display()
                ))
                .into());
            }
            costs
                .by_key
                .entry((list.provider.clone(), list.network))
                .or_default()
                .push(Arc::new(list));
            costs.count += 1;
        }
        for lists in costs.by_key.values_mut() {
            lists.sort_by_key(|a| (a.valid_from, a.revision));
            check_overlaps(lists)?;
        }
        costs.digest = h.digest();
        Ok(costs)
    }

    /// The list pricing a hop of `provider`'s `network` that starts at
    /// `at`, or why there is none.
    pub fn find(
        &self,
        provider: &str,
        network: TypeOfNetwork,
        at: &DateTime<FixedOffset>,
    ) -> Result<&Arc<NetworkList>, NoList> {
        let Some(lists) = self.by_key.get(&(provider.to_owned(), network)) else {
            return Err(format!(
                "no network cost list for provider {provider}, network {network}"
            ));
        };
        lists
            .iter()
            .filter(|l| l.valid_at(at))
            .max_by_key(|l| l.revision)
            .ok_or_else(|| {
                format!(
                    "no network cost list for provider {provider}, network {network} valid at {}",
                    at.to_rfc3339()
                )
            })
    }

    /// The production terms of a marketing company for a service: the row
    /// naming the service, else the company's row for every service.
    pub fn terms(&self, marketing_company: &str, service: &str) -> Option<&Terms> {
        let of = |s: Option<&str>| {
            self.terms
                .iter()
                .find(|t| t.marketing_company == marketing_company && t.service.as_deref() == s)
        };
        of(Some(service)).or_else(|| of(None))
    }

    /// Lists by provider and network, for `sdrate check`-like listings.
    pub fn lists(&self) -> BTreeMap<(String, String), Vec<Arc<NetworkList>>> {
        self.by_key
            .iter()
            .map(|((p, n), l)| ((p.clone(), n.to_string()), l.clone()))
            .collect()
    }
}

fn check_rounding(path: &Path, src: &str, r: &Rounding) -> Result<()> {
    if r.decimals > 12 {
        return Err(config_error(
            path,
            src,
            None,
            &format!("rounding decimals {} is more than 12", r.decimals),
        ));
    }
    Ok(())
}

fn check_list(path: &Path, src: &str, def: NetworkListDef) -> Result<NetworkList> {
    let fail =
        |span: Option<std::ops::Range<usize>>, m: String| Err(config_error(path, src, span, &m));
    let network = match TypeOfNetwork::from_name(def.network.get_ref()) {
        Some(n) => n,
        None => {
            let known: Vec<&str> = TypeOfNetwork::KNOWN
                .iter()
                .filter_map(|n| n.name())
                .collect();
            return fail(
                Some(def.network.span()),
                format!(
                    "network `{}` is not a type of network; one of: {}",
                    def.network.get_ref(),
                    known.join(", ")
                ),
            );
        }
    };
    if let Some(to) = def.valid_to
        && to <= def.valid_from
    {
        return fail(
            None,
            format!("valid_to {to} is not after valid_from {}", def.valid_from),
        );
    }
    if def.currency.len() != 3 || !def.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return fail(
            None,
            format!(
                "currency `{}` is not an ISO 4217 code (three capital letters, such as SEK)",
                def.currency
            ),
        );
    }
    check_rounding(path, src, &def.rounding)?;
    if def.duration.is_none() && def.capacity.is_none() {
        return fail(
            None,
            "a network cost list prices [duration], [capacity] or both; it has neither".into(),
        );
    }
    if let Some(d) = &def.duration {
        let span = Some(d.span());
        let d = d.get_ref();
        if d.price.0.is_sign_negative() {
            return fail(span, format!("[duration] price {} is negative", d.price.0));
        }
        if d.unit_seconds == 0 || d.increment == 0 {
            return fail(
                span,
                "[duration] unit_seconds and increment must be at least 1".into(),
            );
        }
    }
    if let Some(c) = &def.capacity {
        let span = Some(c.span());
        let c = c.get_ref();
        if c.price.0.is_sign_negative() {
            return fail(span, format!("[capacity] price {} is negative", c.price.0));
        }
        if c.unit_size == 0 {
            return fail(span, "[capacity] unit_size must be at least 1".into());
        }
    }
    Ok(NetworkList {
        id: def.id,
        revision: def.revision,
        provider: def.provider,
        network,
        valid_from: def.valid_from,
        valid_to: def.valid_to,
        currency: def.currency,
        rounding: def.rounding,
        duration: def.duration.map(toml::Spanned::into_inner),
        capacity: def.capacity.map(toml::Spanned::into_inner),
        path: path.to_path_buf(),
    })
}

/// Lists of different ids for one provider and network may not be valid
/// at the same time. `lists` is sorted by start of validity.
fn check_overlaps(lists: &[Arc<NetworkList>]) -> Result<()> {
    for (i, a) in lists.iter().enumerate() {
        for b in &lists[i + 1..] {
            if a.id == b.id {
                continue;
            }
            let overlap = a.valid_to.is_none_or(|to| b.valid_from < to);
            if overlap {
                return Err(Failure::Config(format!(
                    "{}: network cost list {} is valid from {} while {} ({}) still is; one provider's network has one list at a time (give {} a valid_to, or make {} a revision of it)",
                    b.path.display(),
                    b.id,
                    b.valid_from,
                    a.id,
                    a.path.display(),
                    a.id,
                    b.id
                ))
                .into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)]) -> Result<NetworkCosts> {
        NetworkCosts::from_sources(
            files
                .iter()
                .map(|(p, s)| (PathBuf::from(p), (*s).to_owned()))
                .collect(),
            Path::new("net/production.toml"),
        )
    }

    const FR: &str = r#"
id = "fr"
revision = 1
provider = "fr-signal"
network = "signalling"
valid_from = "2026-01-01T00:00:00+01:00"
currency = "SEK"
[capacity]
price = "0.50"
unit_size = 10
"#;

    #[test]
    fn a_later_revision_wins_where_both_are_valid() {
        let r2 = FR
            .replace("revision = 1", "revision = 2")
            .replace("2026-01-01", "2026-06-01");
        let c = load(&[("net/fr1.toml", FR), ("net/fr2.toml", &r2)]).unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        let f = |s| {
            c.find("fr-signal", TypeOfNetwork::Signalling, &at(s))
                .map(|l| l.revision)
        };
        assert_eq!(f("2026-03-01T00:00:00Z"), Ok(1));
        assert_eq!(f("2026-07-01T00:00:00Z"), Ok(2));
        assert!(f("2025-07-01T00:00:00Z").unwrap_err().contains("valid at"));
        assert!(
            c.find("fr-signal", TypeOfNetwork::Ip, &at("2026-07-01T00:00:00Z"))
                .unwrap_err()
                .contains("no network cost list for provider fr-signal, network ip")
        );
    }

    #[test]
    fn a_bad_network_names_file_line_and_the_known_ones() {
        let bad = FR.replace("\"signalling\"", "\"signaling\"");
        let e = load(&[("net/fr.toml", &bad)]).unwrap_err().to_string();
        assert!(
            e.starts_with("net/fr.toml: line 5, column 11: network `signaling`"),
            "{e}"
        );
        assert!(
            e.contains("signalling, ip, voiceChannel, atm, mobile"),
            "{e}"
        );
    }

    #[test]
    fn a_float_price_an_unknown_key_and_no_rate_are_refused() {
        let float = FR.replace("\"0.50\"", "0.50");
        let e = load(&[("net/fr.toml", &float)]).unwrap_err().to_string();
        assert!(
            e.starts_with("net/fr.toml: line 9, column 9: invalid type: floating point"),
            "{e}"
        );
        let unknown = FR.replace("unit_size", "unit");
        let e = load(&[("net/fr.toml", &unknown)]).unwrap_err().to_string();
        assert!(e.contains("unknown field `unit`"), "{e}");
        let none = FR.split("[capacity]").next().unwrap().to_owned();
        let e = load(&[("net/fr.toml", &none)]).unwrap_err().to_string();
        assert!(e.contains("neither"), "{e}");
    }

    #[test]
    fn two_ids_for_one_network_at_one_time_are_refused() {
        let other = FR.replace("id = \"fr\"", "id = \"fr-other\"");
        let e = load(&[("net/a.toml", FR), ("net/b.toml", &other)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("one provider's network has one list at a time"),
            "{e}"
        );
    }

    #[test]
    fn terms_for_the_service_win_over_the_company_row() {
        let prod = r#"
[[terms]]
marketing_company = "megacom"
refinement_percent = "10"
[[terms]]
marketing_company = "megacom"
service = "VPN"
refinement_percent = "20"
"#;
        let c = load(&[("net/production.toml", prod)]).unwrap();
        let p = |s| c.terms("megacom", s).map(|t| t.refinement_percent.0);
        assert_eq!(p("VPN"), Some(Decimal::from(20)));
        assert_eq!(p("VCC"), Some(Decimal::from(10)));
        assert!(c.terms("publicom", "VPN").is_none());
        let twice =
            format!("{prod}[[terms]]\nmarketing_company = \"megacom\"\nservice = \"VPN\"\n");
        let e = load(&[("net/production.toml", &twice)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("a second [[terms]]"), "{e}");
    }
}
