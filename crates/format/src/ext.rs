//! Forward compatibility: keeping what this version does not understand.
//!
//! rasn 0.30's BER decoder rejects unknown SEQUENCE extension items, unknown
//! CHOICE alternatives and unknown ENUMERATED values. The seed requires that
//! new data items can be appended to an SDR at any time, so every extensible
//! type here tolerates all three and keeps the unknown bytes:
//!
//! * each SEQUENCE ends with an untagged `Option<Unknowns>` field which
//!   swallows every TLV left after the known fields, byte for byte;
//! * each ENUMERATED is declared with [`asn_enum!`], which keeps an unknown
//!   value as `Unknown(n)`;
//! * the one CHOICE ([`super::ServiceSpecificPart`]) keeps an unknown
//!   alternative as its raw TLV.

use rasn::prelude::*;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One complete TLV, as it was on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawTlv(pub Vec<u8>);

impl AsnType for RawTlv {
    const TAG: Tag = Tag::EOC;
}

impl Decode for RawTlv {
    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        _tag: Tag,
        _constraints: &Constraints,
    ) -> Result<Self, D::Error> {
        // With Tag::EOC, decode_any returns the whole encoding, tag included.
        let bytes = decoder.decode_any(Tag::EOC)?.into_bytes();
        // Kept bytes are written again, maybe re-framed: they must be a
        // well-formed tree, or the copy would not mean what the original did.
        crate::tlv::check_tree(&bytes).map_err(|e| {
            rasn::error::DecodeError::parser_fail(
                format!(
                    "unknown item {}: {e}",
                    hex::encode(&bytes[..bytes.len().min(8)])
                ),
                decoder.codec(),
            )
        })?;
        Ok(RawTlv(bytes))
    }
}

/// Items after the last known field of an extensible SEQUENCE, each kept as
/// its complete original TLV encoding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Unknowns(pub Vec<Vec<u8>>);

impl AsnType for Unknowns {
    const TAG: Tag = Tag::EOC;
}

impl Decode for Unknowns {
    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        _tag: Tag,
        _constraints: &Constraints,
    ) -> Result<Self, D::Error> {
        // decode_optional with an EOC tag yields None exactly at the end of
        // the enclosing contents, definite or indefinite.
        let mut items = Vec::new();
        while let Some(RawTlv(bytes)) = decoder.decode_optional::<RawTlv>()? {
            items.push(bytes);
        }
        Ok(Unknowns(items))
    }
}

impl Encode for Unknowns {
    fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
        &self,
        encoder: &mut E,
        _tag: Tag,
        _constraints: &Constraints,
        _identifier: Identifier,
    ) -> Result<(), E::Error> {
        for item in &self.0 {
            // Untagged Any is written verbatim.
            encoder.encode_any(Tag::EOC, &Any::new(item.clone()), Identifier::EMPTY)?;
        }
        Ok(())
    }
}

impl Serialize for Unknowns {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(hex::encode))
    }
}

impl<'de> Deserialize<'de> for Unknowns {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Vec::<String>::deserialize(d)?;
        items
            .iter()
            .map(|h| hex::decode(h).map_err(serde::de::Error::custom))
            .collect::<Result<_, _>>()
            .map(Unknowns)
    }
}

/// Declares an extensible ENUMERATED: known values by name, any other value
/// kept as `Unknown(n)` so it survives a decode/encode round trip.
/// JSON shows the ASN.1 identifier, or the bare number when unknown.
macro_rules! asn_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $value:literal => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant,)+
            /// A value this version does not know, kept as it was.
            Unknown(i64),
        }

        /// The first known value: a placeholder for a value about to be
        /// read in place (`canonical`), not a meaningful default.
        impl Default for $name {
            fn default() -> Self {
                Self::KNOWN[0]
            }
        }

        impl $name {
            /// Every known value, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            pub fn value(self) -> i64 {
                match self {
                    $($name::$variant => $value,)+
                    $name::Unknown(n) => n,
                }
            }

            pub fn from_value(n: i64) -> Self {
                match n {
                    $($value => $name::$variant,)+
                    other => $name::Unknown(other),
                }
            }

            /// The ASN.1 identifier, or None for an unknown value.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $($name::$variant => Some($text),)+
                    $name::Unknown(_) => None,
                }
            }

            /// Its text as [`Display`](std::fmt::Display) writes it,
            /// without the formatting machinery for known values.
            pub fn text(self) -> $crate::Text {
                match self.name() {
                    Some(n) => $crate::Text::from(n),
                    None => $crate::Text::display(self.value()),
                }
            }

            pub fn from_name(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}", self.value()),
                }
            }
        }

        impl rasn::AsnType for $name {
            const TAG: rasn::types::Tag = rasn::types::Tag::ENUMERATED;
        }

        impl rasn::Decode for $name {
            fn decode_with_tag_and_constraints<D: rasn::Decoder>(
                decoder: &mut D,
                tag: rasn::types::Tag,
                constraints: &rasn::types::Constraints,
            ) -> Result<Self, D::Error> {
                // ENUMERATED and INTEGER share their content encoding.
                Ok(Self::from_value(decoder.decode_integer::<i64>(tag, constraints)?))
            }
        }

        impl rasn::Encode for $name {
            fn encode_with_tag_and_constraints<'b, E: rasn::Encoder<'b>>(
                &self,
                encoder: &mut E,
                tag: rasn::types::Tag,
                constraints: &rasn::types::Constraints,
                identifier: rasn::types::Identifier,
            ) -> Result<(), E::Error> {
                encoder.encode_integer::<i64>(tag, constraints, &self.value(), identifier)?;
                Ok(())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.name() {
                    Some(n) => s.serialize_str(n),
                    None => s.serialize_i64(self.value()),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                match $crate::ext::NameOrNumber::deserialize(d)? {
                    $crate::ext::NameOrNumber::Number(n) => Ok(Self::from_value(n)),
                    $crate::ext::NameOrNumber::Name(s) => Self::from_name(&s).ok_or_else(|| {
                        serde::de::Error::custom(format!(
                            concat!("unknown ", stringify!($name), " `{}`, expected one of: {}"),
                            s,
                            [$($text),+].join(", ")
                        ))
                    }),
                }
            }
        }
    };
}
pub(crate) use asn_enum;

/// JSON form of an ENUMERATED: its identifier, or a number.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum NameOrNumber {
    Number(i64),
    Name(String),
}
