//! sdrate's responsibility tag: the entry of the header's responsibility
//! trace that says sdrate has secured an SDR.
//!
//! The seed (page 39): "when a Service Producing Element delivers the SDR
//! to the Service Pricing System and the latter has secured it, the
//! Service Pricing System may indicate this by appending a responsibility
//! tag and the Service Producing Element may purge the SDR from its
//! storage."
//!
//! Design:
//!
//! - **Only with a configured identity.** The tag names a system
//!   (`--system-identity`, `SDRATE_SYSTEM_IDENTITY`): which system that is
//!   is the operator's to say, not sdrate's to guess from a host name. A
//!   run without one appends nothing and writes no purge lists, so its
//!   output is byte for byte what it always was. Operators who want their
//!   producers to purge set it.
//! - **Which SDRs.** The tag goes on the SDRs a run bills: `priced/`. Those
//!   are secured in the sense of the seed once the run is published (the
//!   tag is written with the output, which appears whole or not at all),
//!   and the per-producer purge lists (`write::secured`) name exactly them.
//!   Answers to price requests go back to the producer that asked (the
//!   answer is its receipt, sdrate keeps nothing of it); not-priced SDRs
//!   (quality assurance, service management) are passed on as they came,
//!   not priced; faults are kept for recycling, but the producer may still
//!   be needed to correct or resend one, so sdrate takes responsibility for
//!   a fault only when a recycle prices it (its row then names the input
//!   it first came in). Duplicates were secured by the run that billed
//!   them.
//! - **The time** is the run's pricing time, the `timeOfPricing` of the
//!   SDR's own pricing modules: never a clock read of its own, so a rerun
//!   writes the same bytes.
//! - **One tag.** An SDR whose trace already holds an entry of the same
//!   identity (priced before, re-rated, recycled) keeps that entry as it is
//!   and gets no second one: responsibility was taken once, at the time
//!   that entry says. Entries of other systems are never touched.
//! - **Bytes.** The entry is appended to the end of the trace's contents;
//!   every other item of the header and of the record is copied as it was,
//!   unknown items included. Only the lengths of the header and of the
//!   trace change (written definite, in the shortest form). A header
//!   without a trace item (the module makes it mandatory, but an empty
//!   SEQUENCE OF may be left out by a lenient producer) gets one, in its
//!   place in tag order.

use anyhow::{Context, Result, bail};

use crate::read::tlv;
use crate::sdr::{ResponsibilityEntry, ServiceHeaderModule, Text, Timestamp};

/// Context tag number of `responsibilityTrace` in the Service Header Module.
const TRACE_TAG: u32 = 8;
const CONTEXT: u8 = 2;
/// The longest identity accepted: a name, not a document.
pub const MAX_IDENTITY: usize = 255;

/// sdrate's responsibility tag for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    identity: Text,
    time: Timestamp,
    /// The encoded `ResponsibilityEntry`, made once for the run.
    entry: Vec<u8>,
}

/// Why an identity cannot be a system identity, if it cannot.
pub fn check_identity(identity: &str) -> Result<()> {
    if identity.trim().is_empty() {
        bail!("the system identity is empty");
    }
    if identity.len() > MAX_IDENTITY {
        bail!(
            "the system identity is {} bytes long, more than {MAX_IDENTITY}",
            identity.len()
        );
    }
    if identity.chars().any(char::is_control) {
        bail!("the system identity {identity:?} holds a control character");
    }
    Ok(())
}

impl Tag {
    /// The tag of `identity` at `time` (the run's pricing time).
    pub fn new(identity: &str, time: Timestamp) -> Result<Tag> {
        check_identity(identity)?;
        let entry = rasn::ber::encode(&ResponsibilityEntry {
            system_identity: Text::from(identity),
            timestamp: time,
            unknown_items: None,
        })
        .map_err(|e| anyhow::anyhow!("cannot encode the responsibility tag: {e}"))?;
        Ok(Tag {
            identity: Text::from(identity),
            time,
            entry,
        })
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// The encoded entry (a `ResponsibilityEntry` SEQUENCE).
    pub fn entry(&self) -> &[u8] {
        &self.entry
    }

    /// Whether `header`'s trace already holds an entry of this identity.
    pub fn held_by(&self, header: &ServiceHeaderModule) -> bool {
        header
            .responsibility_trace
            .iter()
            .any(|e| e.system_identity == self.identity)
    }
}

/// Writes `header` (one complete Service Header Module element) to `out`
/// with `entry` appended to its responsibility trace (see the module
/// documentation).
pub fn push_tagged_header(header: &[u8], entry: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let is_trace = |h: &tlv::Header| h.class == CONTEXT && h.number == TRACE_TAG;
    // `contents` trusts the element's length: check it first.
    if tlv::element_len(header).context("service header framing")? != header.len() {
        bail!("the service header's length does not match its bytes");
    }
    let (content, _) = tlv::contents(header).context("service header framing")?;
    let new_trace_len = 1 + tlv::length_len(entry.len()) + entry.len();
    let mut body = 0;
    let mut has_trace = false;
    for child in tlv::children(content) {
        let child = child.context("service header item framing")?;
        let h = tlv::header(child)?;
        if is_trace(&h) {
            if !h.constructed || has_trace {
                bail!("the service header's responsibility trace is malformed");
            }
            has_trace = true;
            let (items, _) = tlv::contents(child)?;
            let n = items.len() + entry.len();
            body += tlv::identifier_len(child) + tlv::length_len(n) + n;
        } else {
            body += child.len();
        }
    }
    if !has_trace {
        body += new_trace_len;
    }
    let push_new_trace = |out: &mut Vec<u8>| {
        out.push(0xa0 | TRACE_TAG as u8);
        tlv::push_length(out, entry.len());
        out.extend_from_slice(entry);
    };
    let id_len = tlv::identifier_len(header);
    out.reserve(id_len + 9 + body);
    out.extend_from_slice(&header[..id_len]);
    tlv::push_length(out, body);
    let mut inserted = has_trace;
    for child in tlv::children(content) {
        // Framing was checked above.
        let child = child.context("service header item framing")?;
        let h = tlv::header(child)?;
        if is_trace(&h) {
            let (items, _) = tlv::contents(child)?;
            out.extend_from_slice(&child[..tlv::identifier_len(child)]);
            tlv::push_length(out, items.len() + entry.len());
            out.extend_from_slice(items);
            out.extend_from_slice(entry);
            continue;
        }
        let before_trace = h.class == CONTEXT && h.number < TRACE_TAG;
        if !inserted && !before_trace {
            push_new_trace(out);
            inserted = true;
        }
        out.extend_from_slice(child);
    }
    if !inserted {
        push_new_trace(out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp(chrono::DateTime::parse_from_rfc3339(s).unwrap())
    }

    #[test]
    fn the_entry_is_a_sequence_of_identity_and_time() {
        let tag = Tag::new("sdrate-1", at("2026-11-22T02:00:00+01:00")).unwrap();
        // 30 len { 80 08 "sdrate-1" 81 13 "20261122020000+0100" }
        let mut want = vec![0x30, 31, 0x80, 8];
        want.extend_from_slice(b"sdrate-1");
        want.extend_from_slice(&[0x81, 19]);
        want.extend_from_slice(b"20261122020000+0100");
        assert_eq!(tag.entry(), want);
    }

    #[test]
    fn identities_that_cannot_name_a_system_are_refused() {
        let t = at("2026-11-22T02:00:00Z");
        for bad in ["", "  ", "a\nb", &"x".repeat(MAX_IDENTITY + 1)] {
            assert!(Tag::new(bad, t).is_err(), "{bad:?}");
        }
        assert!(Tag::new("pricing-1.example", t).is_ok());
    }

    #[test]
    fn the_entry_goes_after_the_existing_entries() {
        // A header of [0] 01, [8] { one entry }, [9] 00, and an unknown item.
        let old_entry = [0x30, 0x03, 0x80, 0x01, b'm'];
        let mut trace = vec![0xa8, old_entry.len() as u8];
        trace.extend_from_slice(&old_entry);
        let items: Vec<u8> = [
            &[0x80, 0x01, 0x01][..],
            &trace,
            &[0x89, 0x01, 0x00],
            &[0x9f, 0x30, 0x01, 0x07],
        ]
        .concat();
        let mut header = vec![0xa0, items.len() as u8];
        header.extend_from_slice(&items);
        let entry = [0x30, 0x03, 0x80, 0x01, b's'];
        let mut out = Vec::new();
        push_tagged_header(&header, &entry, &mut out).unwrap();
        let want: Vec<u8> = [
            &[0xa0, 0x16][..],
            &[0x80, 0x01, 0x01],
            &[
                0xa8, 0x0a, 0x30, 0x03, 0x80, 0x01, b'm', 0x30, 0x03, 0x80, 0x01, b's',
            ],
            &[0x89, 0x01, 0x00],
            &[0x9f, 0x30, 0x01, 0x07],
        ]
        .concat();
        assert_eq!(out, want);
    }

    #[test]
    fn a_header_without_a_trace_gets_one_in_tag_order() {
        let header = [0xa0, 0x06, 0x87, 0x01, 0x01, 0x89, 0x01, 0x00];
        let entry = [0x30, 0x03, 0x80, 0x01, b's'];
        let mut out = Vec::new();
        push_tagged_header(&header, &entry, &mut out).unwrap();
        assert_eq!(
            out,
            [
                0xa0, 0x0d, 0x87, 0x01, 0x01, 0xa8, 0x05, 0x30, 0x03, 0x80, 0x01, b's', 0x89, 0x01,
                0x00
            ]
        );
    }

    #[test]
    fn an_indefinite_header_is_written_definite_with_its_items_unchanged() {
        let header = [
            0xa0, 0x80, 0x80, 0x01, 0x01, 0xa8, 0x80, 0x00, 0x00, 0x00, 0x00,
        ];
        let entry = [0x30, 0x00];
        let mut out = Vec::new();
        push_tagged_header(&header, &entry, &mut out).unwrap();
        assert_eq!(out, [0xa0, 0x07, 0x80, 0x01, 0x01, 0xa8, 0x02, 0x30, 0x00]);
    }

    #[test]
    fn a_malformed_header_is_an_error_not_a_panic() {
        let entry = [0x30, 0x00];
        for bad in [&[0xa0, 0x05, 0x80][..], &[0xa0, 0x02, 0x88, 0x00], &[]] {
            let mut out = Vec::new();
            assert!(
                push_tagged_header(bad, &entry, &mut out).is_err(),
                "{bad:x?}"
            );
        }
    }
}
