//! The SDR archive's subscribers: which post-processing system gets which
//! priced SDR.
//!
//! The seed's Subscription Service keeps priced SDRs for the post-processing
//! systems (invoicing, consolidated billing, statistics) that subscribe to
//! them: "each post-processing system subscribes to SDRs from one, or more
//! infocom services, and/or to selected data items from within an SDR", and
//! "SDRs having no subscribers are discarded". Here a routing file (TOML,
//! see docs/subscribers.md) lists the subscribers; [`Outputs`] writes every
//! SDR to each subscriber that wants it, either as its exact bytes (`ber`)
//! or as the chosen data items (`csv`, one row per usage module), and counts
//! the SDRs nobody wanted as discarded.
//!
//! Routing a record allocates nothing beyond what the CSV writer needs for
//! a timestamp column: matching walks the subscribers in place and CSV
//! cells are formatted into buffers kept between records.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::Failure;
use crate::sdr::{
    SdrType, ServiceDetailRecord, ServiceHeaderModule, ServicePricingModule, ServiceUsageModule,
    StatusIndicator,
};

/// Longest subscriber name: it is a file stem.
pub const MAX_NAME_LEN: usize = 100;

/// How a subscriber receives its SDRs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The priced SDR's bytes, exactly as priced, one record after another.
    Ber,
    /// The subscriber's data items, one row per usage module, with a header.
    Csv,
}

impl Format {
    /// Extension of the subscriber's output file.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Ber => "sdr",
            Format::Csv => "csv",
        }
    }
}

/// Declares the CSV data items: variant, column name.
macro_rules! items {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)+) => {
        /// A data item a CSV subscriber can take, named by its column.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Item {
            $($(#[doc = $doc])* $variant,)+
        }

        impl Item {
            /// Every item, in the order docs/subscribers.md lists them.
            pub const ALL: &'static [Item] = &[$(Item::$variant),+];

            /// The column name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Item::$variant => $name,)+
                }
            }

            pub fn from_name(s: &str) -> Option<Item> {
                match s {
                    $($name => Some(Item::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

items! {
    /// Header: SDR identifier.
    SdrIdentifier => "sdr_identifier",
    /// Header: SDR type (`billing`, ...).
    SdrType => "sdr_type",
    /// Header: producer identity.
    Producer => "producer",
    /// Header: date and time of origin, RFC 3339 with its UTC offset.
    TimeOfOrigin => "time_of_origin",
    /// Header: session identifier.
    SessionId => "session_id",
    /// Header: sequence number within the session.
    SequenceNumber => "sequence_number",
    /// Header: customer identity.
    Customer => "customer",
    /// The header's marketing company, else the usage module's.
    MarketingCompany => "marketing_company",
    /// Usage: service feature code.
    Service => "service",
    /// Usage: revision state of the service.
    ServiceRevision => "service_revision",
    /// Usage: user identifier.
    User => "user",
    /// Usage: charged participant.
    ChargedParticipant => "charged_participant",
    /// Usage: provider identifier.
    Provider => "provider",
    /// Usage: dialled number.
    DialledNumber => "dialled_number",
    /// Usage: access form (`fixed`, ...).
    AccessForm => "access_form",
    /// Pricing: time of pricing, RFC 3339.
    TimeOfPricing => "time_of_pricing",
    /// Pricing: currency.
    Currency => "currency",
    /// Pricing: VAT level in percent.
    VatPercent => "vat_percent",
    /// Pricing: sum of the basic prices of the module's price items.
    BasicPrice => "basic_price",
    /// Pricing: sum of the individual prices (the basic price where an
    /// item has none).
    IndividualPrice => "individual_price",
    /// Pricing: the price tables used, `;`-separated when several.
    PriceTable => "price_table",
    /// Pricing: their revisions, in the same order.
    Revision => "revision",
    /// Pricing: `priced`, or the first status of an item not priced.
    Status => "status",
}

/// One subscriber of the routing file.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscriber {
    name: String,
    format: Format,
    services: Option<Vec<String>>,
    sdr_types: Option<Vec<SdrType>>,
    marketing_companies: Option<Vec<String>>,
    items: Vec<Item>,
}

impl Subscriber {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The CSV columns; empty for `ber`.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// `<name>.sdr` or `<name>.csv`.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.name, self.format.extension())
    }

    fn wants_header(&self, h: &ServiceHeaderModule) -> bool {
        self.sdr_types
            .as_ref()
            .is_none_or(|t| t.contains(&h.sdr_type))
    }

    fn wants_company(&self, company: Option<&str>) -> bool {
        self.marketing_companies
            .as_ref()
            .is_none_or(|m| company.is_some_and(|c| m.iter().any(|x| x == c)))
    }

    /// Whether this usage module is one the subscriber asked for.
    fn wants_usage(&self, h: &ServiceHeaderModule, sum: &ServiceUsageModule) -> bool {
        self.services
            .as_ref()
            .is_none_or(|s| s.iter().any(|c| *c == sum.service_feature_code))
            && self.wants_company(Some(company(h, Some(sum))))
    }

    /// Whether the subscriber wants the SDR: its type is wanted and one of
    /// its usage modules is (or, for a record without any, no service is
    /// asked for and the header's company is wanted).
    pub fn wants(&self, sdr: &ServiceDetailRecord) -> bool {
        let h = &sdr.service_header;
        if !self.wants_header(h) {
            return false;
        }
        if sdr.service_usage_modules.is_empty() {
            return self.services.is_none() && self.wants_company(h.marketing_company.as_deref());
        }
        sdr.service_usage_modules
            .iter()
            .any(|sum| self.wants_usage(h, sum))
    }
}

/// The marketing company of a usage module: the header's, else its own.
fn company<'a>(h: &'a ServiceHeaderModule, sum: Option<&'a ServiceUsageModule>) -> &'a str {
    h.marketing_company
        .as_deref()
        .or(sum.map(|s| s.marketing_company.as_str()))
        .unwrap_or("")
}

/// The loaded routing file.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    path: PathBuf,
    subscribers: Vec<Subscriber>,
}

/// The routing file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutingFile {
    #[serde(default)]
    subscriber: Vec<SubscriberDef>,
}

type List = Option<Spanned<Vec<Spanned<String>>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriberDef {
    name: Spanned<String>,
    format: Spanned<Format>,
    services: List,
    sdr_types: List,
    marketing_companies: List,
    items: List,
}

fn config_error(path: &Path, src: &str, span: Option<Range<usize>>, msg: &str) -> anyhow::Error {
    let at = span
        .map(|s| format!(": {}", position(src, s.start)))
        .unwrap_or_default();
    Failure::Config(format!("{}{at}: {msg}", path.display())).into()
}

/// `line L, column C` of a byte offset (both from 1, the column in bytes).
fn position(src: &str, offset: usize) -> String {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("line {line}, column {col}")
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Routing {
    /// Reads and checks a routing file; a bad file is a configuration error
    /// (exit code 3) naming file, line and column.
    pub fn load(path: &Path) -> Result<Routing> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read routing file {}", path.display()))?;
        Routing::from_str(path, &text)
    }

    /// Parses and checks routing text; `path` names it in errors.
    pub fn from_str(path: &Path, text: &str) -> Result<Routing> {
        let err = |span: Option<Range<usize>>, msg: &str| config_error(path, text, span, msg);
        let file: RoutingFile = toml::from_str(text).map_err(|e| err(e.span(), e.message()))?;
        if file.subscriber.is_empty() {
            return Err(err(
                None,
                "the routing file lists no [[subscriber]]; every SDR would be discarded",
            ));
        }
        let mut subscribers: Vec<Subscriber> = Vec::with_capacity(file.subscriber.len());
        let mut names: Vec<&Spanned<String>> = Vec::new();
        for def in &file.subscriber {
            let name = def.name.get_ref();
            if !valid_name(name) {
                return Err(err(
                    Some(def.name.span()),
                    &format!(
                        "subscriber name `{name}` must be 1 to {MAX_NAME_LEN} letters, digits, `_` or `-`: it is a file name"
                    ),
                ));
            }
            if let Some(first) = names
                .iter()
                .find(|n| n.get_ref().eq_ignore_ascii_case(name))
            {
                return Err(err(
                    Some(def.name.span()),
                    &format!(
                        "subscriber name `{name}` is already used at {} (names are file names, compared ignoring case)",
                        position(text, first.span().start)
                    ),
                ));
            }
            names.push(&def.name);

            let non_empty = |list: &List, key: &str| -> Result<Option<Vec<Spanned<String>>>> {
                match list {
                    None => Ok(None),
                    Some(l) if l.get_ref().is_empty() => Err(err(
                        Some(l.span()),
                        &format!(
                            "`{key}` is empty and would match nothing; leave it out to take all"
                        ),
                    )),
                    Some(l) => Ok(Some(l.get_ref().clone())),
                }
            };
            let strings = |v: Option<Vec<Spanned<String>>>| {
                v.map(|v| v.into_iter().map(Spanned::into_inner).collect())
            };
            let services = strings(non_empty(&def.services, "services")?);
            let marketing_companies =
                strings(non_empty(&def.marketing_companies, "marketing_companies")?);
            let sdr_types = non_empty(&def.sdr_types, "sdr_types")?
                .map(|v| {
                    v.iter()
                        .map(|t| {
                            SdrType::from_name(t.get_ref()).ok_or_else(|| {
                                let known: Vec<&str> =
                                    SdrType::KNOWN.iter().filter_map(|k| k.name()).collect();
                                err(
                                    Some(t.span()),
                                    &format!(
                                        "unknown SDR type `{}`, expected one of: {}",
                                        t.get_ref(),
                                        known.join(", ")
                                    ),
                                )
                            })
                        })
                        .collect::<Result<Vec<_>>>()
                })
                .transpose()?;

            let format = *def.format.get_ref();
            let items = match (format, &def.items) {
                (Format::Ber, None) => Vec::new(),
                (Format::Ber, Some(l)) => {
                    return Err(err(
                        Some(l.span()),
                        &format!(
                            "subscriber `{name}`: `items` is for csv subscribers; a ber subscriber gets whole SDRs"
                        ),
                    ));
                }
                (Format::Csv, None) => {
                    return Err(err(
                        Some(def.format.span()),
                        &format!(
                            "subscriber `{name}`: a csv subscriber needs `items`, the columns it takes"
                        ),
                    ));
                }
                (Format::Csv, Some(_)) => {
                    let list = non_empty(&def.items, "items")?.unwrap_or_default();
                    let mut items = Vec::with_capacity(list.len());
                    for i in &list {
                        let Some(item) = Item::from_name(i.get_ref()) else {
                            let known: Vec<&str> = Item::ALL.iter().map(|i| i.name()).collect();
                            return Err(err(
                                Some(i.span()),
                                &format!(
                                    "unknown item `{}`, expected one of: {}",
                                    i.get_ref(),
                                    known.join(", ")
                                ),
                            ));
                        };
                        if items.contains(&item) {
                            return Err(err(
                                Some(i.span()),
                                &format!("item `{}` is listed twice", i.get_ref()),
                            ));
                        }
                        items.push(item);
                    }
                    items
                }
            };
            subscribers.push(Subscriber {
                name: name.clone(),
                format,
                services,
                sdr_types,
                marketing_companies,
                items,
            });
        }
        Ok(Routing {
            path: path.to_path_buf(),
            subscribers,
        })
    }

    /// Where the routing was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Indices (into [`Routing::subscribers`]) of the subscribers that want
    /// this SDR, in file order; empty means it is discarded. Allocates only
    /// when some subscriber wants it; [`Outputs::route`] does not call it.
    pub fn matches(&self, sdr: &ServiceDetailRecord) -> Vec<usize> {
        self.subscribers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.wants(sdr))
            .map(|(i, _)| i)
            .collect()
    }

    /// The subscribers, in file order.
    pub fn subscribers(&self) -> &[Subscriber] {
        &self.subscribers
    }
}

/// How many SDRs each subscriber took, and how many nobody wanted; for the
/// run summary. An SDR taken by two subscribers counts once for each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteCounts {
    pub by_subscriber: BTreeMap<String, u64>,
    pub discarded: u64,
}

enum Sink {
    Ber(BufWriter<File>),
    Csv(Box<csv::Writer<File>>),
}

struct Output {
    path: PathBuf,
    sink: Sink,
    taken: u64,
}

/// One open output per subscriber.
pub struct Outputs {
    subscribers: Vec<Subscriber>,
    outputs: Vec<Output>,
    discarded: u64,
    /// CSV cells, reused from record to record.
    row: Vec<String>,
}

const BUFFER: usize = 1 << 16;

impl Outputs {
    /// Creates `dir` if needed and one file per subscriber in it,
    /// `<name>.sdr` or `<name>.csv` (the CSV with its header row),
    /// replacing files of those names.
    pub fn open(routing: &Routing, dir: &Path) -> Result<Outputs> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create subscriber directory {}", dir.display()))?;
        let mut outputs = Vec::with_capacity(routing.subscribers.len());
        for s in &routing.subscribers {
            let path = dir.join(s.file_name());
            let file =
                File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            let sink = match s.format {
                Format::Ber => Sink::Ber(BufWriter::with_capacity(BUFFER, file)),
                Format::Csv => {
                    let mut w = csv::WriterBuilder::new()
                        .buffer_capacity(BUFFER)
                        .from_writer(file);
                    w.write_record(s.items.iter().map(|i| i.name()))
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    Sink::Csv(Box::new(w))
                }
            };
            outputs.push(Output {
                path,
                sink,
                taken: 0,
            });
        }
        let widest = routing
            .subscribers
            .iter()
            .map(|s| s.items.len())
            .max()
            .unwrap_or(0);
        Ok(Outputs {
            subscribers: routing.subscribers.clone(),
            outputs,
            discarded: 0,
            row: vec![String::new(); widest],
        })
    }

    /// Writes one priced SDR, given decoded and as its exact bytes, to every
    /// subscriber that wants it; returns how many took it (0: discarded,
    /// and counted so).
    pub fn route(&mut self, sdr: &ServiceDetailRecord, bytes: &[u8]) -> Result<usize> {
        let mut taken = 0;
        for (s, out) in self.subscribers.iter().zip(&mut self.outputs) {
            if !s.wants(sdr) {
                continue;
            }
            match &mut out.sink {
                Sink::Ber(w) => w.write_all(bytes).map_err(anyhow::Error::from),
                Sink::Csv(w) => write_rows(s, sdr, w, &mut self.row),
            }
            .with_context(|| format!("cannot write {}", out.path.display()))?;
            out.taken += 1;
            taken += 1;
        }
        if taken == 0 {
            self.discarded += 1;
        }
        Ok(taken)
    }

    /// Flushes every output and returns the counts.
    pub fn finish(self) -> Result<RouteCounts> {
        let mut counts = RouteCounts {
            by_subscriber: BTreeMap::new(),
            discarded: self.discarded,
        };
        for (s, out) in self.subscribers.iter().zip(self.outputs) {
            let flushed = match out.sink {
                Sink::Ber(mut w) => w.flush(),
                Sink::Csv(mut w) => w.flush(),
            };
            flushed.with_context(|| format!("cannot write {}", out.path.display()))?;
            counts.by_subscriber.insert(s.name.clone(), out.taken);
        }
        Ok(counts)
    }
}

/// The pricing module of the usage module at `index`: the one with the same
/// sumSpmCorrelator, else the one at the same position unless that one is
/// correlated with another usage module.
fn pricing_for<'a>(
    sdr: &'a ServiceDetailRecord,
    index: usize,
    sum: &ServiceUsageModule,
) -> Option<&'a ServicePricingModule> {
    let spms = sdr.service_pricing_modules.as_deref()?;
    if let Some(c) = sum.sum_spm_correlator
        && let Some(spm) = spms.iter().find(|p| p.sum_spm_correlator == Some(c))
    {
        return Some(spm);
    }
    spms.get(index).filter(|p| {
        p.sum_spm_correlator.is_none() || p.sum_spm_correlator == sum.sum_spm_correlator
    })
}

/// One CSV row per usage module the subscriber wants, or one row without
/// usage and pricing columns for a record that has no usage module.
fn write_rows(
    s: &Subscriber,
    sdr: &ServiceDetailRecord,
    w: &mut csv::Writer<File>,
    row: &mut [String],
) -> Result<()> {
    let h = &sdr.service_header;
    let row = &mut row[..s.items.len()];
    if sdr.service_usage_modules.is_empty() {
        fill(s, sdr, None, None, row)?;
        w.write_record(&*row)?;
        return Ok(());
    }
    for (i, sum) in sdr.service_usage_modules.iter().enumerate() {
        if !s.wants_usage(h, sum) {
            continue;
        }
        fill(s, sdr, Some(sum), pricing_for(sdr, i, sum), row)?;
        w.write_record(&*row)?;
    }
    Ok(())
}

/// Totals of one pricing module.
struct Prices {
    basic: Decimal,
    individual: Decimal,
    status: Option<StatusIndicator>,
}

fn prices(spm: &ServicePricingModule) -> Result<Prices> {
    let mut p = Prices {
        basic: Decimal::ZERO,
        individual: Decimal::ZERO,
        status: None,
    };
    let overflow = || anyhow!("a price sum overflows");
    for item in &spm.prices {
        let basic = item.basic_price.to_decimal()?;
        let individual = match &item.individual_price {
            Some(a) => a.to_decimal()?,
            None => basic,
        };
        p.basic = p.basic.checked_add(basic).ok_or_else(overflow)?;
        p.individual = p.individual.checked_add(individual).ok_or_else(overflow)?;
        p.status = match p.status {
            None | Some(StatusIndicator::Priced) => Some(item.status_indicator),
            kept => kept,
        };
    }
    Ok(p)
}

/// Fills the row's cells for one usage module and its pricing module.
fn fill(
    s: &Subscriber,
    sdr: &ServiceDetailRecord,
    sum: Option<&ServiceUsageModule>,
    spm: Option<&ServicePricingModule>,
    row: &mut [String],
) -> Result<()> {
    let h = &sdr.service_header;
    let totals = spm.map(prices).transpose()?;
    // The distinct (table, revision) pairs of the pricing module, in order;
    // a fault's empty table name is no table.
    let tables = || {
        let prices = spm.map_or(&[][..], |p| &p.prices[..]);
        prices.iter().enumerate().filter(move |(i, p)| {
            !p.price_table_identifier.is_empty()
                && !prices[..*i].iter().any(|q| {
                    q.price_table_identifier == p.price_table_identifier
                        && q.price_table_revision == p.price_table_revision
                })
        })
    };
    for (item, cell) in s.items.iter().zip(row.iter_mut()) {
        cell.clear();
        // Writing to a String cannot fail.
        let _ = match item {
            Item::SdrIdentifier => write!(cell, "{}", h.sdr_identifier),
            Item::SdrType => write!(cell, "{}", h.sdr_type),
            Item::Producer => write!(cell, "{}", h.producer_identity),
            Item::TimeOfOrigin => write!(cell, "{}", h.time_of_origin),
            Item::SessionId => opt(cell, h.session_identifier.as_deref()),
            Item::SequenceNumber => opt(cell, h.sequence_number),
            Item::Customer => opt(cell, h.customer_identity.as_deref()),
            Item::MarketingCompany => write!(cell, "{}", company(h, sum)),
            Item::Service => opt(cell, sum.map(|u| &u.service_feature_code)),
            Item::ServiceRevision => opt(cell, sum.map(|u| u.revision_state_of_service)),
            Item::User => opt(cell, sum.and_then(|u| u.user_identifier.as_deref())),
            Item::ChargedParticipant => {
                opt(cell, sum.and_then(|u| u.charged_participant.as_deref()))
            }
            Item::Provider => opt(cell, sum.map(|u| &u.provider_identifier)),
            Item::DialledNumber => opt(cell, sum.map(|u| &u.dialled_number)),
            Item::AccessForm => opt(cell, sum.and_then(|u| u.access_form)),
            Item::TimeOfPricing => opt(cell, spm.map(|p| p.time_of_pricing)),
            Item::Currency => opt(cell, spm.map(|p| &p.currency)),
            Item::VatPercent => opt(cell, spm.map(|p| p.vat_level.to_decimal()).transpose()?),
            Item::BasicPrice => opt(cell, totals.as_ref().map(|t| t.basic)),
            Item::IndividualPrice => opt(cell, totals.as_ref().map(|t| t.individual)),
            Item::PriceTable => joined(cell, tables().map(|(_, p)| &p.price_table_identifier)),
            Item::Revision => joined(cell, tables().map(|(_, p)| p.price_table_revision)),
            Item::Status => opt(cell, totals.as_ref().and_then(|t| t.status)),
        };
    }
    Ok(())
}

fn opt<T: std::fmt::Display>(cell: &mut String, v: Option<T>) -> std::fmt::Result {
    match v {
        Some(v) => write!(cell, "{v}"),
        None => Ok(()),
    }
}

fn joined<T: std::fmt::Display>(
    cell: &mut String,
    values: impl Iterator<Item = T>,
) -> std::fmt::Result {
    for (i, v) in values.enumerate() {
        if i > 0 {
            cell.push(';');
        }
        write!(cell, "{v}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Generator;
    use crate::read::{Input, decode};
    use crate::sdr::{Amount, PriceItem, Timestamp};

    fn fixture(name: &str) -> Vec<ServiceDetailRecord> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name);
        let input = Input::open(&path).unwrap();
        input
            .records()
            .map(|r| decode(r.unwrap().bytes).unwrap())
            .collect()
    }

    fn by_id(records: &[ServiceDetailRecord], id: u32) -> ServiceDetailRecord {
        records
            .iter()
            .find(|r| r.service_header.sdr_identifier == id)
            .unwrap()
            .clone()
    }

    fn amount(s: &str) -> Amount {
        Amount::from_decimal(s.parse().unwrap()).unwrap()
    }

    fn price(basic: &str, individual: Option<&str>, table: &str, revision: u16) -> PriceItem {
        PriceItem {
            price_type: crate::sdr::PriceType::PerTimeSlice,
            basic_price: amount(basic),
            individual_price: individual.map(amount),
            price_table_identifier: table.into(),
            price_table_revision: revision,
            bill_information: None,
            status_indicator: StatusIndicator::Priced,
            unknown_items: None,
        }
    }

    fn ids(path: &Path) -> Vec<u32> {
        let input = Input::open(path).unwrap();
        input
            .records()
            .map(|r| {
                decode(r.unwrap().bytes)
                    .unwrap()
                    .service_header
                    .sdr_identifier
            })
            .collect()
    }

    const ROUTING: &str = r#"
[[subscriber]]
name = "invoicing-megacom"
format = "ber"
services = ["VPN", "VCC"]
sdr_types = ["billing"]
marketing_companies = ["megacom"]

[[subscriber]]
name = "vpn-prices"
format = "csv"
services = ["VPN"]
items = ["sdr_identifier", "customer", "marketing_company", "service", "individual_price", "basic_price", "currency", "vat_percent", "price_table", "revision", "status"]

[[subscriber]]
name = "foretag_all"
format = "csv"
marketing_companies = ["foretag"]
items = ["sdr_identifier", "sdr_type", "service", "service_revision", "basic_price", "individual_price", "price_table", "revision", "status", "time_of_origin"]

[[subscriber]]
name = "quality"
format = "csv"
sdr_types = ["qualityAssurance", "statistics"]
items = ["sdr_identifier", "sdr_type", "service", "marketing_company", "customer"]
"#;

    /// The records routed by the main test, in order, with what each
    /// subscriber (by index) should take.
    fn records() -> Vec<(ServiceDetailRecord, Vec<usize>)> {
        let priced = fixture("priced.sdr");
        let every = fixture("every_type.sdr");
        // VPN, billing, megacom, one SPM correlated by sumSpmCorrelator.
        let a = by_id(&priced, 1201);
        // Two FAXBOX SUMs (correlators 1 and 2); the SPMs are put in the
        // opposite order, so only the correlator pairs them right.
        let mut b = by_id(&priced, 1202);
        b.service_pricing_modules.as_mut().unwrap().reverse();
        // Quality assurance, VCC, megacom, no customer.
        let c = by_id(&every, 1002);
        // Statistics, VPN, megacom, not priced.
        let d = by_id(&every, 1004);
        // No company in the header: the SUMs' own count. A VPN SUM of
        // publicom priced from two tables, then a VCC SUM of megacom;
        // no correlators, so SPMs pair by position.
        let mut e = a.clone();
        e.service_header.sdr_identifier = 1205;
        e.service_header.marketing_company = None;
        e.service_header.customer_identity = Some("C00999".into());
        let mut vpn = a.service_usage_modules[0].clone();
        vpn.marketing_company = "publicom".into();
        vpn.sum_spm_correlator = None;
        let mut vcc = vpn.clone();
        vcc.service_feature_code = "VCC".into();
        vcc.marketing_company = "megacom".into();
        e.service_usage_modules = vec![vpn, vcc];
        let mut spm_vpn = a.service_pricing_modules.as_ref().unwrap()[0].clone();
        spm_vpn.sum_spm_correlator = None;
        spm_vpn.prices = vec![
            price("1.50", Some("1.20"), "publicom-vpn", 2),
            price("0.25", None, "publicom-vpn", 2),
            price("0.10", Some("0.10"), "vpn-extra", 1),
        ];
        let mut spm_vcc = spm_vpn.clone();
        spm_vcc.prices = vec![price("9.99", None, "megacom-vcc", 1)];
        e.service_pricing_modules = Some(vec![spm_vpn, spm_vcc]);
        // Billing VCC of publicom, billing SATM of publicom: nobody's.
        let f = by_id(&fixture("vcc.sdr"), 1102);
        let g = by_id(&fixture("satm.sdr"), 3302);
        // Quality assurance without any usage module.
        let mut h = c.clone();
        h.service_header.sdr_identifier = 1208;
        h.service_usage_modules.clear();
        vec![
            (a, vec![0, 1]),
            (b, vec![2]),
            (c, vec![3]),
            (d, vec![1, 3]),
            (e, vec![0, 1]),
            (f, vec![]),
            (g, vec![]),
            (h, vec![3]),
        ]
    }

    #[test]
    fn routes_each_sdr_to_exactly_the_subscribers_that_want_it() {
        let routing = Routing::from_str(Path::new("routing.toml"), ROUTING).unwrap();
        let names: Vec<&str> = routing.subscribers().iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            ["invoicing-megacom", "vpn-prices", "foretag_all", "quality"]
        );
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("subscribers");
        let mut outputs = Outputs::open(&routing, &out_dir).unwrap();
        let mut bytes_for_invoicing = Vec::new();
        for (sdr, want) in records() {
            let bytes = rasn::ber::encode(&sdr).unwrap();
            let id = sdr.service_header.sdr_identifier;
            assert_eq!(routing.matches(&sdr), want, "SDR {id}");
            assert_eq!(outputs.route(&sdr, &bytes).unwrap(), want.len(), "SDR {id}");
            if want.contains(&0) {
                bytes_for_invoicing.extend_from_slice(&bytes);
            }
        }
        let counts = outputs.finish().unwrap();
        assert_eq!(
            serde_json::to_string(&counts).unwrap(),
            r#"{"by_subscriber":{"foretag_all":1,"invoicing-megacom":2,"quality":3,"vpn-prices":3},"discarded":2}"#
        );

        let mut files: Vec<String> = fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "foretag_all.csv",
                "invoicing-megacom.sdr",
                "quality.csv",
                "vpn-prices.csv"
            ]
        );
        // The BER subscriber gets the priced bytes as they were.
        let ber = out_dir.join("invoicing-megacom.sdr");
        assert_eq!(ids(&ber), [1201, 1205]);
        assert_eq!(fs::read(&ber).unwrap(), bytes_for_invoicing);

        let csv = |name: &str| fs::read_to_string(out_dir.join(name)).unwrap();
        // Only the VPN usage of 1205 is this subscriber's; its three price
        // items add up, two tables in order of first use.
        assert_eq!(
            csv("vpn-prices.csv"),
            "sdr_identifier,customer,marketing_company,service,individual_price,basic_price,currency,vat_percent,price_table,revision,status\n\
             1201,C00042,megacom,VPN,2.81,3.12,SEK,25,megacom-vpn-offnet,3,priced\n\
             1004,C00300,megacom,VPN,,,,,,,\n\
             1205,C00999,publicom,VPN,1.55,1.85,SEK,25,publicom-vpn;vpn-extra,2;1,priced\n"
        );
        // One row per SUM, each with its own SPM by correlator; the fault
        // SPM's empty table is no table, and no individual price means the
        // basic one.
        assert_eq!(
            csv("foretag_all.csv"),
            "sdr_identifier,sdr_type,service,service_revision,basic_price,individual_price,price_table,revision,status,time_of_origin\n\
             1202,billing,FAXBOX,1,4.00,4.00,foretag-faxbox,1,priced,2026-11-20T18:30:00+01:00\n\
             1202,billing,FAXBOX,2,0,0,,,unableToLocatePriceTable,2026-11-20T18:30:00+01:00\n"
        );
        // A record without usage modules is one row without usage columns.
        assert_eq!(
            csv("quality.csv"),
            "sdr_identifier,sdr_type,service,marketing_company,customer\n\
             1002,qualityAssurance,VCC,megacom,\n\
             1004,statistics,VPN,megacom,C00300\n\
             1208,qualityAssurance,,megacom,\n"
        );
    }

    #[test]
    fn empty_run_writes_headers_and_zero_counts() {
        let routing = Routing::from_str(Path::new("routing.toml"), ROUTING).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let counts = Outputs::open(&routing, dir.path())
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(counts.discarded, 0);
        assert_eq!(counts.by_subscriber.values().sum::<u64>(), 0);
        assert_eq!(counts.by_subscriber.len(), 4);
        assert_eq!(
            fs::read(dir.path().join("invoicing-megacom.sdr")).unwrap(),
            b""
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("quality.csv")).unwrap(),
            "sdr_identifier,sdr_type,service,marketing_company,customer\n"
        );
    }

    /// Generated traffic against an independent statement of each filter.
    #[test]
    fn generated_traffic_is_routed_by_service_type_and_company() {
        let routing = Routing::from_str(
            Path::new("routing.toml"),
            r#"
[[subscriber]]
name = "vpn-vcc-megacom"
format = "ber"
services = ["VPN", "VCC"]
sdr_types = ["billing"]
marketing_companies = ["megacom"]

[[subscriber]]
name = "boxes"
format = "ber"
services = ["FAXBOX", "MSGBOX"]

[[subscriber]]
name = "publicom-ops"
format = "csv"
sdr_types = ["qualityAssurance", "serviceManagement"]
marketing_companies = ["publicom"]
items = ["sdr_identifier", "service"]
"#,
        )
        .unwrap();
        let start =
            Timestamp(chrono::DateTime::parse_from_rfc3339("2026-11-21T00:00:00+01:00").unwrap());
        let sdrs: Vec<ServiceDetailRecord> = Generator::new(11, start).take(3000).collect();
        let header = |s: &ServiceDetailRecord| s.service_header.clone();
        let codes = |s: &ServiceDetailRecord| -> Vec<String> {
            s.service_usage_modules
                .iter()
                .map(|u| u.service_feature_code.to_string())
                .collect()
        };
        let want: [&dyn Fn(&ServiceDetailRecord) -> bool; 3] = [
            &|s| {
                header(s).sdr_type == SdrType::Billing
                    && header(s).marketing_company.as_deref() == Some("megacom")
                    && codes(s).iter().any(|c| c == "VPN" || c == "VCC")
            },
            &|s| codes(s).iter().any(|c| c == "FAXBOX" || c == "MSGBOX"),
            &|s| {
                matches!(
                    header(s).sdr_type,
                    SdrType::QualityAssurance | SdrType::ServiceManagement
                ) && header(s).marketing_company.as_deref() == Some("publicom")
            },
        ];
        let dir = tempfile::tempdir().unwrap();
        let mut outputs = Outputs::open(&routing, dir.path()).unwrap();
        let mut expected: [Vec<u32>; 3] = Default::default();
        let mut discarded = 0;
        for sdr in &sdrs {
            let bytes = rasn::ber::encode(sdr).unwrap();
            let n = outputs.route(sdr, &bytes).unwrap();
            let mut taken = 0;
            for (i, w) in want.iter().enumerate() {
                if w(sdr) {
                    expected[i].push(sdr.service_header.sdr_identifier);
                    taken += 1;
                }
            }
            assert_eq!(n, taken);
            if taken == 0 {
                discarded += 1;
            }
        }
        let counts = outputs.finish().unwrap();
        // The filters select something, and not everything.
        for e in &expected {
            assert!(!e.is_empty());
        }
        assert!(discarded > 100, "{discarded}");
        assert_eq!(counts.discarded, discarded);
        assert_eq!(
            counts.by_subscriber["vpn-vcc-megacom"],
            expected[0].len() as u64
        );
        assert_eq!(counts.by_subscriber["boxes"], expected[1].len() as u64);
        assert_eq!(
            counts.by_subscriber["publicom-ops"],
            expected[2].len() as u64
        );
        assert_eq!(ids(&dir.path().join("vpn-vcc-megacom.sdr")), expected[0]);
        assert_eq!(ids(&dir.path().join("boxes.sdr")), expected[1]);
        // Generated records have one usage module: one row each.
        let mut rows = csv::Reader::from_path(dir.path().join("publicom-ops.csv")).unwrap();
        let got: Vec<u32> = rows
            .records()
            .map(|r| r.unwrap()[0].parse().unwrap())
            .collect();
        assert_eq!(got, expected[2]);
    }

    fn is_config(err: &anyhow::Error) -> bool {
        matches!(
            err.downcast_ref::<crate::error::Failure>(),
            Some(crate::error::Failure::Config(_))
        )
    }

    fn config_err(text: &str) -> String {
        let err = Routing::from_str(Path::new("r.toml"), text).unwrap_err();
        assert!(is_config(&err), "{err}");
        err.to_string()
    }

    #[test]
    fn every_config_error_names_file_line_and_column() {
        let sub = "[[subscriber]]\nname = \"a\"\n";
        let cases: &[(String, &str)] = &[
            (
                format!("{sub}format = \"ber\"\ncolour = \"red\"\n"),
                "r.toml: line 4, column 1: unknown field `colour`, expected one of `name`, `format`, `services`, `sdr_types`, `marketing_companies`, `items`",
            ),
            (
                "subscribers = []\n".into(),
                "r.toml: line 1, column 1: unknown field `subscribers`, expected `subscriber`",
            ),
            (
                sub.into(),
                "r.toml: line 1, column 1: missing field `format`",
            ),
            (
                format!("{sub}format = \"json\"\n"),
                "r.toml: line 3, column 10: unknown variant `json`, expected `ber` or `csv`",
            ),
            (
                "[[subscriber]]\nname = \"a b\"\nformat = \"ber\"\n".into(),
                "r.toml: line 2, column 8: subscriber name `a b` must be 1 to 100 letters, digits, `_` or `-`: it is a file name",
            ),
            (
                "[[subscriber]]\nname = \"../x\"\nformat = \"ber\"\n".into(),
                "r.toml: line 2, column 8: subscriber name `../x` must be",
            ),
            (
                "[[subscriber]]\nname = \"\"\nformat = \"ber\"\n".into(),
                "r.toml: line 2, column 8: subscriber name `` must be",
            ),
            (
                format!(
                    "{sub}format = \"ber\"\n\n[[subscriber]]\nname = \"A\"\nformat = \"csv\"\nitems = [\"customer\"]\n"
                ),
                "r.toml: line 6, column 8: subscriber name `A` is already used at line 2, column 8 (names are file names, compared ignoring case)",
            ),
            (
                format!("{sub}format = \"csv\"\n"),
                "r.toml: line 3, column 10: subscriber `a`: a csv subscriber needs `items`, the columns it takes",
            ),
            (
                format!("{sub}format = \"ber\"\nitems = [\"customer\"]\n"),
                "r.toml: line 4, column 9: subscriber `a`: `items` is for csv subscribers; a ber subscriber gets whole SDRs",
            ),
            (
                format!("{sub}format = \"csv\"\nitems = [\"customer\", \"price\"]\n"),
                "r.toml: line 4, column 22: unknown item `price`, expected one of: sdr_identifier, sdr_type, producer,",
            ),
            (
                format!("{sub}format = \"csv\"\nitems = [\"customer\", \"customer\"]\n"),
                "r.toml: line 4, column 22: item `customer` is listed twice",
            ),
            (
                format!("{sub}format = \"csv\"\nitems = []\n"),
                "r.toml: line 4, column 9: `items` is empty and would match nothing",
            ),
            (
                format!("{sub}format = \"ber\"\nsdr_types = [\"billing\", \"Billing\"]\n"),
                "r.toml: line 4, column 25: unknown SDR type `Billing`, expected one of: billing, qualityAssurance, serviceManagement, statistics, accountingInternal, accountingOtherOperator",
            ),
            (
                format!("{sub}format = \"ber\"\nservices = []\n"),
                "r.toml: line 4, column 12: `services` is empty and would match nothing; leave it out to take all",
            ),
            (
                format!("{sub}format = \"ber\"\nmarketing_companies = \"megacom\"\n"),
                "r.toml: line 4, column 23: invalid type: string \"megacom\", expected a sequence",
            ),
            (
                "[[subscriber]\n".into(),
                "r.toml: line 1, column 14: unclosed array table, expected `]`",
            ),
            (
                "# nobody\n".into(),
                "r.toml: the routing file lists no [[subscriber]]; every SDR would be discarded",
            ),
        ];
        for (text, expected) in cases {
            let got = config_err(text);
            assert!(
                got.starts_with(expected),
                "{text}\ngot:  {got}\nwant: {expected}"
            );
        }
    }

    #[test]
    fn load_reads_the_file_and_reports_it_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("routing.toml");
        fs::write(&path, ROUTING).unwrap();
        let routing = Routing::load(&path).unwrap();
        assert_eq!(routing.subscribers().len(), 4);
        assert_eq!(routing.path(), path);
        assert_eq!(routing.subscribers()[1].file_name(), "vpn-prices.csv");
        assert_eq!(routing.subscribers()[0].items(), []);
        fs::write(
            &path,
            "[[subscriber]]\nname = \"x\"\nformat = \"ber\"\nsdr_types = [\"bill\"]\n",
        )
        .unwrap();
        let err = Routing::load(&path).unwrap_err();
        assert!(is_config(&err), "{err}");
        assert!(
            err.to_string().starts_with(&format!(
                "{}: line 4, column 14: unknown SDR type `bill`",
                path.display()
            )),
            "{err}"
        );
        // A file that cannot be read is an I/O error, as for price lists.
        let err = Routing::load(&dir.path().join("missing.toml")).unwrap_err();
        assert!(
            err.downcast_ref::<crate::error::Failure>().is_none(),
            "{err}"
        );
    }

    #[test]
    fn docs_list_every_item() {
        let docs = include_str!("../../docs/subscribers.md");
        for item in Item::ALL {
            assert!(
                docs.contains(&format!("| `{}` |", item.name())),
                "docs/subscribers.md does not describe `{}`",
                item.name()
            );
        }
    }
}
