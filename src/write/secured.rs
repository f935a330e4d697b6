//! The purge lists: per producing element, the SDRs a run secured, so that
//! the element may purge them from its own storage (the seed, page 39;
//! the tag itself is [`super::trace`]).
//!
//! `secured/<producer>.csv` in the output directory, named as
//! `answers/<producer>.sdr` is ([`super::answers::file_name_with`]), one
//! row per SDR the run billed with sdrate's tag, in input order, with the
//! columns of [`COLUMNS`]: the producer identity, the SDR identifier and
//! the time of origin (RFC 3339, as the producer wrote it: the three name
//! the SDR, as for the duplicate check), and the input file and offset it
//! was read from (for a recycled SDR, the input it first came in, from
//! the suspense area's index).
//!
//! The lists are part of the output directory: they appear when the run
//! is published, with the priced SDRs, or not at all, so a producer never
//! reads a list of SDRs that are not yet safe. A dry run secures nothing
//! and writes none. Rows are streamed to at most
//! [`super::answers::MAX_OPEN`] open files (the answers' machinery), so
//! memory does not grow with the number of SDRs or producers.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::answers::ProducerFiles;
use super::csv_row::push_record;
use super::names;
use crate::sdr::{Text, Timestamp};

/// Columns of a purge list.
pub const COLUMNS: [&str; 5] = [
    "producer",
    "sdr_identifier",
    "time_of_origin",
    "file",
    "offset",
];

/// The header line of a purge list.
const HEAD: &[u8] = b"producer,sdr_identifier,time_of_origin,file,offset\n";

/// What a purge-list row says of one SDR, taken from its header by the
/// worker that priced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecuredSdr {
    pub producer: Text,
    pub sdr_identifier: u32,
    pub time_of_origin: Timestamp,
}

/// For the summary: the identity and time of the tag, the SDRs secured,
/// and the producers with their lists (the first
/// [`super::answers::LISTED`], the others counted).
#[derive(Debug, Default, Serialize, PartialEq, Eq, Clone)]
pub struct SecuredCounts {
    pub identity: String,
    /// RFC 3339, as the tag's GeneralizedTime says it.
    pub time: String,
    pub sdrs: u64,
    pub producers: u64,
    pub first: Vec<ProducerSecured>,
    /// SDRs of producers beyond the first listed.
    pub unlisted_sdrs: u64,
}

#[derive(Debug, Serialize, PartialEq, Eq, Clone)]
pub struct ProducerSecured {
    pub producer: String,
    /// Relative to the output directory.
    pub file: String,
    pub sdrs: u64,
}

/// The purge lists of a run.
pub struct Secured {
    files: ProducerFiles,
    /// One row, formatted here and copied to its producer's file.
    row: Vec<u8>,
    identity: String,
    time: String,
    sdrs: u64,
}

impl Secured {
    /// Creates `secured/` in `out`, for the tag of `identity` at `time`.
    pub fn create(out: &Path, identity: &str, time: Timestamp) -> Result<Self> {
        Ok(Secured {
            files: ProducerFiles::create(out, names::SECURED_DIR, ".csv", HEAD)?,
            row: Vec::new(),
            identity: identity.to_owned(),
            time: time.rfc3339(),
            sdrs: 0,
        })
    }

    /// One SDR secured, read from `file` at `offset`.
    pub fn write(&mut self, sdr: &SecuredSdr, file: &str, offset: u64) -> Result<()> {
        let (mut id, mut off) = (itoa::Buffer::new(), itoa::Buffer::new());
        let time = sdr.time_of_origin.rfc3339();
        let row = &mut self.row;
        row.clear();
        push_record(
            row,
            [
                sdr.producer.as_bytes(),
                id.format(sdr.sdr_identifier).as_bytes(),
                time.as_bytes(),
                file.as_bytes(),
                off.format(offset).as_bytes(),
            ],
        );
        self.files.write(&sdr.producer, row)?;
        self.sdrs += 1;
        Ok(())
    }

    /// Flushes and closes every list; the counts for the summary.
    pub fn finish(&mut self) -> Result<SecuredCounts> {
        self.files.finish()?;
        let f = &mut self.files;
        Ok(SecuredCounts {
            identity: self.identity.clone(),
            time: self.time.clone(),
            sdrs: self.sdrs,
            producers: f.producers,
            first: std::mem::take(&mut f.first)
                .into_iter()
                .map(|(producer, file, sdrs)| ProducerSecured {
                    producer,
                    file,
                    sdrs,
                })
                .collect(),
            unlisted_sdrs: std::mem::take(&mut f.unlisted),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp(chrono::DateTime::parse_from_rfc3339(s).unwrap())
    }

    #[test]
    fn rows_go_to_their_producers_list_under_its_escaped_name() {
        let dir = tempfile::tempdir().unwrap();
        let t = at("2026-11-22T02:00:00+01:00");
        let mut s = Secured::create(dir.path(), "sdrate-1", t).unwrap();
        let sdr = |p: &str, id| SecuredSdr {
            producer: Text::from(p),
            sdr_identifier: id,
            time_of_origin: at("2026-11-20T09:40:00+01:00"),
        };
        s.write(&sdr("fax-1", 1001), "in/a.sdr", 0).unwrap();
        s.write(&sdr("Op,1", 7), "in/b,c.sdr", 323).unwrap();
        s.write(&sdr("fax-1", 1002), "in/a.sdr", 323).unwrap();
        let counts = s.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("secured/fax-1.csv")).unwrap(),
            "producer,sdr_identifier,time_of_origin,file,offset\n\
             fax-1,1001,2026-11-20T09:40:00+01:00,in/a.sdr,0\n\
             fax-1,1002,2026-11-20T09:40:00+01:00,in/a.sdr,323\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("secured/%4Fp%2C1.csv")).unwrap(),
            "producer,sdr_identifier,time_of_origin,file,offset\n\
             \"Op,1\",7,2026-11-20T09:40:00+01:00,\"in/b,c.sdr\",323\n"
        );
        assert_eq!(counts.sdrs, 3);
        assert_eq!(counts.producers, 2);
        assert_eq!(counts.time, "2026-11-22T02:00:00+01:00");
        assert_eq!(counts.first[0].file, "secured/fax-1.csv");
        assert_eq!(counts.first[0].sdrs, 2);
    }

    #[test]
    fn the_header_line_names_the_columns() {
        assert_eq!(HEAD, format!("{}\n", COLUMNS.join(",")).as_bytes());
    }
}
