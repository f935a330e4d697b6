//! `sdrate inspect`: values, not encodings, one JSON object per SDR.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::InspectArgs;
use sdrate::read::{self, Reader};
use sdrate::sdr::ServiceDetailRecord;

#[derive(Serialize)]
struct Line<'a> {
    file: &'a str,
    offset: u64,
    sdr: &'a ServiceDetailRecord,
}

pub fn run(args: &InspectArgs) -> Result<ExitCode> {
    let mut out = super::output(None)?;
    let mut faults = 0u64;
    let inputs = read::list_inputs(&args.inputs)?;
    for w in inputs.warnings() {
        tracing::warn!("{w}");
    }
    for path in inputs.files {
        let mut reader = Reader::open(&path)?.max_record(args.reading.max_record());
        let file = path.display().to_string();
        // Runs of fill bytes: (runs, bytes, where the last ended).
        let mut padding = (0u64, 0u64, None::<u64>);
        loop {
            let block = match reader.next_chunk() {
                Ok(Some(block)) => block,
                Ok(None) => break,
                // A compressed stream that breaks off: a fault, after the
                // records decompressed before it.
                Err(e) => match e.downcast_ref::<read::compressed::Damaged>() {
                    Some(d) => {
                        faults += 1;
                        tracing::warn!("{d}");
                        break;
                    }
                    None => return Err(e),
                },
            };
            for (offset, length) in block.padding() {
                if padding.2 != Some(offset) {
                    padding.0 += 1;
                }
                padding.1 += length;
                padding.2 = Some(offset + length);
            }
            for item in block.records() {
                match item {
                    Ok(rec) => match read::decode(rec.bytes) {
                        Ok(sdr) => {
                            serde_json::to_writer(
                                &mut out,
                                &Line {
                                    file: &file,
                                    offset: rec.offset,
                                    sdr: &sdr,
                                },
                            )
                            .context("cannot write to standard output")?;
                            out.write_all(b"\n")
                                .context("cannot write to standard output")?;
                        }
                        Err(e) => {
                            faults += 1;
                            tracing::warn!(
                                "{file}: offset {}: record of {} bytes cannot be decoded: {e}",
                                rec.offset,
                                rec.bytes.len()
                            );
                        }
                    },
                    Err(broken) => {
                        faults += 1;
                        tracing::warn!(
                            "{file}: offset {}: {} bytes cannot be framed as records: {}; reading goes on after them",
                            broken.offset,
                            broken.bytes.len(),
                            broken.error
                        );
                    }
                }
            }
        }
        if padding.0 > 0 {
            tracing::warn!(
                "{file}: {} bytes of padding (00 or FF) in {} run(s) skipped",
                padding.1,
                padding.0
            );
        }
    }
    out.flush().context("cannot write to standard output")?;
    Ok(crate::exit::completed(faults))
}
