//! Session events: one event of a multi-party session, from a session-event
//! SDR or a row of an event log, with where it came from. The type the
//! reader produces and the grouping stage consumes.

use serde::{Deserialize, Serialize};

use crate::{EventCategory, SessionEvent, SessionEventType, Text, Timestamp};

/// The columns of an event log, in the order sdrate writes them (faulted
/// rows, the events archive). Readers accept them in any order; `role`,
/// `sequence`, `provider_event`, `provider` and `parameters` are optional.
pub const EVENT_COLUMNS: [&str; 13] = [
    "session_id",
    "service",
    "category",
    "event_type",
    "provider_event",
    "timestamp",
    "participant_id",
    "user_name",
    "billed_party",
    "role",
    "sequence",
    "provider",
    "parameters",
];

/// Where an event came from, so a fault can name it and keep it whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Input file as given on the command line (or found in a directory).
    pub file: String,
    pub position: Position,
    pub raw: Raw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Position {
    /// Byte offset of the SDR in its file.
    Offset(u64),
    /// 1-based line of the row in its event log (the header is line 1).
    Line(u64),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Offset(o) => write!(f, "offset {o}"),
            Position::Line(l) => write!(f, "line {l}"),
        }
    }
}

/// Raw bytes as lowercase hex text, as the `hex` crate's serde support
/// writes and reads them; written into one buffer of the exact size (the
/// crate's collects characters one at a time: a pending session's events
/// are most of what the state carries).
///
/// Events are serialised only as JSON (the pending sessions of the state
/// and of the pending report), and hex digits never need escaping, so the
/// quoted text goes to serde_json as a raw value: its string serialiser
/// looks up every byte in its escape table, while a raw value's check
/// scans eight bytes at a time (1.5 % of a one-thread run of 20 k session
/// events, whose pending report is large next to the run; callgrind).
mod hex_text {
    use serde::Serialize;

    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let mut text = vec![b'"'; bytes.len() * 2 + 2];
        let digits = 1..text.len() - 1;
        hex::encode_to_slice(bytes, &mut text[digits]).expect("twice the length");
        let text = String::from_utf8(text).expect("hex digits");
        serde_json::value::RawValue::from_string(text)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::serde::deserialize(d)
    }
}

/// The event as it arrived, for the fault outputs and recycling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Raw {
    /// The whole SDR encoding.
    Sdr(#[serde(with = "hex_text")] Vec<u8>),
    /// The row's fields in `EVENT_COLUMNS` order (missing ones empty).
    Row(Vec<String>),
}

/// One uncombined session event with the eight fields of the seed's event
/// message, plus role, sequence number and free parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub session_id: Text,
    pub service: Text,
    pub category: EventCategory,
    pub event_type: SessionEventType,
    /// The provider's name for a `providerDefined` event.
    pub provider_event: Option<Text>,
    pub timestamp: Timestamp,
    /// Unique within the session.
    pub participant_id: Text,
    pub user_name: Text,
    /// The customer to bill; constant for a participant in a session.
    pub billed_party: Text,
    pub role: Option<Text>,
    /// Position in the session's unbroken sequence, from 1.
    pub sequence: Option<u32>,
    /// The service provider (for third-party costing), when known.
    pub provider: Option<Text>,
    /// The marketing company named by the SDR, when the event came in one;
    /// otherwise the customer registry decides.
    pub marketing_company: Option<Text>,
    pub parameters: Vec<(Text, Text)>,
    pub origin: Origin,
}

impl Event {
    /// An event carried by a session-event SDR; takes the SDR's strings
    /// rather than copying them, since every record is done with once rated
    /// (its emptied fields are decoded into again).
    pub fn from_sdr(
        e: &mut SessionEvent,
        sequence: Option<u32>,
        provider: Option<Text>,
        marketing_company: Text,
        origin: Origin,
    ) -> Self {
        use std::mem::take;
        Event {
            session_id: take(&mut e.session_id),
            service: take(&mut e.service),
            category: e.category,
            event_type: e.event_type,
            provider_event: e.provider_event_name.take(),
            timestamp: e.timestamp,
            participant_id: take(&mut e.participant_id),
            user_name: take(&mut e.user_name),
            billed_party: take(&mut e.billed_party),
            role: e.role.take(),
            sequence,
            provider,
            marketing_company: Some(marketing_company),
            parameters: e
                .parameters
                .iter_mut()
                .flatten()
                .map(|p| (take(&mut p.name), take(&mut p.value)))
                .collect(),
            origin,
        }
    }

    /// The event as a row in `EVENT_COLUMNS` order.
    pub fn to_row(&self) -> Vec<String> {
        vec![
            self.session_id.to_string(),
            self.service.to_string(),
            self.category.to_string(),
            self.event_type.to_string(),
            self.provider_event
                .as_deref()
                .unwrap_or_default()
                .to_owned(),
            self.timestamp.rfc3339(),
            self.participant_id.to_string(),
            self.user_name.to_string(),
            self.billed_party.to_string(),
            self.role.as_deref().unwrap_or_default().to_owned(),
            self.sequence.map(|s| s.to_string()).unwrap_or_default(),
            self.provider.as_deref().unwrap_or_default().to_owned(),
            self.parameters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(";"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kept SDR is lowercase hex in the JSON the state and the pending
    /// report carry, read back to the same bytes, and the same through
    /// serde_json's value tree as through its writer.
    #[test]
    fn raw_sdr_bytes_are_hex_text_in_json_and_back() {
        for (bytes, text) in [
            (vec![0x61, 0x0a, 0xff, 0x00], r#"{"sdr":"610aff00"}"#),
            (Vec::new(), r#"{"sdr":""}"#),
        ] {
            let raw = Raw::Sdr(bytes);
            assert_eq!(serde_json::to_string(&raw).unwrap(), text);
            assert_eq!(
                serde_json::to_value(&raw).unwrap(),
                serde_json::from_str::<serde_json::Value>(text).unwrap()
            );
            assert_eq!(serde_json::from_str::<Raw>(text).unwrap(), raw);
        }
    }
}
