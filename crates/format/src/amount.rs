//! Exact money on the wire: an integer with a declared number of decimals.

use rasn::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Unknowns;

/// `Amount ::= SEQUENCE { units INTEGER, decimalPlaces INTEGER (0..28), ... }`,
/// meaning `units * 10^-decimalPlaces`. JSON shows it as a decimal string.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct Amount {
    #[rasn(tag(0))]
    pub units: i64,
    // The range is checked on decode, so a record with 29 decimals is a
    // record fault, not a value JSON or pricing cannot hold.
    #[rasn(tag(1), value("0..=28"))]
    pub decimal_places: u8,
    pub unknown_items: Option<Unknowns>,
}

/// Why an amount cannot be represented.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AmountError {
    #[error("amount {0} does not fit the wire format (64-bit units, at most 28 decimals)")]
    OutOfRange(Decimal),
    #[error("amount has {0} decimal places, at most 28 are allowed")]
    TooManyDecimals(u8),
}

impl Amount {
    /// The exact value; fails only for a scale above 28, which BER allows
    /// but `Decimal` cannot hold.
    pub fn to_decimal(&self) -> Result<Decimal, AmountError> {
        Decimal::try_from_i128_with_scale(i128::from(self.units), u32::from(self.decimal_places))
            .map_err(|_| AmountError::TooManyDecimals(self.decimal_places))
    }

    pub fn from_decimal(d: Decimal) -> Result<Self, AmountError> {
        let units = i64::try_from(d.mantissa()).map_err(|_| AmountError::OutOfRange(d))?;
        Ok(Amount {
            units,
            // Decimal's scale is at most 28, so it fits a u8.
            decimal_places: d.scale() as u8,
            unknown_items: None,
        })
    }
}

/// JSON form with items a later version appended to the amount; plain
/// amounts are a bare decimal string.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AmountWithUnknowns {
    value: String,
    unknown_items: Unknowns,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum AmountJson {
    Plain(String),
    Extended(AmountWithUnknowns),
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let value = self.to_decimal().map_err(serde::ser::Error::custom)?;
        match &self.unknown_items {
            None => s.collect_str(&value),
            Some(unknown) => AmountWithUnknowns {
                value: value.to_string(),
                unknown_items: unknown.clone(),
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (text, unknown) = match AmountJson::deserialize(d)? {
            AmountJson::Plain(text) => (text, None),
            AmountJson::Extended(e) => (e.value, Some(e.unknown_items)),
        };
        let value: Decimal = text
            .parse()
            .map_err(|e| serde::de::Error::custom(format!("amount `{text}`: {e}")))?;
        let mut amount = Amount::from_decimal(value).map_err(serde::de::Error::custom)?;
        amount.unknown_items = unknown;
        Ok(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_unknown_items() {
        let a = Amount {
            units: -125,
            decimal_places: 2,
            unknown_items: Some(Unknowns(vec![vec![0x9f, 0x20, 0x01, 0x07]])),
        };
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(text, r#"{"value":"-1.25","unknownItems":["9f200107"]}"#);
        assert_eq!(serde_json::from_str::<Amount>(&text).unwrap(), a);
        let plain: Amount = serde_json::from_str(r#""0.10""#).unwrap();
        assert_eq!((plain.units, plain.decimal_places), (10, 2));
        assert_eq!(serde_json::to_string(&plain).unwrap(), r#""0.10""#);
    }
}
