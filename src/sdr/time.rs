//! GeneralizedTime that keeps its UTC offset.
//!
//! rasn writes every GeneralizedTime in UTC ("Z"); the seed's date and time
//! of origin carries the producer's UTC offset, so sdrate writes the offset
//! it read ("20261122143000+0100"). Reading accepts every legal BER form
//! (minutes or seconds omitted, fractions, Z, offsets; a local time without
//! zone is taken as UTC).

use std::fmt;
use std::ops::{Add, AddAssign, Deref, Sub};

use chrono::{DateTime, FixedOffset, TimeDelta};
use rasn::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub DateTime<FixedOffset>);

impl Timestamp {
    /// The BER text: seconds always, a fraction only when non-zero, and the
    /// offset (Z for UTC).
    pub fn ber_text(&self) -> String {
        let mut s = self.0.format("%Y%m%d%H%M%S%.f").to_string();
        if s.contains('.') {
            // Trailing zeros of a fraction are not allowed.
            while s.ends_with('0') {
                s.pop();
            }
        }
        if self.0.offset().local_minus_utc() == 0 {
            s.push('Z');
        } else {
            s.push_str(&self.0.format("%z").to_string());
        }
        s
    }
}

impl AsnType for Timestamp {
    const TAG: Tag = Tag::GENERALIZED_TIME;
}

impl Decode for Timestamp {
    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        tag: Tag,
        _constraints: &Constraints,
    ) -> Result<Self, D::Error> {
        decoder.decode_generalized_time(tag).map(Timestamp)
    }
}

impl Encode for Timestamp {
    fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
        &self,
        encoder: &mut E,
        tag: Tag,
        constraints: &Constraints,
        identifier: Identifier,
    ) -> Result<(), E::Error> {
        // A GeneralizedTime is a primitive string of its characters.
        encoder.encode_octet_string(tag, constraints, self.ber_text().as_bytes(), identifier)?;
        Ok(())
    }
}

impl Deref for Timestamp {
    type Target = DateTime<FixedOffset>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<DateTime<FixedOffset>> for Timestamp {
    fn from(t: DateTime<FixedOffset>) -> Self {
        Timestamp(t)
    }
}

impl Add<TimeDelta> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: TimeDelta) -> Timestamp {
        Timestamp(self.0 + d)
    }
}

impl AddAssign<TimeDelta> for Timestamp {
    fn add_assign(&mut self, d: TimeDelta) {
        self.0 += d;
    }
}

impl Sub for Timestamp {
    type Output = TimeDelta;
    fn sub(self, other: Timestamp) -> TimeDelta {
        self.0 - other.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp(DateTime::parse_from_rfc3339(s).unwrap())
    }

    #[test]
    fn text_keeps_offset_and_drops_zero_fraction() {
        assert_eq!(
            ts("2026-11-22T14:30:00+01:00").ber_text(),
            "20261122143000+0100"
        );
        assert_eq!(ts("2026-11-22T14:30:00Z").ber_text(), "20261122143000Z");
        assert_eq!(
            ts("2026-11-22T14:30:00.250-05:30").ber_text(),
            "20261122143000.25-0530"
        );
    }

    #[test]
    fn reads_every_legal_form() {
        let cases = [
            ("20261122143000+0100", "2026-11-22T14:30:00+01:00"),
            ("202611221430+0100", "2026-11-22T14:30:00+01:00"),
            ("2026112214+0100", "2026-11-22T14:00:00+01:00"),
            ("20261122143000.5Z", "2026-11-22T14:30:00.500+00:00"),
            ("20261122143000,5Z", "2026-11-22T14:30:00.500+00:00"),
            ("20261122143000", "2026-11-22T14:30:00+00:00"),
        ];
        for (text, want) in cases {
            // ResponsibilityEntry { systemIdentity "x", timestamp text }
            let mut der = vec![
                0x30,
                5 + text.len() as u8,
                0x80,
                1,
                b'x',
                0x81,
                text.len() as u8,
            ];
            der.extend_from_slice(text.as_bytes());
            let got = rasn::ber::decode::<crate::sdr::ResponsibilityEntry>(&der)
                .unwrap_or_else(|e| panic!("{text}: {e}"))
                .timestamp;
            assert_eq!(got, ts(want), "{text}");
            assert_eq!(got.offset(), ts(want).offset(), "{text}");
        }
    }
}
