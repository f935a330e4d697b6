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
    #[rasn(tag(1))]
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

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.to_decimal() {
            Ok(d) => s.collect_str(&d),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let value: Decimal = text
            .parse()
            .map_err(|e| serde::de::Error::custom(format!("amount `{text}`: {e}")))?;
        Amount::from_decimal(value).map_err(serde::de::Error::custom)
    }
}
