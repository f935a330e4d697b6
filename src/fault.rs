//! Why a record, a stretch of input or a session event is a fault: one
//! enum, with one spelling on the wire and in every report (the `status`
//! of `faults.csv` and `differences.csv`, the `cause` of `faults-index.csv`
//! and the suspense index, the keys of `faults_by_cause` in
//! `summary.json`).
//!
//! The spelling is camelCase, as the SDR status indicators are. A status
//! indicator keeps the spelling the SDR format gives it (its ASN.1
//! identifier, [`StatusIndicator::name`]); the causes only the engine knows
//! are spelled in [`FaultCause::name`], nowhere else.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sdr::StatusIndicator;

/// Why something could not be priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultCause {
    /// Pricing failed: the status indicator the record (or every event of
    /// its session) is labelled with. Never [`StatusIndicator::Priced`].
    Status(StatusIndicator),
    /// A stretch of input that cannot be framed as records.
    BrokenFraming,
    /// A compressed input whose stream breaks off (cut short, or corrupt):
    /// what it held after that point cannot be read
    /// (`read::compressed`).
    DamagedCompression,
    /// A record that frames but does not decode as an SDR.
    Undecodable,
    /// Older than the duplicate-check window (a record, or every event of a
    /// session): it cannot be proved unbilled.
    TooOldForDuplicateCheck,
    /// Dated after the run's clock plus `--future-tolerance` (a record, or
    /// every event of a session): a producer's bad clock. Never billed,
    /// never entered in the duplicate index; kept for recycling.
    FutureTimeOfOrigin,
    /// An event-log row that is not a session event.
    BadEventRow,
    /// A session event whose sequence number another event of its session
    /// already holds.
    SequenceConflict,
    /// An event of a session open longer than its policy allows.
    SessionIncomplete,
}

impl FaultCause {
    /// The causes the engine itself names, beside the status indicators.
    pub const ENGINE: [FaultCause; 8] = [
        FaultCause::BrokenFraming,
        FaultCause::DamagedCompression,
        FaultCause::Undecodable,
        FaultCause::TooOldForDuplicateCheck,
        FaultCause::FutureTimeOfOrigin,
        FaultCause::BadEventRow,
        FaultCause::SequenceConflict,
        FaultCause::SessionIncomplete,
    ];

    /// How earlier versions spelled [`FaultCause::BrokenFraming`]: still
    /// read (from what they wrote), never written.
    pub const OLD_BROKEN_FRAMING: &'static str = "broken framing";

    /// Its spelling, allocated only for a status indicator this version does
    /// not know (written as its number, as the SDR format writes it).
    pub fn name(self) -> Cow<'static, str> {
        match self.known_name() {
            Some(n) => Cow::Borrowed(n),
            None => Cow::Owned(self.to_string()),
        }
    }

    /// Its spelling, unless it is a status indicator this version does not
    /// know.
    fn known_name(self) -> Option<&'static str> {
        Some(match self {
            FaultCause::Status(s) => return s.name(),
            FaultCause::BrokenFraming => "brokenFraming",
            FaultCause::DamagedCompression => "damagedCompression",
            FaultCause::Undecodable => "undecodable",
            FaultCause::TooOldForDuplicateCheck => "tooOldForDuplicateCheck",
            FaultCause::FutureTimeOfOrigin => "futureTimeOfOrigin",
            FaultCause::BadEventRow => "badEventRow",
            FaultCause::SequenceConflict => "sequenceConflict",
            FaultCause::SessionIncomplete => "sessionIncomplete",
        })
    }
}

impl From<StatusIndicator> for FaultCause {
    fn from(s: StatusIndicator) -> Self {
        FaultCause::Status(s)
    }
}

impl fmt::Display for FaultCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, self.known_name()) {
            (_, Some(n)) => f.write_str(n),
            (FaultCause::Status(s), None) => write!(f, "{s}"),
            (_, None) => unreachable!("every engine cause has a name"),
        }
    }
}

/// A spelling that names no fault cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a fault cause")]
pub struct UnknownCause(pub String);

impl FromStr for FaultCause {
    type Err = UnknownCause;

    /// What [`Display`](fmt::Display) writes, and the spelling of earlier
    /// versions ([`FaultCause::OLD_BROKEN_FRAMING`]).
    fn from_str(s: &str) -> Result<Self, UnknownCause> {
        if s == Self::OLD_BROKEN_FRAMING {
            return Ok(FaultCause::BrokenFraming);
        }
        if let Some(c) = Self::ENGINE.into_iter().find(|c| c.known_name() == Some(s)) {
            return Ok(c);
        }
        if let Some(status) = StatusIndicator::from_name(s) {
            return Ok(FaultCause::Status(status));
        }
        // An unknown status indicator is written as its number.
        match s.parse::<i64>() {
            Ok(n) if n.to_string() == s => Ok(FaultCause::Status(StatusIndicator::from_value(n))),
            _ => Err(UnknownCause(s.to_owned())),
        }
    }
}

/// Causes sort by their spelling, so that reports keyed by cause
/// (`faults_by_cause`) list them in the order of the text they show.
impl Ord for FaultCause {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.known_name(), other.known_name()) {
            (Some(a), Some(b)) => a.cmp(b),
            _ => self.name().cmp(&other.name()),
        }
    }
}

impl PartialOrd for FaultCause {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for FaultCause {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for FaultCause {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn every_cause() -> Vec<FaultCause> {
        let mut all: Vec<FaultCause> = StatusIndicator::KNOWN
            .iter()
            .filter(|s| **s != StatusIndicator::Priced)
            .map(|s| FaultCause::from(*s))
            .collect();
        all.extend(FaultCause::ENGINE);
        all.push(FaultCause::Status(StatusIndicator::Unknown(42)));
        all
    }

    /// Every cause is written one way, read back as itself, camelCase
    /// like the status indicators; the spelling of earlier versions still
    /// reads as broken framing.
    #[test]
    fn fault_causes_have_one_spelling() {
        let all = every_cause();
        for c in &all {
            let text = c.to_string();
            assert_eq!(text, c.name(), "{c:?}");
            assert_eq!(text.parse::<FaultCause>(), Ok(*c), "{text}");
            assert!(!text.contains(' '), "{text}");
            assert!(text.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit()));
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<FaultCause>(&json).unwrap(), *c);
        }
        // No two causes share a spelling.
        let mut texts: Vec<String> = all.iter().map(|c| c.to_string()).collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), all.len());

        assert_eq!(FaultCause::BrokenFraming.to_string(), "brokenFraming");
        assert_eq!(
            "broken framing".parse::<FaultCause>(),
            Ok(FaultCause::BrokenFraming)
        );
        assert_eq!(
            "technicalError".parse::<FaultCause>(),
            Ok(FaultCause::Status(StatusIndicator::TechnicalError))
        );
        assert!("Broken Framing".parse::<FaultCause>().is_err());
        assert!("".parse::<FaultCause>().is_err());
        assert!("+7".parse::<FaultCause>().is_err());
    }

    /// A map keyed by cause lists its keys in the order of their spelling,
    /// as the string-keyed `faults_by_cause` of earlier versions did.
    #[test]
    fn causes_sort_by_their_spelling() {
        let all = every_cause();
        let by_cause: BTreeMap<FaultCause, u64> = all.iter().map(|c| (*c, 1)).collect();
        let by_text: BTreeMap<String, u64> = all.iter().map(|c| (c.to_string(), 1)).collect();
        assert_eq!(
            serde_json::to_string(&by_cause).unwrap(),
            serde_json::to_string(&by_text).unwrap()
        );
    }
}
