//! Answers to price requests, returned to the Service Producing Element
//! that asked: the seed's price request "shall be returned to the Service
//! Producing Element", so besides the combined `answers.sdr` every answer
//! is written to `answers/<producer>.sdr`, named by the producer identity
//! of its header, in input order.
//!
//! File names ([`file_name`]): letters `a-z`, digits, `-`, `_` and `.` are
//! kept; every other byte of the identity's UTF-8 (capitals included, so
//! that a case-insensitive file system cannot merge `A` and `a`) is `%XX`,
//! upper-case hex, and so is a `.` that would begin a name (no hidden
//! files, no `.` or `..`). The empty identity is `%`. An encoding longer
//! than [`PART`] bytes is cut into directories of at most [`PART`] bytes,
//! each named with a trailing `~` (a byte always escaped otherwise):
//! `answers/<part>~/<part>~/<last>.sdr`. Decoding is unique, so two
//! producers never share a file.
//!
//! At most [`MAX_OPEN`] producer files (of a [`ProducerFiles`], which
//! `secured/` shares) are open at a time: the least
//! recently written is flushed and closed, and reopened for appending when
//! its producer asks again, so neither handles nor buffers grow with the
//! number of producers. There is one writer, in input order: the files are
//! the same at any thread count.

use rustc_hash::FxHashMap as HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::names;

/// Producer files open at once.
pub const MAX_OPEN: usize = 64;
/// Producers listed by name in the summary; the rest are counted.
pub const LISTED: usize = 100;
/// The longest encoded path component, well under the 255 bytes of
/// common file systems.
pub const PART: usize = 200;
/// Small buffers: [`MAX_OPEN`] of them at most.
const BUFFER: usize = 8 << 10;

/// The path of `producer`'s answers inside `answers/` (see the module
/// documentation).
pub fn file_name(producer: &str) -> String {
    file_name_with(producer, ".sdr")
}

/// The path of `producer`'s file ending in `ext`: [`file_name`]'s escaping
/// for any per-producer file (`secured/<producer>.csv` too).
pub fn file_name_with(producer: &str, ext: &str) -> String {
    if producer.is_empty() {
        return format!("%{ext}");
    }
    let mut parts: Vec<String> = vec![String::new()];
    for (i, b) in producer.bytes().enumerate() {
        let part = parts.last().expect("never empty");
        let token = match b {
            b'.' if i == 0 || part.is_empty() => "%2E".to_owned(),
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        };
        if part.len() + token.len() > PART {
            // A new part begins: a `.` there is escaped, as at the start.
            let token = if b == b'.' { "%2E".to_owned() } else { token };
            parts.push(token);
        } else {
            parts.last_mut().expect("never empty").push_str(&token);
        }
    }
    let last = parts.pop().expect("never empty");
    let mut name = String::new();
    for p in parts {
        name.push_str(&p);
        name.push_str("~/");
    }
    name.push_str(&last);
    name.push_str(ext);
    name
}

/// Answers per producer, for the summary: how many producers were
/// answered, the first [`LISTED`] of them (in order of their first answer)
/// with their file and count, and the answers of the others (a bounded
/// list, as for padding and entries not read).
#[derive(Debug, Default, Serialize, PartialEq, Eq, Clone)]
pub struct AnswerCounts {
    pub producers: u64,
    pub first: Vec<ProducerAnswers>,
    /// Answers to producers beyond the first [`LISTED`].
    pub unlisted_answers: u64,
}

#[derive(Debug, Serialize, PartialEq, Eq, Clone)]
pub struct ProducerAnswers {
    pub producer: String,
    /// Relative to the output directory.
    pub file: String,
    pub answers: u64,
}

/// One file per producer under one directory of the output, written in
/// the order things arrive: at most [`MAX_OPEN`] open, the least recently
/// written flushed, closed and reopened for appending when its producer
/// comes again (see the module documentation). Used for `answers/` and
/// `secured/` (`write::secured`).
pub struct ProducerFiles {
    /// The directory's name inside the output directory.
    name: &'static str,
    dir: PathBuf,
    ext: &'static str,
    /// Written first into every new file (a CSV header).
    head: &'static [u8],
    /// Open producer files, by producer, with when each was last written
    /// and where the producer is in `first` if listed: two look-ups a
    /// write, by FxHash (three, by SipHash, were ~800 of the writer's
    /// instructions an answer; both maps are bounded, 64 and 100 entries,
    /// so no input can crowd a hash).
    open: HashMap<String, (BufWriter<File>, u64, Option<usize>)>,
    clock: u64,
    /// Where each listed producer is in `first`.
    listed: HashMap<String, usize>,
    /// Producers written to.
    pub producers: u64,
    /// The first [`LISTED`] producers: name, file (relative to the output
    /// directory) and writes.
    pub first: Vec<(String, String, u64)>,
    /// Writes to producers beyond the first [`LISTED`].
    pub unlisted: u64,
}

impl ProducerFiles {
    /// Creates the directory `name` in `out`, for files ending in `ext`
    /// that begin with `head`.
    pub fn create(
        out: &Path,
        name: &'static str,
        ext: &'static str,
        head: &'static [u8],
    ) -> Result<Self> {
        let dir = out.join(name);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(ProducerFiles {
            name,
            dir,
            ext,
            head,
            open: HashMap::default(),
            clock: 0,
            listed: HashMap::default(),
            producers: 0,
            first: Vec::new(),
            unlisted: 0,
        })
    }

    /// Appends `bytes` to `producer`'s file.
    pub fn write(&mut self, producer: &str, bytes: &[u8]) -> Result<()> {
        self.clock += 1;
        if !self.open.contains_key(producer) {
            let w = self.open_file(producer)?;
            let listed = self.listed.get(producer).copied();
            self.open.insert(producer.to_owned(), (w, 0, listed));
        }
        let (w, used, listed) = self.open.get_mut(producer).expect("opened above");
        *used = self.clock;
        w.write_all(bytes)
            .with_context(|| format!("cannot write {} of producer {producer:?}", self.name))?;
        match listed {
            Some(i) => self.first[*i].2 += 1,
            None => self.unlisted += 1,
        }
        Ok(())
    }

    /// Opens `producer`'s file, first closing the least recently written
    /// one if [`MAX_OPEN`] are open. A file that does not exist yet is a
    /// producer's first write: it is counted (and listed, while there is
    /// room) there.
    fn open_file(&mut self, producer: &str) -> Result<BufWriter<File>> {
        if self.open.len() >= MAX_OPEN
            && let Some(oldest) = self
                .open
                .iter()
                .min_by_key(|(_, (_, used, _))| *used)
                .map(|(p, _)| p.clone())
        {
            let (mut w, ..) = self.open.remove(&oldest).expect("found above");
            w.flush()
                .with_context(|| format!("cannot write {} of producer {oldest:?}", self.name))?;
        }
        let name = file_name_with(producer, self.ext);
        let path = self.dir.join(&name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let created = OpenOptions::new().write(true).create_new(true).open(&path);
        let file = match created {
            Ok(f) => {
                self.producers += 1;
                if self.first.len() < LISTED {
                    self.listed.insert(producer.to_owned(), self.first.len());
                    self.first
                        .push((producer.to_owned(), format!("{}/{name}", self.name), 0));
                }
                Ok((f, true))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => OpenOptions::new()
                .append(true)
                .open(&path)
                .map(|f| (f, false)),
            Err(e) => Err(e),
        }
        .with_context(|| format!("cannot create {}", path.display()))?;
        let (file, new) = file;
        let mut w = BufWriter::with_capacity(BUFFER, file);
        if new {
            w.write_all(self.head)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(w)
    }

    /// Flushes and closes every file.
    pub fn finish(&mut self) -> Result<()> {
        for (producer, (mut w, ..)) in self.open.drain() {
            w.flush()
                .with_context(|| format!("cannot write {} of producer {producer:?}", self.name))?;
        }
        self.listed.clear();
        Ok(())
    }
}

/// The answers of a run: the combined file and one per producer.
pub struct Answers {
    combined: BufWriter<File>,
    files: ProducerFiles,
}

impl Answers {
    /// Creates `answers.sdr` and `answers/` in `out`.
    pub fn create(out: &Path) -> Result<Self> {
        let files = ProducerFiles::create(out, names::ANSWERS_DIR, ".sdr", b"")?;
        let path = out.join(names::ANSWERS);
        let combined = File::create(&path)
            .map(|f| BufWriter::with_capacity(1 << 16, f))
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Answers { combined, files })
    }

    /// One answer (an encoded SDR) to `producer`.
    pub fn write(&mut self, producer: &str, bytes: &[u8]) -> Result<()> {
        self.combined
            .write_all(bytes)
            .with_context(|| format!("cannot write {}", names::ANSWERS))?;
        self.files.write(producer, bytes)
    }

    /// Flushes and closes every file; the counts for the summary.
    pub fn finish(&mut self) -> Result<AnswerCounts> {
        self.combined
            .flush()
            .with_context(|| format!("cannot write {}", names::ANSWERS))?;
        self.files.finish()?;
        let f = &mut self.files;
        Ok(AnswerCounts {
            producers: f.producers,
            first: std::mem::take(&mut f.first)
                .into_iter()
                .map(|(producer, file, answers)| ProducerAnswers {
                    producer,
                    file,
                    answers,
                })
                .collect(),
            unlisted_answers: std::mem::take(&mut f.unlisted),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_identities_keep_their_names() {
        assert_eq!(file_name("spe-3"), "spe-3.sdr");
        assert_eq!(file_name("msc7.op_fi"), "msc7.op_fi.sdr");
    }

    #[test]
    fn odd_identities_are_escaped_and_never_collide() {
        assert_eq!(file_name(""), "%.sdr");
        assert_eq!(file_name(".."), "%2E..sdr");
        assert_eq!(file_name("a/b"), "a%2Fb.sdr");
        assert_eq!(file_name("A"), "%41.sdr");
        assert_eq!(file_name("%41"), "%2541.sdr");
        assert_eq!(file_name("ö"), "%C3%B6.sdr");
        let names: std::collections::HashSet<String> = [
            "", "%", "a", "A", "a.sdr", "a~", "..", ".", "%2E", "a/b", "a%2Fb",
        ]
        .iter()
        .map(|p| file_name(p))
        .collect();
        assert_eq!(names.len(), 11);
    }

    #[test]
    fn long_identities_are_cut_into_directories() {
        let long = "x".repeat(PART * 2 + 10) + ".y";
        let name = file_name(&long);
        let parts: Vec<&str> = name.split('/').collect();
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.len() <= PART + 4));
        assert!(parts[0].ends_with('~') && parts[1].ends_with('~'));
        assert_ne!(name, file_name(&"x".repeat(PART * 2 + 11)));
    }

    #[test]
    fn more_producers_than_open_files_append_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Answers::create(dir.path()).unwrap();
        let producers = MAX_OPEN * 2 + LISTED;
        for round in 0..3u8 {
            for p in 0..producers {
                a.write(&format!("p{p}"), &[round]).unwrap();
            }
        }
        assert!(a.files.open.len() <= MAX_OPEN);
        let counts = a.finish().unwrap();
        assert_eq!(counts.producers, producers as u64);
        assert_eq!(counts.first.len(), LISTED);
        assert!(counts.first.iter().all(|p| p.answers == 3));
        assert_eq!(counts.unlisted_answers, 3 * (producers - LISTED) as u64);
        for p in [0, MAX_OPEN + 1, producers - 1] {
            let bytes = fs::read(dir.path().join(format!("answers/p{p}.sdr"))).unwrap();
            assert_eq!(bytes, [0, 1, 2]);
        }
        let all = fs::read(dir.path().join(names::ANSWERS)).unwrap();
        assert_eq!(all.len(), 3 * producers);
    }
}
