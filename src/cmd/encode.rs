//! `sdrate encode`: JSON lines to BER, so fixtures can be kept as text.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::cli::EncodeArgs;
use crate::read::tlv;
use crate::sdr::ServiceDetailRecord;

/// The shape `inspect` prints; `file` and `offset` are ignored.
#[derive(Deserialize)]
struct Line {
    sdr: ServiceDetailRecord,
}

pub fn run(args: &EncodeArgs) -> Result<ExitCode> {
    let mut out = super::output(args.output.as_deref())?;
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
                    eprintln!("sdrate: {name}: line {}: {e}", n + 1);
                    continue;
                }
            };
            crate::sdr::canonical::to_ber_buf(&sdr, &mut buf)
                .map_err(|e| anyhow::anyhow!("{name}: line {}: cannot encode: {e}", n + 1))?;
            let bytes = if args.indefinite {
                tlv::to_indefinite(&buf)?
            } else {
                std::mem::take(&mut buf)
            };
            out.write_all(&bytes).context("cannot write output")?;
        }
    }
    out.flush().context("cannot write output")?;
    Ok(crate::exit::completed(faults))
}
