//! Grouping uncombined session events into sessions.
//!
//! Events arrive from session-event SDRs and from raw event logs (CSV or
//! JSON lines), in any order and spread over files and runs. They are
//! grouped by session id, ordered by sequence number (else timestamp),
//! de-duplicated, and a session is handed on for pricing only when it is
//! complete; the rest wait in the state directory for the next run.

pub mod assemble;
pub mod duplicates;
mod recall;
pub mod shards;

pub use crate::sdr::event::{EVENT_COLUMNS, Event, Origin, Position, Raw};

/// Events for the grouping stage's tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Event, Origin, Position, Raw};
    use crate::sdr::{EventCategory, SessionEventType, Timestamp};

    /// An event of `session` by `who` at `at`, from line `line` of a CSV
    /// log.
    pub fn event(
        session: &str,
        seq: Option<u32>,
        ty: SessionEventType,
        at: chrono::DateTime<chrono::FixedOffset>,
        who: &str,
        line: u64,
    ) -> Event {
        Event {
            session_id: session.into(),
            service: "GAME".into(),
            category: EventCategory::ParticipantRelated,
            event_type: ty,
            provider_event: None,
            timestamp: Timestamp(at),
            participant_id: who.into(),
            user_name: who.into(),
            billed_party: "C00001".into(),
            role: Some("player".into()),
            sequence: seq,
            provider: None,
            marketing_company: None,
            parameters: Vec::new(),
            origin: Origin {
                file: "t.csv".into(),
                position: Position::Line(line),
                raw: Raw::Row(Vec::new()),
            },
        }
    }
}
