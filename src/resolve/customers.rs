//! The customer registry: who belongs to which marketing company and group.

use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use crate::error::Failure;

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

#[derive(Debug, Default)]
pub struct Customers {
    by_id: HashMap<String, Customer>,
}

/// The line of the first row of `path` for customer `id`: read again
/// only when a second row turns up, so loading keeps no line numbers.
fn first_line_of(path: &Path, id: &str) -> Option<u64> {
    let mut rdr = csv::Reader::from_path(path).ok()?;
    let column = rdr
        .headers()
        .ok()?
        .iter()
        .position(|h| h == "customer_id")?;
    rdr.records()
        .flatten()
        .find(|r| r.get(column) == Some(id))
        .and_then(|r| r.position().map(|p| p.line()))
}

impl Customers {
    /// Loads `customers.csv` (header: customer_id,marketing_company,group).
    /// Any bad row stops the run: rating against a half-read registry would
    /// fault customers who exist.
    pub fn load(path: &Path) -> Result<Self> {
        // Missing or unreadable, the registry is configuration like a bad
        // row (exit 3), not an input of the run.
        let mut rdr = csv::Reader::from_path(path).map_err(|e| {
            Failure::Config(format!(
                "cannot open customer registry {}: {e}",
                path.display()
            ))
        })?;
        let mut by_id = HashMap::default();
        let headers = rdr
            .headers()
            .map_err(|e| Failure::Config(format!("{}: line 1: {e}", path.display())))?
            .clone();
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                Failure::Config(format!("{}: line {line}: {e}", path.display()))
            })?;
            let line = rec.position().map_or(0, |p| p.line());
            let at =
                |msg: String| Failure::Config(format!("{}: line {line}: {msg}", path.display()));
            let c: Customer = rec
                .deserialize(Some(&headers))
                .map_err(|e| at(e.to_string()))?;
            // A blank id or company could never match an SDR, so the
            // customer's usage would fault as unknown while the registry
            // seems to hold it.
            if c.customer_id.trim().is_empty() {
                return Err(at("empty customer_id".into()).into());
            }
            if c.marketing_company.trim().is_empty() {
                return Err(at(format!(
                    "customer {} has an empty marketing_company",
                    c.customer_id
                ))
                .into());
            }
            if let Some(prev) = by_id.insert(c.customer_id.clone(), c) {
                let first = first_line_of(path, &prev.customer_id)
                    .map_or_else(String::new, |l| format!(": first at line {l}"));
                return Err(at(format!(
                    "customer {} is listed twice{first}",
                    prev.customer_id
                ))
                .into());
            }
        }
        if by_id.is_empty() {
            return Err(Failure::Config(format!(
                "{}: line 1: the customer registry lists no customers (a header \
                 customer_id,marketing_company,group and one row per customer)",
                path.display()
            ))
            .into());
        }
        Ok(Customers { by_id })
    }

    pub fn get(&self, id: &str) -> Option<&Customer> {
        self.by_id.get(id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Every customer, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Customer> {
        self.by_id.values()
    }

    pub fn insert(&mut self, c: Customer) {
        self.by_id.insert(c.customer_id.clone(), c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_listed_twice_names_both_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("customers.csv");
        std::fs::write(
            &path,
            "marketing_company,customer_id,group\nacme,C1,\nacme,C2,gold\nbeta,C1,\n",
        )
        .unwrap();
        let e = Customers::load(&path).unwrap_err().to_string();
        assert!(
            e.ends_with("customers.csv: line 4: customer C1 is listed twice: first at line 2"),
            "{e}"
        );
    }
}
