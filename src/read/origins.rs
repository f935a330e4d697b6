//! Where the bytes of a file sdrate wrote came from.
//!
//! Every BER file sdrate keeps for recycling has an index beside it, one
//! row per entry ([`IndexRow`]): where the entry lies in the kept file
//! (`position`, `length`), the input it was read from (`file`, `offset`),
//! and why it was kept (`cause`). Two files use it:
//!
//! - `faults.sdr` and `faults-index.csv` (in the state directory
//!   `suspense.sdr` and `suspense-index.csv`): whole records, so that the
//!   fault rows of a recycle name the original input and offset, not the
//!   suspense file;
//! - `broken.dat` and `broken.csv` (`suspense-broken.dat`,
//!   `suspense-broken.csv`): stretches of input that could not be framed as
//!   records. They are kept apart from the records because a truncated
//!   record appended to a file of records misframes every record after it
//!   (a run that did so left 0 of 2 decodable faults readable). Read back,
//!   each stretch is framed on its own ([`piece_ends`]), as it was in its
//!   input.
//!
//! Both are read front to back in step with the kept file, so holding an
//! index costs one row, whatever its length.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// One entry of a kept file's index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexRow {
    /// Offset of the entry in the kept file.
    pub position: u64,
    pub length: u64,
    /// The input the bytes were read from, their offset and their length
    /// there (a fault kept with its pricing modules is longer than it was).
    pub file: String,
    pub offset: u64,
    pub input_length: u64,
    /// The fault status, or for a broken stretch why it cannot be framed.
    pub cause: String,
}

/// An input that is a file sdrate kept (the suspense area): the index
/// naming where its entries came from, so fault rows name the original
/// input and offset, and whether its entries are broken stretches, each
/// framed on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptInput {
    pub index: PathBuf,
    pub pieces: bool,
}

/// The header of every index file: the fields of [`IndexRow`] in order.
pub const INDEX_COLUMNS: [&str; 6] = [
    "position",
    "length",
    "file",
    "offset",
    "input_length",
    "cause",
];

/// Where bytes were read from: an input, the offset there, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source<'a> {
    pub file: &'a str,
    pub offset: u64,
    pub length: u64,
}

type Rows = csv::DeserializeRecordsIntoIter<BufReader<File>, IndexRow>;

/// An index read in step with its kept file: see [`Origins::at`].
pub struct Origins {
    path: PathBuf,
    rows: Option<Rows>,
    current: Option<IndexRow>,
}

fn open_rows(path: &Path) -> Result<Option<Rows>> {
    match File::open(path) {
        Ok(f) => Ok(Some(
            csv::Reader::from_reader(BufReader::new(f)).into_deserialize(),
        )),
        // A kept file written before indexes existed has none: its entries
        // keep the kept file's own name and offsets.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot open {}", path.display())),
    }
}

impl Origins {
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Origins {
            path: path.to_path_buf(),
            rows: open_rows(path)?,
            current: None,
        })
    }

    /// Where the `length` bytes at `offset` of the kept file came from:
    /// the input and the offset there, and their length there when they
    /// are the whole entry. Offsets must be asked in increasing order;
    /// None for bytes no entry covers.
    pub fn at(&mut self, offset: u64, length: u64) -> Result<Option<Source<'_>>> {
        loop {
            match &self.current {
                Some(r) if r.position + r.length > offset => break,
                _ => match self.rows.as_mut().and_then(Iterator::next) {
                    Some(row) => {
                        self.current = Some(row.with_context(|| {
                            format!("{}: not an index of kept records", self.path.display())
                        })?)
                    }
                    None => {
                        self.current = None;
                        return Ok(None);
                    }
                },
            }
        }
        Ok(self
            .current
            .as_ref()
            .filter(|r| r.position <= offset)
            .map(|r| Source {
                file: r.file.as_str(),
                offset: r.offset + (offset - r.position),
                length: if offset == r.position && length == r.length {
                    r.input_length
                } else {
                    length
                },
            }))
    }
}

/// The end offsets of the pieces of a kept file, in order, read lazily
/// from its index: the bounds within which a reader frames broken
/// stretches one by one ([`crate::read::Reader::pieces`]). Entries that
/// were one stretch of one input, cut only by the maximum record size
/// (a record longer than the limit is kept as several), are one piece, so
/// a recycle with a larger `--max-record-bytes` reads the record whole.
/// An unreadable row ends the list (the rest is framed as one stretch,
/// losing nothing).
pub fn piece_ends(index: &Path) -> Result<Box<dyn Iterator<Item = u64> + Send>> {
    let Some(rows) = open_rows(index)? else {
        return Ok(Box::new(std::iter::empty()));
    };
    let mut rows = rows.map_while(Result::ok).peekable();
    Ok(Box::new(std::iter::from_fn(move || {
        let mut piece = rows.next()?;
        while let Some(next) = rows.next_if(|n| {
            n.position == piece.position + piece.length
                && n.file == piece.file
                && n.offset == piece.offset + piece.input_length
        }) {
            piece.length += next.length;
            piece.input_length += next.input_length;
        }
        Some(piece.position + piece.length)
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_map_offsets_inside_entries_and_skip_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.csv");
        std::fs::write(
            &path,
            "position,length,file,offset,input_length,cause\n0,10,a.sdr,100,8,x\n10,5,b.sdr,0,5,y\n20,4,\"c,d.sdr\",7,4,z\n",
        )
        .unwrap();
        let mut o = Origins::open(&path).unwrap();
        let src = |file, offset, length| {
            Some(Source {
                file,
                offset,
                length,
            })
        };
        // A whole entry has its length in its input.
        assert_eq!(o.at(0, 10).unwrap(), src("a.sdr", 100, 8));
        assert_eq!(o.at(9, 1).unwrap(), src("a.sdr", 109, 1));
        assert_eq!(o.at(12, 2).unwrap(), src("b.sdr", 2, 2));
        // 15..20 is covered by no entry.
        assert_eq!(o.at(16, 1).unwrap(), None);
        assert_eq!(o.at(21, 3).unwrap(), src("c,d.sdr", 8, 3));
        assert_eq!(o.at(24, 1).unwrap(), None);
        let ends: Vec<u64> = piece_ends(&path).unwrap().collect();
        assert_eq!(ends, [10, 15, 24]);
    }

    #[test]
    fn stretches_cut_from_one_run_of_input_are_one_piece() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.csv");
        // 0..10 and 10..14 continue each other in a.sdr; 14..20 is a.sdr
        // again but elsewhere; 20..25 continues it but in another file.
        std::fs::write(
            &path,
            "position,length,file,offset,input_length,cause\n0,10,a.sdr,0,10,x\n10,4,a.sdr,10,4,y\n14,6,a.sdr,50,6,z\n20,5,b.sdr,56,5,z\n",
        )
        .unwrap();
        let ends: Vec<u64> = piece_ends(&path).unwrap().collect();
        assert_eq!(ends, [14, 20, 25]);
    }

    #[test]
    fn a_missing_index_maps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = Origins::open(&dir.path().join("none.csv")).unwrap();
        assert_eq!(o.at(0, 1).unwrap(), None);
        assert_eq!(piece_ends(&dir.path().join("none.csv")).unwrap().count(), 0);
    }
}
