//! `sdrate generate`: deterministic synthetic input.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::DateTime;

use crate::cli::GenerateArgs;
use sdrate::error::Failure;
use sdrate::generate::Generator;

pub fn run(args: &GenerateArgs) -> Result<ExitCode> {
    let start = DateTime::parse_from_rfc3339(&args.start)
        .map_err(|e| Failure::Refused(format!("--start `{}`: {e}", args.start)))?;
    let mut out = super::output(args.output.as_deref())?;
    let mut buf = Vec::with_capacity(512);
    if args.sessions == Some(0) {
        return Err(Failure::Refused("--sessions must be at least 1".into()).into());
    }
    let generator = Generator::new(args.seed, start.into());
    let records: Box<dyn Iterator<Item = _>> = match args.sessions {
        Some(open) => Box::new(generator.sessions(open)),
        None => Box::new(generator),
    };
    for sdr in records.take(args.count as usize) {
        sdrate::sdr::canonical::to_ber_buf(&sdr, &mut buf)
            .context("cannot encode a generated SDR")?;
        out.write_all(&buf).context("cannot write output")?;
    }
    out.flush().context("cannot write output")?;
    Ok(ExitCode::SUCCESS)
}
