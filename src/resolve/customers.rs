//! The customer registry: who belongs to which marketing company and
//! group, and when.
//!
//! # Effective dating
//!
//! A row of `customers.csv` may carry `valid_from` and `valid_to` (RFC 3339
//! instants, or dates `YYYY-MM-DD` meaning 00:00 UTC; `valid_to` exclusive;
//! empty or absent = open). A customer may have several rows when their
//! periods do not overlap: a customer who moves group on the 15th has one
//! row until the 15th and one from it. Resolution asks for the row valid at
//! the time of use, the same instant that chooses the price lists, so a
//! usage is priced (and re-rated, and explained) with the group of the day
//! it happened, whenever it is rated. Overlapping rows would make that
//! choice ambiguous, so they are a configuration error naming both lines,
//! like a customer listed twice (two rows without dates overlap forever).
//! A usage at a time no row covers is the fault of an unknown customer
//! (`unableToLocateServiceUser`), its cause saying the customer exists with
//! other validity. Old files (`customer_id,marketing_company,group`) load
//! unchanged: every row is valid always.
//!
//! Periods are whole seconds (i64, Unix time): the registry changes at
//! most daily, and an instant with a fraction of a second is refused
//! rather than rounded, as rounding would move a boundary silently.
//!
//! # The compact form
//!
//! A registry of 3 M customers took 840 MB to load as a map of id to three
//! `String`s (about 100 bytes of allocations per customer, plus the map's
//! slack). Here a registry is four flat arrays and a table, with no
//! allocation per customer:
//!
//! - every customer id once, back to back in one string (`ids`), customer
//!   `n` ending at `ends[n]`: 9 bytes for `C00000001`, plus 4;
//! - a table of customer numbers (`index`, 4 bytes a slot plus a control
//!   byte) that hashes the id in place: no key is stored twice;
//! - rows sorted by customer and `valid_from` (`rows`, 32 bytes: customer
//!   number, line, company, group, from, to), customer `n`'s rows being
//!   `first[n]..first[n + 1]` (4 bytes);
//! - marketing companies and groups interned as `u32` (a registry has a
//!   handful of companies and at most thousands of groups).
//!
//! That is about 56 bytes a customer with one row and an id of 8
//! characters: 3 M customers hold about 168 MB, and loading them peaks
//! about 24 MB higher while the id string is trimmed to its length. A run
//! with them peaks at 205 MiB (840 MB before) and loads them in 2 to 3
//! seconds on a shared 2-core host (benches/customers.sh, BENCHMARKS.md).
//! The rows keep their line so that an error, a fault's cause or `explain`
//! can name it; the arrays are sized from a count of the file's lines
//! before reading, so none is reallocated (a doubling `Vec` of 3 M rows
//! would briefly hold 200 MB).

use std::fmt;
use std::hash::BuildHasher;
use std::io::Read;
use std::path::Path;

use anyhow::Result;
use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat};
use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashMap as HashMap};
use serde::Deserialize;

use crate::error::Failure;

/// One customer, valid always: what a program (a test, a fuzz target)
/// puts in a registry it builds with [`Customers::insert`].
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Customer {
    pub customer_id: String,
    pub marketing_company: String,
    /// Customer group within the marketing company, if any.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub group: Option<String>,
}

fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(s.filter(|s| !s.trim().is_empty()))
}

/// When a row is valid: `from` inclusive, `to` exclusive, in seconds since
/// the Unix epoch; `i64::MIN` and `i64::MAX` are open ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: i64,
    pub to: i64,
}

impl Period {
    pub const ALWAYS: Period = Period {
        from: i64::MIN,
        to: i64::MAX,
    };

    pub fn contains(&self, t: &DateTime<FixedOffset>) -> bool {
        // Flooring to the second is exact here: the bounds are whole
        // seconds, so `from <= t < to` holds for t exactly when it holds
        // for t's second.
        let s = t.timestamp();
        self.from <= s && s < self.to
    }

    pub fn is_always(&self) -> bool {
        *self == Self::ALWAYS
    }

    fn overlaps(&self, other: &Period) -> bool {
        self.from < other.to && other.from < self.to
    }
}

fn instant(s: i64) -> String {
    DateTime::from_timestamp(s, 0).map_or_else(
        || s.to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.from, self.to) {
            (i64::MIN, i64::MAX) => f.write_str("always"),
            (from, i64::MAX) => write!(f, "from {}", instant(from)),
            (i64::MIN, to) => write!(f, "until {}", instant(to)),
            (from, to) => write!(f, "from {} until {}", instant(from), instant(to)),
        }
    }
}

/// One row of the registry, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerRow<'a> {
    pub customer_id: &'a str,
    pub marketing_company: &'a str,
    /// Customer group within the marketing company, if any.
    pub group: Option<&'a str>,
    pub valid: Period,
    /// The row's line in the registry file; 0 for a row a program inserted.
    pub line: u32,
}

/// Row as stored: 32 bytes (see the module documentation).
#[derive(Debug, Clone, Copy)]
struct Row {
    customer: u32,
    line: u32,
    company: u32,
    /// [`NO_GROUP`] when the customer is in no group.
    group: u32,
    valid: Period,
}

const NO_GROUP: u32 = u32::MAX;

#[derive(Debug, Default)]
pub struct Customers {
    /// Every customer id, back to back.
    ids: String,
    /// Where customer `n`'s id ends in `ids` (it starts where `n - 1`'s ends).
    ends: Vec<u32>,
    /// Customer `n`'s rows are `rows[first[n]..first[n + 1]]`.
    first: Vec<u32>,
    /// Sorted by customer number, then `valid_from`.
    rows: Vec<Row>,
    /// Customer numbers, hashed by their id.
    index: HashTable<u32>,
    /// Marketing companies and groups, interned.
    names: Vec<Box<str>>,
    name_of: HashMap<Box<str>, u32>,
}

fn hash(id: &str) -> u64 {
    FxBuildHasher.hash_one(id)
}

fn id_of<'a>(ids: &'a str, ends: &[u32], n: u32) -> &'a str {
    let n = n as usize;
    let start = if n == 0 { 0 } else { ends[n - 1] as usize };
    &ids[start..ends[n] as usize]
}

/// Lines of `path`, counted before it is parsed so that the registry's
/// arrays are allocated once: an upper bound on its rows.
fn count_lines(path: &Path) -> std::io::Result<usize> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    let mut lines = 1;
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Ok(lines),
            Ok(n) => lines += memchr::memchr_iter(b'\n', &buf[..n]).count(),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

const DATE_FORMAT: &str =
    "expected an RFC 3339 instant (2026-03-15T00:00:00Z) or a date YYYY-MM-DD (00:00 UTC)";

/// A `valid_from` or `valid_to` cell: None when empty (an open end).
fn parse_bound(cell: &str, column: &str) -> Result<Option<i64>, String> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(None);
    }
    if let Ok(d) = NaiveDate::parse_from_str(cell, "%Y-%m-%d") {
        return Ok(Some(
            d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp(),
        ));
    }
    match DateTime::parse_from_rfc3339(cell) {
        Ok(t) if t.timestamp_subsec_nanos() == 0 => Ok(Some(t.timestamp())),
        Ok(_) => Err(format!(
            "{column} `{cell}` has a fraction of a second: {column} is whole seconds"
        )),
        Err(_) => Err(format!("{column} `{cell}` is not a time: {DATE_FORMAT}")),
    }
}

impl Customers {
    /// Loads `customers.csv` (header: customer_id,marketing_company,group,
    /// optionally valid_from,valid_to; columns in any order, others
    /// ignored). Any bad row stops the run: rating against a half-read
    /// registry would fault customers who exist.
    pub fn load(path: &Path) -> Result<Self> {
        // Missing or unreadable, the registry is configuration like a bad
        // row (exit 3), not an input of the run.
        let cannot_open = |e: &dyn fmt::Display| {
            Failure::Config(format!(
                "cannot open customer registry {}: {e}",
                path.display()
            ))
        };
        let lines = count_lines(path).map_err(|e| cannot_open(&e))?;
        let mut rdr = csv::Reader::from_path(path).map_err(|e| cannot_open(&e))?;
        let at_line = |line: u64, msg: &dyn fmt::Display| {
            Failure::Config(format!("{}: line {line}: {msg}", path.display()))
        };
        let headers = rdr.byte_headers().map_err(|e| at_line(1, &e))?.clone();
        let column = |name: &str| headers.iter().position(|h| h == name.as_bytes());
        let (id_col, company_col) = (column("customer_id"), column("marketing_company"));
        let (group_col, from_col, to_col) =
            (column("group"), column("valid_from"), column("valid_to"));

        let size = std::fs::metadata(path).map_or(0, |m| m.len() as usize);
        let mut c = Customers {
            // An upper bound: pages of it never written are never touched.
            ids: String::with_capacity(size),
            ends: Vec::with_capacity(lines),
            first: Vec::new(),
            rows: Vec::with_capacity(lines),
            index: HashTable::with_capacity(lines),
            ..Customers::default()
        };
        let mut rec = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    return Err(at_line(line, &e).into());
                }
            }
            let line = rec.position().map_or(0, |p| p.line());
            let at = |msg: &dyn fmt::Display| at_line(line, msg);
            let (Some(id_col), Some(company_col)) = (id_col, company_col) else {
                let missing = if id_col.is_none() {
                    "customer_id"
                } else {
                    "marketing_company"
                };
                // A spreadsheet saved in a locale whose list separator is
                // `;` gives one column named `customer_id;marketing_company...`.
                let semicolons =
                    headers.len() == 1 && headers.get(0).is_some_and(|h| h.contains(&b';'));
                let hint = if semicolons {
                    "; its columns are separated by `;`: the registry is comma-separated CSV \
                     (save it with `,` as the separator)"
                } else {
                    ""
                };
                return Err(at_line(
                    1,
                    &format!(
                        "no {missing} column (the header is customer_id,marketing_company,group, \
                         optionally with valid_from,valid_to){hint}"
                    ),
                )
                .into());
            };
            let cell = |col: Option<usize>, name: &str| -> Result<&str, Failure> {
                let bytes = col.and_then(|i| rec.get(i)).unwrap_or_default();
                std::str::from_utf8(bytes).map_err(|e| at(&format!("{name} is not UTF-8: {e}")))
            };
            let id = cell(Some(id_col), "customer_id")?;
            let company = cell(Some(company_col), "marketing_company")?;
            let group = cell(group_col, "group")?;
            // A blank id or company could never match an SDR, so the
            // customer's usage would fault as unknown while the registry
            // seems to hold it.
            if id.trim().is_empty() {
                return Err(at(&"empty customer_id").into());
            }
            if company.trim().is_empty() {
                return Err(at(&format!("customer {id} has an empty marketing_company")).into());
            }
            let from =
                parse_bound(cell(from_col, "valid_from")?, "valid_from").map_err(|e| at(&e))?;
            let to = parse_bound(cell(to_col, "valid_to")?, "valid_to").map_err(|e| at(&e))?;
            let valid = Period {
                from: from.unwrap_or(i64::MIN),
                to: to.unwrap_or(i64::MAX),
            };
            if valid.from >= valid.to {
                return Err(at(&format!(
                    "customer {id}: valid_to must be after valid_from ({} is not after {})",
                    instant(valid.to),
                    instant(valid.from)
                ))
                .into());
            }
            let customer = c.number_or_new(id).map_err(|e| at(&e))?;
            let company = c.intern(company);
            let group = if group.trim().is_empty() {
                NO_GROUP
            } else {
                c.intern(group)
            };
            c.rows.push(Row {
                customer,
                line: u32::try_from(line).unwrap_or(u32::MAX),
                company,
                group,
                valid,
            });
        }
        if c.rows.is_empty() {
            return Err(at_line(
                1,
                &"the customer registry lists no customers (a header \
                  customer_id,marketing_company,group and one row per customer)",
            )
            .into());
        }
        // Rows of one customer written together and in order (nearly
        // every file) are sorted already: the sort only checks that.
        c.rows
            .sort_unstable_by_key(|r| (r.customer, r.valid.from, r.line));
        c.index_rows();
        if let Some((earlier, later)) = c.first_overlap() {
            let id = id_of(&c.ids, &c.ends, later.customer);
            let msg = if earlier.valid.is_always() && later.valid.is_always() {
                format!(
                    "customer {id} is listed twice: first at line {}",
                    earlier.line
                )
            } else {
                format!(
                    "customer {id} valid {} overlaps its row at line {} (valid {}): \
                     a customer's rows may not overlap in time",
                    later.valid, earlier.line, earlier.valid
                )
            };
            return Err(at_line(later.line.into(), &msg).into());
        }
        c.ids.shrink_to_fit();
        c.ends.shrink_to_fit();
        c.index.shrink_to_fit(|&n| hash(id_of(&c.ids, &c.ends, n)));
        Ok(c)
    }

    /// The number of customer `id`, a new one if it is not known yet.
    fn number_or_new(&mut self, id: &str) -> Result<u32, String> {
        let h = hash(id);
        let (ids, ends) = (&self.ids, &self.ends);
        if let Some(&n) = self.index.find(h, |&n| id_of(ids, ends, n) == id) {
            return Ok(n);
        }
        let n = u32::try_from(self.ends.len()).map_err(|_| "more than 4 G customers")?;
        self.ids.push_str(id);
        let end = u32::try_from(self.ids.len()).map_err(|_| "customer ids over 4 GB in all")?;
        self.ends.push(end);
        let (ids, ends) = (&self.ids, &self.ends);
        self.index
            .insert_unique(h, n, |&n| hash(id_of(ids, ends, n)));
        Ok(n)
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&n) = self.name_of.get(name) {
            return n;
        }
        let n = self.names.len() as u32;
        self.names.push(name.into());
        self.name_of.insert(name.into(), n);
        n
    }

    /// `first` from the sorted rows.
    fn index_rows(&mut self) {
        self.first.clear();
        self.first.reserve_exact(self.ends.len() + 1);
        let mut r = 0;
        for n in 0..self.ends.len() as u32 {
            self.first.push(r as u32);
            while r < self.rows.len() && self.rows[r].customer == n {
                r += 1;
            }
        }
        self.first.push(r as u32);
    }

    /// Of the overlapping neighbours (rows sorted by start overlap only if
    /// neighbours do), the pair whose later line comes first in the file:
    /// (the other row, that row).
    fn first_overlap(&self) -> Option<(Row, Row)> {
        self.rows
            .windows(2)
            .filter(|w| w[0].customer == w[1].customer && w[0].valid.overlaps(&w[1].valid))
            .map(|w| {
                if w[0].line < w[1].line {
                    (w[0], w[1])
                } else {
                    (w[1], w[0])
                }
            })
            .min_by_key(|(_, later)| later.line)
    }

    fn number(&self, id: &str) -> Option<u32> {
        self.index
            .find(hash(id), |&n| id_of(&self.ids, &self.ends, n) == id)
            .copied()
    }

    fn row(&self, r: &Row) -> CustomerRow<'_> {
        CustomerRow {
            customer_id: id_of(&self.ids, &self.ends, r.customer),
            marketing_company: &self.names[r.company as usize],
            group: (r.group != NO_GROUP).then(|| &*self.names[r.group as usize]),
            valid: r.valid,
            line: r.line,
        }
    }

    fn rows_of_number(&self, n: u32) -> &[Row] {
        let n = n as usize;
        &self.rows[self.first[n] as usize..self.first[n + 1] as usize]
    }

    /// Customer `id`'s row valid at `t`: the one that decides its marketing
    /// company and group for a usage at `t`.
    pub fn at(&self, id: &str, t: &DateTime<FixedOffset>) -> Option<CustomerRow<'_>> {
        let n = self.number(id)?;
        self.rows_of_number(n)
            .iter()
            .find(|r| r.valid.contains(t))
            .map(|r| self.row(r))
    }

    /// Why [`Customers::at`] found nothing for `id` at `t`: the cause of
    /// the fault, which says whether the customer exists at another time.
    pub fn absence(&self, id: &str, t: &DateTime<FixedOffset>) -> String {
        match self.validity_of(id) {
            None => format!("customer `{id}` is not in the customer registry"),
            Some(valid) => format!(
                "customer `{id}` is in the customer registry with other validity: \
                 no row of it is valid at {t} ({valid})"
            ),
        }
    }

    /// The periods of `id`'s rows, for a message ("valid from A until B,
    /// line 3"); None for an unknown customer.
    pub fn validity_of(&self, id: &str) -> Option<String> {
        let n = self.number(id)?;
        let rows = self.rows_of_number(n);
        let one = |r: &Row| match r.line {
            0 => format!("valid {}", r.valid),
            line => format!("valid {}, line {line}", r.valid),
        };
        Some(rows.iter().map(one).collect::<Vec<_>>().join("; "))
    }

    /// Whether `id` has a row, at any time.
    pub fn contains(&self, id: &str) -> bool {
        self.number(id).is_some()
    }

    /// Every row of customer `id`, earliest first.
    pub fn rows_of(&self, id: &str) -> impl Iterator<Item = CustomerRow<'_>> {
        let rows = self.number(id).map_or(&[][..], |n| self.rows_of_number(n));
        rows.iter().map(|r| self.row(r))
    }

    /// Customers (not rows).
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Rows: more than [`Customers::len`] when a customer has several.
    pub fn row_count(&self) -> usize {
        self.rows.len()
    }

    /// Rows with a `valid_from` or `valid_to`.
    pub fn dated_rows(&self) -> usize {
        self.rows.iter().filter(|r| !r.valid.is_always()).count()
    }

    /// Every row, a customer's rows together and earliest first.
    pub fn iter(&self) -> impl Iterator<Item = CustomerRow<'_>> {
        self.rows.iter().map(|r| self.row(r))
    }

    /// Gaps between a customer's rows: (customer, gap, line before, line
    /// after). Usage in a gap faults; a customer who left and came back
    /// has one on purpose, a `valid_to` a day short by mistake.
    pub fn gaps(&self) -> impl Iterator<Item = (&str, Period, u32, u32)> {
        self.rows
            .windows(2)
            .filter(|w| w[0].customer == w[1].customer && w[0].valid.to < w[1].valid.from)
            .map(|w| {
                (
                    id_of(&self.ids, &self.ends, w[0].customer),
                    Period {
                        from: w[0].valid.to,
                        to: w[1].valid.from,
                    },
                    w[0].line,
                    w[1].line,
                )
            })
    }

    /// Puts `c` in the registry, valid always, replacing any rows it had.
    pub fn insert(&mut self, c: Customer) {
        if self.first.is_empty() {
            self.first.push(0);
        }
        let company = self.intern(&c.marketing_company);
        let group = c.group.as_deref().map_or(NO_GROUP, |g| self.intern(g));
        let known = self.number(&c.customer_id);
        let customer = self
            .number_or_new(&c.customer_id)
            .expect("fewer than 4 G customers");
        let row = Row {
            customer,
            line: 0,
            company,
            group,
            valid: Period::ALWAYS,
        };
        match known {
            // A program's registry is small: re-indexing is cheap.
            Some(n) => {
                let n = n as usize;
                let range = self.first[n] as usize..self.first[n + 1] as usize;
                self.rows.splice(range, [row]);
                self.index_rows();
            }
            None => {
                self.rows.push(row);
                self.first.push(self.rows.len() as u32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(text: &str) -> Result<Customers> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("customers.csv");
        std::fs::write(&path, text).unwrap();
        Customers::load(&path)
    }

    fn error(text: &str) -> String {
        registry(text).unwrap_err().to_string()
    }

    #[test]
    fn a_semicolon_separated_registry_says_so() {
        let e = error("customer_id;marketing_company;group\nC1;acme;gold\n");
        assert!(e.contains("line 1: no customer_id column"), "{e}");
        assert!(e.contains("its columns are separated by `;`"), "{e}");
        // A comma-separated file missing the column gets no such hint.
        let e = error("id,marketing_company\nC1,acme\n");
        assert!(!e.contains("`;`"), "{e}");
    }

    fn t(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    /// (company, group) of `id` at `at`.
    fn who(c: &Customers, id: &str, at: &str) -> Option<(String, Option<String>)> {
        c.at(id, &t(at))
            .map(|r| (r.marketing_company.to_owned(), r.group.map(str::to_owned)))
    }

    fn some(company: &str, group: Option<&str>) -> Option<(String, Option<String>)> {
        Some((company.to_owned(), group.map(str::to_owned)))
    }

    #[test]
    fn a_customer_listed_twice_names_both_lines() {
        let e = error("marketing_company,customer_id,group\nacme,C1,\nacme,C2,gold\nbeta,C1,\n");
        assert!(
            e.ends_with("customers.csv: line 4: customer C1 is listed twice: first at line 2"),
            "{e}"
        );
    }

    #[test]
    fn an_old_three_column_file_is_valid_always() {
        let c = registry("customer_id,marketing_company,group\nC1,acme,gold\nC2,acme,\n").unwrap();
        assert_eq!((c.len(), c.row_count(), c.dated_rows()), (2, 2, 0));
        for at in [
            "1970-01-01T00:00:00Z",
            "2026-03-15T12:00:00+01:00",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(who(&c, "C1", at), some("acme", Some("gold")), "{at}");
            assert_eq!(who(&c, "C2", at), some("acme", None), "{at}");
        }
        assert_eq!(who(&c, "C3", "2026-03-15T00:00:00Z"), None);
        assert_eq!(
            c.absence("C3", &t("2026-03-15T00:00:00Z")),
            "customer `C3` is not in the customer registry"
        );
        // Without a group column every customer is in no group.
        let c = registry("customer_id,marketing_company\nC1,acme\n").unwrap();
        assert_eq!(who(&c, "C1", "2026-03-15T00:00:00Z"), some("acme", None));
    }

    #[test]
    fn a_move_mid_month_changes_the_group_on_the_day_of_the_move() {
        // Rows out of order and not together: the file's order is free.
        let c = registry(
            "customer_id,marketing_company,group,valid_from,valid_to\n\
             C1,acme,silver,2026-03-15,\n\
             C2,acme,gold,,\n\
             C1,acme,gold,2026-01-01,2026-03-15\n",
        )
        .unwrap();
        assert_eq!((c.len(), c.row_count(), c.dated_rows()), (2, 3, 2));
        assert_eq!(
            who(&c, "C1", "2026-03-01T10:00:00Z"),
            some("acme", Some("gold"))
        );
        // valid_to is exclusive: the last second of the 14th is gold, the
        // first of the 15th silver.
        assert_eq!(
            who(&c, "C1", "2026-03-14T23:59:59Z"),
            some("acme", Some("gold"))
        );
        assert_eq!(
            who(&c, "C1", "2026-03-14T23:59:59.999+00:00"),
            some("acme", Some("gold"))
        );
        assert_eq!(
            who(&c, "C1", "2026-03-15T00:00:00Z"),
            some("acme", Some("silver"))
        );
        // A date is 00:00 UTC, whatever the offset the usage is written in.
        assert_eq!(
            who(&c, "C1", "2026-03-15T00:30:00+01:00"),
            some("acme", Some("gold"))
        );
        assert_eq!(
            who(&c, "C1", "2030-01-01T00:00:00Z"),
            some("acme", Some("silver"))
        );
        // Before its first row the customer exists, with other validity.
        assert_eq!(who(&c, "C1", "2025-12-31T23:59:59Z"), None);
        assert_eq!(
            c.absence("C1", &t("2025-12-31T23:59:59Z")),
            "customer `C1` is in the customer registry with other validity: no row of it is \
             valid at 2025-12-31 23:59:59 +00:00 (valid from 2026-01-01T00:00:00Z until \
             2026-03-15T00:00:00Z, line 4; valid from 2026-03-15T00:00:00Z, line 2)"
        );
        let rows: Vec<_> = c.rows_of("C1").map(|r| (r.line, r.group)).collect();
        assert_eq!(rows, [(4, Some("gold")), (2, Some("silver"))]);
        assert_eq!(c.gaps().count(), 0);
    }

    #[test]
    fn instants_keep_their_offset_and_gaps_are_listed() {
        let c = registry(
            "customer_id,marketing_company,group,valid_from,valid_to\n\
             C1,acme,,,2026-03-15T00:00:00+01:00\n\
             C1,beta,,2026-04-01T00:00:00Z,\n",
        )
        .unwrap();
        assert_eq!(who(&c, "C1", "2026-03-14T22:59:59Z"), some("acme", None));
        assert_eq!(who(&c, "C1", "2026-03-14T23:00:00Z"), None);
        assert_eq!(who(&c, "C1", "2026-04-01T00:00:00Z"), some("beta", None));
        let gaps: Vec<_> = c
            .gaps()
            .map(|(id, p, a, b)| (id, p.to_string(), a, b))
            .collect();
        assert_eq!(
            gaps,
            [(
                "C1",
                "from 2026-03-14T23:00:00Z until 2026-04-01T00:00:00Z".to_owned(),
                2,
                3
            )]
        );
    }

    #[test]
    fn overlapping_rows_name_both_lines() {
        let e = error(
            "customer_id,marketing_company,group,valid_from,valid_to\n\
             C1,acme,gold,2026-01-01,2026-03-16\n\
             C2,acme,,,\n\
             C1,acme,silver,2026-03-15,\n",
        );
        assert!(
            e.ends_with(
                "customers.csv: line 4: customer C1 valid from 2026-03-15T00:00:00Z overlaps its \
                 row at line 2 (valid from 2026-01-01T00:00:00Z until 2026-03-16T00:00:00Z): \
                 a customer's rows may not overlap in time"
            ),
            "{e}"
        );
        // An open row overlaps every other row of its customer; the later
        // line is named first whatever the order of the periods.
        let e = error(
            "customer_id,marketing_company,group,valid_from,valid_to\n\
             C1,acme,silver,2026-03-15,\n\
             C1,acme,gold,,\n",
        );
        assert!(
            e.ends_with("line 3: customer C1 valid always overlaps its row at line 2 (valid from 2026-03-15T00:00:00Z): a customer's rows may not overlap in time"),
            "{e}"
        );
        // Touching periods (valid_to = the next valid_from) do not overlap.
        registry(
            "customer_id,marketing_company,group,valid_from,valid_to\n\
             C1,acme,gold,,2026-03-15\nC1,acme,silver,2026-03-15,\n",
        )
        .unwrap();
    }

    #[test]
    fn a_bad_date_names_file_line_and_format() {
        let head = "customer_id,marketing_company,group,valid_from,valid_to\nC0,acme,,,\n";
        for (row, want) in [
            (
                "C1,acme,,2026-13-01,",
                "customers.csv: line 3: valid_from `2026-13-01` is not a time: expected an RFC \
                 3339 instant (2026-03-15T00:00:00Z) or a date YYYY-MM-DD (00:00 UTC)",
            ),
            (
                "C1,acme,,,15.03.2026",
                "customers.csv: line 3: valid_to `15.03.2026` is not a time: expected an RFC \
                 3339 instant (2026-03-15T00:00:00Z) or a date YYYY-MM-DD (00:00 UTC)",
            ),
            (
                "C1,acme,,2026-03-15T00:00:00.5Z,",
                "customers.csv: line 3: valid_from `2026-03-15T00:00:00.5Z` has a fraction of a \
                 second: valid_from is whole seconds",
            ),
            (
                "C1,acme,,2026-03-15,2026-03-15",
                "customers.csv: line 3: customer C1: valid_to must be after valid_from \
                 (2026-03-15T00:00:00Z is not after 2026-03-15T00:00:00Z)",
            ),
        ] {
            let e = error(&format!("{head}{row}\n"));
            assert!(e.ends_with(want), "{row}: {e}");
        }
    }

    #[test]
    fn a_header_without_an_id_column_says_what_it_needs() {
        let e = error("id,marketing_company,group\nC1,acme,\n");
        assert!(
            e.ends_with("customers.csv: line 1: no customer_id column (the header is customer_id,marketing_company,group, optionally with valid_from,valid_to)"),
            "{e}"
        );
    }

    #[test]
    fn insert_adds_or_replaces_a_customer_valid_always() {
        let mut c = Customers::default();
        let cust = |id: &str, g: Option<&str>| Customer {
            customer_id: id.into(),
            marketing_company: "acme".into(),
            group: g.map(Into::into),
        };
        c.insert(cust("C1", None));
        c.insert(cust("C2", Some("gold")));
        c.insert(cust("C1", Some("silver")));
        assert_eq!((c.len(), c.row_count()), (2, 2));
        assert_eq!(
            who(&c, "C1", "2026-03-15T00:00:00Z"),
            some("acme", Some("silver"))
        );
        assert_eq!(
            who(&c, "C2", "2026-03-15T00:00:00Z"),
            some("acme", Some("gold"))
        );
        assert!(c.contains("C2") && !c.contains("C3"));
    }
}
