//! The customer registry: who belongs to which marketing company and group.

use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::exit::Failure;

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

impl Customers {
    /// Loads `customers.csv` (header: customer_id,marketing_company,group).
    /// Any bad row stops the run: rating against a half-read registry would
    /// fault customers who exist.
    pub fn load(path: &Path) -> Result<Self> {
        let mut rdr = csv::Reader::from_path(path)
            .with_context(|| format!("cannot open customer registry {}", path.display()))?;
        let mut by_id = HashMap::default();
        for row in rdr.deserialize::<Customer>() {
            let c = row.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                Failure::Config(format!("{}: line {line}: {e}", path.display()))
            })?;
            if let Some(prev) = by_id.insert(c.customer_id.clone(), c) {
                return Err(Failure::Config(format!(
                    "{}: customer {} is listed twice",
                    path.display(),
                    prev.customer_id
                ))
                .into());
            }
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
