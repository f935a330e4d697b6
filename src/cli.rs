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
    /// Price SDR files and session event logs with the price lists valid at
    /// each time of use.
    ///
    /// Writes into OUT: priced/<input name> (priced SDRs), answers.sdr
    /// (price requests), not-priced.sdr (quality-assurance and service-
    /// management SDRs), participations.sdr and participations.csv (one
    /// priced SDR per participation in a multi-party session), costs.csv,
    /// usage.csv and usage.svg, session-events.sdr and session-events.csv
    /// (session events as they arrived), faults.sdr, faulted-events.csv and
    /// faults.csv (faulty records and rows, kept for recycling),
    /// summary.json. Sessions still open wait in the state directory.
    Rate(RateArgs),
}

#[derive(clap::Args, Debug)]
pub struct RateArgs {
    /// SDR files, session event logs (*.csv, *.jsonl) or directories of
    /// them (*.sdr, *.ber, *.csv, *.jsonl, *.ndjson); `-` is SDRs on stdin.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, env = "SDRATE_OUT")]
    pub out: PathBuf,
    /// State directory, for unattended production runs: sessions still
    /// open wait here for the next run, inputs already rated are skipped,
    /// and a lock keeps two runs apart. Give the same directory to every
    /// nightly run. Without it a run keeps no state and replaces OUT.
    #[arg(long, env = "SDRATE_STATE")]
    pub state: Option<PathBuf>,
    /// Rate inputs again even if a published run already consumed them.
    #[arg(long)]
    pub force: bool,
    /// Run the whole pipeline but write only the reports (summary, fault
    /// report, participation, cost and usage reports) to OUT: no priced
    /// output, no state change.
    #[arg(long)]
    pub dry_run: bool,
    /// Directory of price lists (*.toml, searched recursively).
    #[arg(long, env = "SDRATE_PRICE_LISTS", default_value = "price_lists")]
    pub price_lists: PathBuf,
    /// Customer registry (CSV: customer_id,marketing_company,group).
    #[arg(
        long,
        env = "SDRATE_CUSTOMERS",
        default_value = "price_lists/customers.csv"
    )]
    pub customers: PathBuf,
    /// Worker threads; default all cores. Output is identical at any count.
    #[arg(long, env = "SDRATE_THREADS")]
    pub threads: Option<usize>,
    /// Date and time of pricing written into pricing modules (RFC 3339);
    /// default now. Fix it to make reruns byte-identical.
    #[arg(long, env = "SDRATE_PRICING_TIME")]
    pub pricing_time: Option<String>,
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
    /// Only multi-party session events, from this many sessions open at
    /// once (their events interleaved), instead of the usual mix.
    #[arg(long, value_name = "OPEN")]
    pub sessions: Option<usize>,
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
        Command::Rate(args) => cmd::rate::run(&args),
    }
}
