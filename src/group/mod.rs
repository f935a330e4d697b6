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
