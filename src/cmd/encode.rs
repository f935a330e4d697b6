//! `sdrate encode`: JSON lines to BER, so fixtures can be kept as text.
//!
//! Every record written is first decoded back with sdrate's own reader: a
//! line whose record would not read back (say, an `unknownItems` entry that
//! is not a whole TLV) is a fault of that line and is not written, since
//! `inspect` and `rate` would reject the file. An output file is written
//! beside its destination and renamed into place only when the encode
//! finishes, so a failed encode leaves nothing (not an empty file) and an
//! earlier file of that name stays as it was.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::cli::EncodeArgs;
use sdrate::read::tlv;
use sdrate::sdr::ServiceDetailRecord;

/// The shape `inspect` prints; `file` and `offset` are ignored.
#[derive(Deserialize)]
struct Line {
    sdr: ServiceDetailRecord,
}

/// Where the records go: standard output, or a temporary file beside the
/// destination that [`Output::finish`] renames into place.
enum Output {
    Stdout(BufWriter<io::StdoutLock<'static>>),
    File {
        tmp: BufWriter<tempfile::NamedTempFile>,
        dest: std::path::PathBuf,
    },
}

impl Output {
    fn open(path: Option<&Path>) -> Result<Self> {
        let Some(dest) = path else {
            return Ok(Output::Stdout(BufWriter::with_capacity(
                1 << 16,
                io::stdout().lock(),
            )));
        };
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".sdrate-encode")
            .tempfile_in(dir)
            .with_context(|| format!("cannot create {}", dest.display()))?;
        Ok(Output::File {
            tmp: BufWriter::with_capacity(1 << 16, tmp),
            dest: dest.to_path_buf(),
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::File { tmp, .. } => tmp,
        }
    }

    /// Flushes, and publishes the file whole (dropping an unfinished
    /// [`Output`] removes its temporary file).
    fn finish(self) -> Result<()> {
        match self {
            Output::Stdout(mut w) => w.flush().context("cannot write output"),
            Output::File { tmp, dest } => {
                let tmp = tmp
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("cannot write {}", dest.display()))?;
                tmp.persist(&dest)
                    .map_err(|e| e.error)
                    .with_context(|| format!("cannot write {}", dest.display()))?;
                Ok(())
            }
        }
    }
}

pub fn run(args: &EncodeArgs) -> Result<ExitCode> {
    let mut out = Output::open(args.output.as_deref())?;
    let mut faults = 0u64;
    let mut buf = Vec::new();
    for path in &args.inputs {
        let name = path.display().to_string();
        let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(io::stdin().lock())
        } else {
            Box::new(BufReader::new(
                File::open(path).with_context(|| format!("cannot open {name}"))?,
            ))
        };
        for (n, line) in reader.lines().enumerate() {
            let line = line.with_context(|| format!("cannot read {name}"))?;
            if line.trim().is_empty() {
                continue;
            }
            let sdr = match serde_json::from_str::<Line>(&line) {
                Ok(l) => l.sdr,
                Err(e) => {
                    faults += 1;
                    tracing::warn!("{name}: line {}: {e}", n + 1);
                    continue;
                }
            };
            sdrate::sdr::canonical::to_ber_buf(&sdr, &mut buf)
                .map_err(|e| anyhow::anyhow!("{name}: line {}: cannot encode: {e}", n + 1))?;
            if let Err(e) = sdrate::read::decode(&buf) {
                faults += 1;
                tracing::warn!(
                    "{name}: line {}: the encoded record would not read back ({e}); not written",
                    n + 1
                );
                buf.clear();
                continue;
            }
            let bytes = if args.indefinite {
                tlv::to_indefinite(&buf)?
            } else {
                std::mem::take(&mut buf)
            };
            out.writer()
                .write_all(&bytes)
                .context("cannot write output")?;
        }
    }
    out.finish()?;
    Ok(crate::exit::completed(faults))
}
