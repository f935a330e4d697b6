//! Command-line interface: clap definitions, dispatched to [`crate::cmd`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::cmd;

#[derive(Parser, Debug)]
#[command(
    name = "sdrate",
    version,
    about = "Batch rating engine for telecom Service Detail Records"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print every SDR of the given files as one JSON object per line.
    ///
    /// Faulty records are reported on stderr with file and offset; the
    /// others are still printed. Exit code 1 when any record was faulty.
    Inspect(InspectArgs),
    /// Encode JSON lines (the shape `inspect` prints) into a BER SDR file.
    Encode(EncodeArgs),
    /// Write a deterministic synthetic SDR file for tests and benchmarks.
    Generate(GenerateArgs),
}

#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// SDR files or directories; `-` reads standard input.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct EncodeArgs {
    /// JSON-lines files; `-` (the default) reads standard input.
    #[arg(default_value = "-")]
    pub inputs: Vec<PathBuf>,
    /// Output file; standard output when absent.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Write every constructed element with the indefinite length form.
    #[arg(long)]
    pub indefinite: bool,
}

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Number of SDRs to write.
    #[arg(long, default_value_t = 1000)]
    pub count: u64,
    /// Seed; the same seed and count always give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First time of use (RFC 3339); records spread over the following day.
    #[arg(long, default_value = "2026-11-21T00:00:00+01:00")]
    pub start: String,
    /// Output file; standard output when absent.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Parses the command line and runs the command.
pub fn run() -> Result<ExitCode> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version itself; both are successes.
            let code = if e.use_stderr() {
                crate::exit::USAGE
            } else {
                0
            };
            let _ = e.print();
            return Ok(ExitCode::from(code));
        }
    };
    match cli.command {
        Command::Inspect(args) => cmd::inspect::run(&args),
        Command::Encode(args) => cmd::encode::run(&args),
        Command::Generate(args) => cmd::generate::run(&args),
    }
}
