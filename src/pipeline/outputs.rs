//! Where a rating run writes, opened before any record is read.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::group::EVENT_COLUMNS;
use crate::write::answers::Answers;
use crate::write::export::{self, Export};
use crate::write::network::NetworkReports;
use crate::write::secured::Secured;
use crate::write::subscribers::{self, Routing};
use crate::write::trace::Tag;
use crate::write::{Kept, sessions};

use super::record::QA_COLUMNS;
use crate::write::names;

/// Where the run writes, opened before any record is read.
pub struct Outputs {
    pub(super) dir: PathBuf,
    pub(super) answers: Answers,
    pub(super) not_priced: BufWriter<File>,
    pub(super) session_events: BufWriter<File>,
    pub(super) faults: Kept,
    pub(super) broken: Kept,
    pub(super) fault_report: csv::Writer<File>,
    pub(super) participations: BufWriter<File>,
    /// The session reports, as CSV bytes that the parallel pricing step
    /// formats (`SessionRows`): the writer only copies them.
    pub(super) participation_report: BufWriter<File>,
    pub(super) cost_report: BufWriter<File>,
    pub(super) event_rows: csv::Writer<File>,
    pub(super) faulted_event_rows: csv::Writer<File>,
    pub(super) late_events: csv::Writer<File>,
    pub(super) faulted_event_lines: BufWriter<File>,
    pub(super) duplicates: BufWriter<File>,
    /// Rows formatted by the workers ([`super::record::Done::NotPriced`]).
    pub(super) qa_report: BufWriter<File>,
    pub(super) subscribers: Option<subscribers::Outputs>,
    /// Priced records for analytics (`--export`), when asked for.
    pub(super) export: Option<Export>,
    /// sdrate's responsibility tag and the purge lists, when the run has a
    /// system identity ([`Outputs::responsible`]).
    pub(super) tag: Option<Tag>,
    pub(super) secured: Option<Secured>,
    /// The network cost reports (`--network-costs`), when configured.
    pub(super) network: Option<NetworkReports>,
}

pub(super) fn csv_with_header(
    dir: &Path,
    name: &str,
    header: &[&str],
) -> Result<csv::Writer<File>> {
    let path = dir.join(name);
    let mut w = csv::Writer::from_path(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    w.write_record(header)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(w)
}

/// A CSV file whose rows arrive as formatted bytes ([`SessionRows`]).
pub(super) fn bytes_with_header(
    dir: &Path,
    name: &str,
    header: &[&str],
) -> Result<BufWriter<File>> {
    let path = dir.join(name);
    let mut w = create(&path)?;
    let mut head = csv::Writer::from_writer(Vec::new());
    head.write_record(header)
        .and_then(|()| head.flush().map_err(Into::into))
        .with_context(|| format!("cannot write {}", path.display()))?;
    w.write_all(head.get_ref())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(w)
}

pub(super) fn create(path: &Path) -> Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        1 << 16,
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    ))
}

impl Outputs {
    /// [`crate::state::publish::start_writeback`] for the large outputs
    /// (what is still in their buffers follows at the next call).
    pub(super) fn start_writeback(&self) {
        use crate::state::publish::start_writeback;
        start_writeback(self.session_events.get_ref());
        start_writeback(self.participations.get_ref());
        start_writeback(self.participation_report.get_ref());
    }

    /// `network_lists`: the number of network cost lists when network
    /// costing is configured.
    pub fn open(
        dir: &Path,
        routing: Option<&Routing>,
        exports: &[export::Format],
        network_lists: Option<usize>,
    ) -> Result<Self> {
        fs::create_dir_all(dir.join(names::PRICED_DIR))
            .with_context(|| format!("cannot create output directory {}", dir.display()))?;
        Ok(Outputs {
            dir: dir.to_path_buf(),
            answers: Answers::create(dir)?,
            not_priced: create(&dir.join(names::NOT_PRICED))?,
            session_events: create(&dir.join(names::SESSION_EVENTS))?,
            faults: Kept::create(dir, names::FAULTS, names::FAULT_INDEX)?,
            broken: Kept::create(dir, names::BROKEN, names::BROKEN_INDEX)?,
            fault_report: csv_with_header(dir, names::FAULT_REPORT, &crate::write::FAULT_COLUMNS)?,
            participations: create(&dir.join(names::PARTICIPATIONS))?,
            participation_report: bytes_with_header(
                dir,
                names::PARTICIPATION_REPORT,
                &sessions::PARTICIPATION_COLUMNS,
            )?,
            cost_report: bytes_with_header(dir, names::COSTS, &sessions::COST_COLUMNS)?,
            event_rows: csv_with_header(dir, names::SESSION_EVENT_ROWS, &EVENT_COLUMNS)?,
            faulted_event_rows: csv_with_header(dir, names::FAULTED_EVENT_ROWS, &EVENT_COLUMNS)?,
            late_events: csv_with_header(
                dir,
                names::LATE_EVENTS,
                &[&["file", "position"][..], &EVENT_COLUMNS[..]].concat(),
            )?,
            faulted_event_lines: create(&dir.join(names::FAULTED_EVENT_LINES))?,
            duplicates: create(&dir.join(names::DUPLICATES))?,
            qa_report: bytes_with_header(dir, names::QA_REPORT, &QA_COLUMNS)?,
            subscribers: routing
                .map(|r| subscribers::Outputs::open(r, &dir.join(names::SUBSCRIBERS_DIR)))
                .transpose()?,
            export: Export::open(dir, exports)?,
            tag: None,
            secured: None,
            network: network_lists
                .map(|n| NetworkReports::create(dir, n))
                .transpose()?,
        })
    }

    /// The run takes responsibility for the SDRs it bills: each gets `tag`
    /// (unless it carries sdrate's already) and a row in its producer's
    /// purge list under `secured/` (see `write::trace`).
    pub fn responsible(mut self, tag: Tag) -> Result<Self> {
        self.secured = Some(Secured::create(&self.dir, tag.identity(), tag.time())?);
        self.tag = Some(tag);
        Ok(self)
    }
}
