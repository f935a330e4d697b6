//! Command-line interface: clap definitions, dispatched to [`crate::cmd`].

use std::path::PathBuf;

use anyhow::Result;
use clap::{ArgAction, ColorChoice, CommandFactory, FromArgMatches, Parser, Subcommand, ValueHint};

/// Where `rate` and `check` look for price lists unless told otherwise.
pub const DEFAULT_PRICE_LISTS: &str = "price_lists";
/// Where `rate` and `check` look for the customer registry unless told
/// otherwise.
pub const DEFAULT_CUSTOMERS: &str = "price_lists/customers.csv";

#[derive(Parser, Debug)]
#[command(
    name = "sdrate",
    version,
    about = "Batch rating engine for telecom Service Detail Records"
)]
pub struct Cli {
    #[command(flatten)]
    pub verbosity: Verbosity,
    /// How diagnostics on stderr are written: `text`, a line with the time
    /// (UTC), the level and the message; or `json`, one object per line for
    /// log shippers.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        env = "SDRATE_LOG_FORMAT",
        help_heading = "Global options"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// How much a command says on stderr: `-q` for nothing but errors, `-v`
/// (repeatable) for more. Global: accepted before or after the subcommand.
#[derive(clap::Args, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verbosity {
    /// Quiet: no progress bar and no end-of-run lines on stderr; errors are
    /// still printed.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub quiet: bool,
    /// Verbose: more detail on stderr; repeat for more (-vv).
    #[arg(
        short,
        long,
        global = true,
        action = ArgAction::Count,
        help_heading = "Global options"
    )]
    pub verbose: u8,
}

impl Verbosity {
    /// -1 with `-q`, 0 by default, the number of `-v` otherwise.
    pub fn level(self) -> i8 {
        if self.quiet {
            -1
        } else {
            i8::try_from(self.verbose).unwrap_or(i8::MAX)
        }
    }

    /// Whether progress and end-of-run lines are to be left out.
    pub fn is_quiet(self) -> bool {
        self.quiet
    }

    /// Whether at least `n` `-v` were given.
    pub fn is_verbose(self, n: u8) -> bool {
        self.level() >= i8::try_from(n).unwrap_or(i8::MAX)
    }
}

/// The format of the lines on stderr (see `crate::log`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
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
    /// (price requests) and answers/<producer>.sdr (the same answers, one
    /// file per producer that asked), not-priced.sdr (quality-assurance and
    /// service-management SDRs) and quality-assurance.csv (what the
    /// quality-assurance SDRs would cost), duplicates.sdr (SDRs already
    /// billed), participations.sdr and participations.csv (one priced SDR
    /// per participation in a multi-party session), costs.csv, usage.csv
    /// and usage.svg, session-events.sdr and session-events.csv (session
    /// events as they arrived), late-events.csv, faults.sdr,
    /// faults-index.csv, broken.dat, broken.csv, faulted-events.csv and
    /// faults.csv (faulty records and rows, kept for recycling),
    /// subscribers/ (with --routing), summary.json and manifest.json
    /// (written last: the run id, every input and list with its hash).
    /// Sessions still open wait in the state directory.
    Rate(RateArgs),
    /// Price already priced SDRs again and report old against new prices.
    ///
    /// With corrected price lists (the lists valid at each time of use), or
    /// with --as-of as a what-if under the lists valid at another time.
    /// INPUT is priced SDR files, directories of them, session event logs,
    /// or the output directory of an earlier run (one holding
    /// manifest.json: its priced/ files, answers.sdr, participations.sdr
    /// and archived session events). The pricing modules on each SDR are
    /// replaced, never added to; multi-party sessions are priced again
    /// from their events. Writes into OUT: priced/<input name> (priced
    /// SDRs), answers.sdr and answers/<producer>.sdr (price requests),
    /// participations.sdr,
    /// participations.csv and costs.csv (sessions priced again),
    /// session-events.sdr and session-events.csv (the events read),
    /// pending-sessions.jsonl (sessions incomplete in the inputs),
    /// faults.sdr, faulted-events.csv and faults.csv (what no longer
    /// prices), skipped.sdr (records rerate does not price:
    /// quality-assurance and service-management SDRs), differences.csv
    /// (one row per record or participation: old and new individual
    /// price), difference-totals.csv, summary.json and manifest.json. OUT
    /// is published atomically; it may replace an earlier rerate output,
    /// never another run's output.
    ///
    /// Re-rating keeps no state: there is no state directory, it is not
    /// caught by the duplicate check, and it neither moves the duplicate
    /// index nor completes or moves pending sessions.
    Rerate(RerateArgs),
    /// Re-feed the suspense area of a state directory: every record and
    /// event-log row that faulted in earlier runs, after the price lists or
    /// customer data were fixed.
    ///
    /// Records that now price are billed (and leave the suspense area);
    /// the rest stay for the next recycle. Publishes OUT like `rate`.
    /// Stretches of input that could not be framed as records are framed
    /// again one by one; with --write-off-broken they leave the suspense
    /// area instead, audited in STATE/written-off.csv.
    Recycle(RecycleArgs),
    /// Look into and manage the suspense area of a state directory.
    ///
    /// `list`: counts by cause and age; `show`: one CSV row per entry;
    /// `write-off`: chosen SDRs leave the suspense area for the audit
    /// (STATE/written-off.csv and .dat), with a reason. Every change is
    /// made under the state lock and logged in STATE/audit.csv.
    #[command(subcommand)]
    Suspense(SuspenseCommand),
    /// Look into and correct the duplicate index of a state directory.
    ///
    /// `runs`: the runs whose SDRs it holds; `why`: which run billed the
    /// SDRs of a file (the duplicates.sdr of a run, say); `undo-run`: take
    /// a published run's SDRs out of it (and its inputs out of the
    /// consumed list) when that run was billed in error, so the corrected
    /// run can bill them. Under the state lock, logged in STATE/audit.csv.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Decode and price for Apache Spark: Arrow IPC streams on stdin and
    /// stdout, as `DataFrame.mapInArrow` exchanges them (docs/spark.md).
    ///
    /// `scan`: a stream of input paths in, one row per record out (where
    /// it lies, its kind, session id, duplicate key, bytes); `price`:
    /// scanned rows in, priced rows out, byte for byte what `rate` writes.
    /// Deterministic: a retried task writes the same bytes.
    #[command(subcommand)]
    Spark(SparkCommand),
    /// Explain how the price of one SDR or one multi-party session was
    /// made, to answer a customer's question.
    ///
    /// With --offset or --sdr-id: the customer, group and marketing company
    /// found, every candidate price list and revision and why it was or was
    /// not chosen, the charges, increments, each rate-period slice, tiers,
    /// algorithms, minimum, discount, rounding and VAT, from the same code
    /// that rates. An SDR that already carries pricing modules (an earlier
    /// run's output) is priced again and the stored price compared with the
    /// new one. With --session: the session's events (event logs and
    /// session-event SDR files) are grouped and priced as `rate` does, and
    /// every participation and cost line is explained. Human text by
    /// default, one JSON object per explanation with --json. Exit code 1
    /// when what is explained does not price (a fault), 2 when nothing
    /// matches.
    Explain(ExplainArgs),
    /// Load and check the price lists and the customer registry without
    /// rating.
    ///
    /// Prints on stdout the lists per service and kind, every revision
    /// with its validity, and the customers per marketing company and
    /// group. Exit code 3 (with file, line and column on stderr) when
    /// anything does not load. Warns on stderr about what would not stop a
    /// run but will fault or never apply: customers whose marketing company
    /// has no base list for a service, group lists whose group no customer
    /// is in, customer lists whose customer is not in the registry.
    Check(CheckArgs),
    /// Print a shell completion script on stdout.
    ///
    /// For example `sdrate completions bash > /etc/bash_completion.d/sdrate`
    /// or `sdrate completions zsh > "${fpath[1]}/_sdrate"`.
    Completions(CompletionsArgs),
    /// Write man pages: sdrate.1 and one per subcommand (sdrate-rate.1...).
    Man(ManArgs),
}

#[derive(clap::Args, Debug)]
pub struct RateArgs {
    /// SDR files, session event logs (*.csv, *.jsonl) or directories of
    /// them (*.sdr, *.ber, *.csv, *.jsonl, *.ndjson); `-` is SDRs on stdin.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, env = "SDRATE_OUT", value_hint = ValueHint::DirPath)]
    pub out: PathBuf,
    /// State directory, for unattended production runs: sessions still
    /// open wait here for the next run, inputs already rated are skipped,
    /// and a lock keeps two runs apart. Give the same directory to every
    /// nightly run. Without it a run keeps no state and replaces OUT if OUT
    /// holds an earlier output (never a directory that is not one).
    #[arg(long, env = "SDRATE_STATE", value_hint = ValueHint::DirPath)]
    pub state: Option<PathBuf>,
    /// Rate inputs again even if a published run already consumed them.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// How records are priced: shared by `rate`, `recycle` and `rerate`.
#[derive(clap::Args, Debug, Clone)]
pub struct EngineArgs {
    #[command(flatten)]
    pub tariff: TariffArgs,
    /// Worker threads; default all cores. Output is identical at any count.
    #[arg(long, env = "SDRATE_THREADS")]
    pub threads: Option<usize>,
    /// Date and time of pricing written into pricing modules (RFC 3339);
    /// default now. Fix it to make reruns byte-identical.
    #[arg(long, env = "SDRATE_PRICING_TIME")]
    pub pricing_time: Option<String>,
    /// This pricing system's identity in the SDRs' responsibility trace:
    /// every SDR the run bills carries a tag of ID and the pricing time
    /// (one, however often it is priced), and `rate` and `recycle` write
    /// OUT/secured/<producer>.csv, the SDRs each producer may purge. Set it
    /// in production; without it nothing is tagged (docs/operations.md).
    #[arg(long, env = "SDRATE_SYSTEM_IDENTITY", value_name = "ID",
          value_parser = parse_system_identity)]
    pub system_identity: Option<String>,
    #[command(flatten)]
    pub reading: ReadingArgs,
}

/// `--system-identity`: a name, refused here (exit 2) when it cannot be
/// one.
fn parse_system_identity(s: &str) -> Result<String, String> {
    sdrate::write::trace::check_identity(s)
        .map(|()| s.to_owned())
        .map_err(|e| e.to_string())
}

/// How a billing run decides and what it publishes besides OUT: shared by
/// `rate` and `recycle`, so a recycle is a full billing run (its SDRs
/// reach the subscribers, its thresholds page on-call).
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Run the whole pipeline but write only the reports (summary, fault
    /// report, participation, cost and usage reports) to OUT: no priced
    /// output, no state change.
    #[arg(long)]
    pub dry_run: bool,
    /// Also write the run summary (the content of OUT/summary.json) to
    /// PATH, or to stdout with `-`, for a scheduler to pick up.
    #[arg(long, env = "SDRATE_SUMMARY_JSON", value_name = "PATH|-", value_hint = ValueHint::FilePath)]
    pub summary_json: Option<String>,
    /// Also write the run's metrics in the Prometheus text format to FILE,
    /// replaced whole at the end of every run (failed ones too, with their
    /// exit code): for node_exporter's textfile collector, say
    /// /var/lib/node_exporter/textfile/sdrate.prom.
    #[arg(long, env = "SDRATE_METRICS", value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub metrics: Option<PathBuf>,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Quality-assurance threshold: exit 6 when more records or event rows
    /// than this fault.
    #[arg(long, value_name = "N")]
    pub max_faults: Option<u64>,
    /// Quality-assurance threshold: exit 6 when faults exceed this share
    /// (percent) of records and event-log rows read.
    #[arg(long, value_name = "PERCENT")]
    pub max_fault_share: Option<rust_decimal::Decimal>,
    /// A previous run's output to compare totals with: writes
    /// difference-totals.csv (per currency and marketing company).
    #[arg(long, env = "SDRATE_PREVIOUS", value_hint = ValueHint::DirPath)]
    pub previous: Option<PathBuf>,
    /// Quality-assurance threshold (needs --previous): exit 6 when the
    /// total of any currency moves by more than this percentage.
    #[arg(long, value_name = "PERCENT", requires = "previous")]
    pub max_total_change: Option<rust_decimal::Decimal>,
    /// Routing file of subscribers (TOML, see docs/subscribers.md): each
    /// priced SDR also goes to every matching subscriber's output.
    #[arg(long, env = "SDRATE_ROUTING", value_hint = ValueHint::FilePath)]
    pub routing: Option<PathBuf>,
    /// Also write the priced records for analytics to OUT: one row per
    /// priced usage module (priced-usage.parquet|jsonl) and per priced
    /// participation (participations.parquet|jsonl), listed in the
    /// manifest.
    /// Repeat it or give a comma list.
    #[arg(
        long,
        env = "SDRATE_EXPORT",
        value_enum,
        value_delimiter = ',',
        value_name = "FORMAT"
    )]
    pub export: Vec<ExportFormat>,
    /// Network cost lists per network provider and type of network, and
    /// production terms per marketing company (docs/network-costs.md):
    /// writes network-cost-lines.csv, network-costs.csv,
    /// production-costs.csv and margins.csv, and a network_costs block in
    /// the summary. Without it there is no network costing.
    #[arg(long, env = "SDRATE_NETWORK_COSTS", value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub network_costs: Option<PathBuf>,
}

/// The duplicate index's window around the run's clock: shared by the
/// billing runs and `index why`, which must answer as the night did.
#[derive(clap::Args, Debug, Clone)]
pub struct WindowArgs {
    /// How far back (whole days, from the pricing time) the state
    /// directory remembers billed SDRs to refuse duplicates; an SDR older
    /// than that is a fault, never billed unchecked.
    #[arg(
        long,
        env = "SDRATE_DUPLICATE_WINDOW",
        default_value_t = sdrate::group::duplicates::DEFAULT_WINDOW_DAYS,
        value_name = "DAYS"
    )]
    pub duplicate_window: u32,
    /// How far (hours) a time of origin may lie after the pricing time: a
    /// later SDR is a futureTimeOfOrigin fault (a producer's bad clock),
    /// kept for recycling, never billed and never entered in the duplicate
    /// index.
    #[arg(
        long,
        env = "SDRATE_FUTURE_TOLERANCE",
        default_value_t = sdrate::group::duplicates::DEFAULT_FUTURE_TOLERANCE_HOURS,
        value_name = "HOURS"
    )]
    pub future_tolerance: u32,
}

/// A format of `--export`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// JSON lines: one object a line, money as exact decimal strings.
    Jsonl,
    /// Apache Parquet: typed columns, money as DECIMAL(38, 18).
    Parquet,
}

impl RunArgs {
    /// The formats of `--export`, each once, in a fixed order.
    pub fn export_formats(&self) -> Vec<sdrate::write::export::Format> {
        use sdrate::write::export::Format;
        let mut v: Vec<Format> = self
            .export
            .iter()
            .map(|f| match f {
                ExportFormat::Jsonl => Format::Jsonl,
                ExportFormat::Parquet => Format::Parquet,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Where prices come from: shared by every command that prices.
#[derive(clap::Args, Debug, Clone)]
pub struct TariffArgs {
    /// Directory of price lists (*.toml, searched recursively).
    #[arg(long, env = "SDRATE_PRICE_LISTS", default_value = DEFAULT_PRICE_LISTS, value_hint = ValueHint::DirPath)]
    pub price_lists: PathBuf,
    /// Customer registry (CSV: customer_id,marketing_company,group,
    /// optionally valid_from,valid_to).
    #[arg(long, env = "SDRATE_CUSTOMERS", default_value = DEFAULT_CUSTOMERS, value_hint = ValueHint::FilePath)]
    pub customers: PathBuf,
}

/// How inputs are framed: shared by every command that reads SDR files.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct ReadingArgs {
    /// The longest record read, in bytes: a longer one is a fault (with
    /// its offset), kept in broken.dat. Memory is bounded by the block size
    /// (512 KiB) plus twice this, whatever the input holds.
    #[arg(long, env = "SDRATE_MAX_RECORD_BYTES", value_name = "BYTES",
          default_value_t = sdrate::read::MAX_RECORD_BYTES as u64,
          value_parser = clap::value_parser!(u64).range(1024..=1 << 30))]
    pub max_record_bytes: u64,
}

impl ReadingArgs {
    pub fn max_record(&self) -> usize {
        self.max_record_bytes as usize
    }
}

#[derive(clap::Args, Debug)]
pub struct RecycleArgs {
    /// The state directory whose suspense area is re-fed.
    #[arg(long, env = "SDRATE_STATE", value_hint = ValueHint::DirPath)]
    pub state: PathBuf,
    /// Output directory.
    #[arg(long, env = "SDRATE_OUT", value_hint = ValueHint::DirPath,
          required_unless_present = "write_off_broken")]
    pub out: Option<PathBuf>,
    /// Instead of a run: write off every stretch of input in the suspense
    /// area that cannot be framed as records, for REASON. They leave the
    /// suspense area; STATE/written-off.csv records when, why, where each
    /// came from, and STATE/written-off.dat keeps the bytes.
    #[arg(long, value_name = "REASON", conflicts_with_all = ["out", "dry_run", "summary_json", "cause"])]
    pub write_off_broken: Option<String>,
    /// Recycle only the suspense entries of this cause (as `sdrate
    /// suspense list` shows it; `eventRow` for event-log rows); repeat or
    /// separate with commas. The rest stays in suspense as it was.
    #[arg(long, value_name = "CAUSE", value_delimiter = ',')]
    pub cause: Vec<String>,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum SparkCommand {
    /// Read an Arrow IPC stream with a `path` column (one input file a
    /// row: SDR files, .gz/.zst too, and session event logs) on stdin;
    /// write one row per record on stdout (source_file, offset,
    /// record_kind, session_id, sequence_number, duplicate_key,
    /// time_of_origin, raw).
    Scan(SparkScanArgs),
    /// Read scanned rows (an Arrow IPC stream as `spark scan` writes) on
    /// stdin; write one priced row per row on stdout (source_file, offset,
    /// outcome, priced, fault_cause, fault_detail). Session events pass
    /// through unpriced.
    Price(SparkPriceArgs),
    /// Print the input files that `rate` would read for these paths, one
    /// per line in `rate`'s order (directories expanded, sorted): the
    /// order in which a cluster decides which copy of an SDR comes first.
    List(SparkListArgs),
}

#[derive(clap::Args, Debug)]
pub struct SparkListArgs {
    /// SDR files, event logs and directories of them, as given to `rate`.
    #[arg(required = true, value_hint = ValueHint::AnyPath)]
    pub inputs: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct SparkScanArgs {
    #[command(flatten)]
    pub reading: ReadingArgs,
}

#[derive(clap::Args, Debug)]
pub struct SparkPriceArgs {
    /// Date and time of pricing written into pricing modules (RFC 3339).
    /// Required: a retried task must write the same bytes, so the clock
    /// is never read.
    #[arg(long, env = "SDRATE_PRICING_TIME")]
    pub pricing_time: String,
    #[command(flatten)]
    pub tariff: TariffArgs,
    /// Worker threads; default all cores. Output is identical at any count.
    #[arg(long, env = "SDRATE_THREADS")]
    pub threads: Option<usize>,
    /// Where copies of an SDR billed before are found: `stream` (within
    /// this stream, as `rate` without a state directory) or `join` (by
    /// the cluster, joining `duplicate_key` with the keys billed on
    /// earlier nights; here only the window is checked, row by row, as
    /// `rate --state` checks it).
    #[arg(long, value_enum, default_value_t = SparkDuplicates::Stream)]
    pub duplicates: SparkDuplicates,
    /// Price multi-party sessions: the input is session rows (sessionEvent
    /// and eventRow, and the pending rows of the night before) gathered by
    /// session_id, each session's rows together in arrival order; the
    /// output is the session schema (participations, faults, pending
    /// events...; docs/spark.md).
    #[arg(long)]
    pub grouped: bool,
    /// With --grouped: the newest event time of the whole night (UTC
    /// seconds, the maximum of `event_seconds`), the clock that ages open
    /// sessions as one machine's run ages them. Default: each session's
    /// own newest event.
    #[arg(long, requires = "grouped", value_name = "SECONDS")]
    pub newest_event: Option<i64>,
    /// This pricing system's identity in the responsibility trace of every
    /// SDR priced (as `rate --system-identity` tags them; the purge lists
    /// are the cluster's to write from the priced rows).
    #[arg(long, env = "SDRATE_SYSTEM_IDENTITY", value_name = "ID",
          value_parser = parse_system_identity)]
    pub system_identity: Option<String>,
    #[command(flatten)]
    pub window: WindowArgs,
}

/// Where `spark price` finds copies of SDRs billed before.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SparkDuplicates {
    /// Within the stream: the first copy is priced, later ones duplicate.
    Stream,
    /// By the cluster's join against billed keys; the window checked here.
    Join,
}

#[derive(Subcommand, Debug)]
pub enum SuspenseCommand {
    /// Counts of the suspense area by cause and age (days from the time
    /// of use to now).
    List(SuspenseListArgs),
    /// One CSV row per suspense entry (kind, input file, offset, cause,
    /// SDR identifier, producer, time of use, age in days), filtered.
    Show(SuspenseShowArgs),
    /// Write off the chosen SDRs and broken stretches: they leave the
    /// suspense area into STATE/written-off.csv (one audit row each) and
    /// STATE/written-off.dat (the bytes). The counts before, written off
    /// and after must balance or nothing changes.
    WriteOff(SuspenseWriteOffArgs),
}

#[derive(clap::Args, Debug)]
pub struct SuspenseListArgs {
    #[arg(long, env = "SDRATE_STATE", value_hint = ValueHint::DirPath)]
    pub state: PathBuf,
    /// The clock ages are counted to (RFC 3339); default now.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

/// Which suspense entries: every criterion given must hold.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SuspenseFilterArgs {
    /// Only entries of this cause (as `suspense list` shows it:
    /// unableToLocateServiceUser, tooOldForDuplicateCheck, brokenFraming,
    /// eventRow...); repeat or separate with commas.
    #[arg(long, value_name = "CAUSE", value_delimiter = ',')]
    pub cause: Vec<String>,
    /// Only entries whose time of use is at least DAYS old.
    #[arg(long, value_name = "DAYS")]
    pub older_than: Option<i64>,
    /// Only this entry, by input file and offset as `suspense show` and
    /// faults.csv name it (FILE:OFFSET); repeatable.
    #[arg(long, value_name = "FILE:OFFSET")]
    pub entry: Vec<String>,
}

#[derive(clap::Args, Debug)]
pub struct SuspenseShowArgs {
    #[arg(long, env = "SDRATE_STATE", value_hint = ValueHint::DirPath)]
    pub state: PathBuf,
    #[command(flatten)]
    pub filter: SuspenseFilterArgs,
    /// The clock ages are counted to (RFC 3339); default now.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct SuspenseWriteOffArgs {
    #[arg(long, env = "SDRATE_STATE", value_hint = ValueHint::DirPath)]
    pub state: PathBuf,
    /// Why: kept in every audit row.
    #[arg(long, required = true)]
    pub reason: String,
    #[command(flatten)]
    pub filter: SuspenseFilterArgs,
    /// The clock ages are counted to (RFC 3339); default now.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum IndexCommand {
    /// The runs whose SDRs the duplicate index holds: SDRs, first and last
    /// day of origin, and whether the run is the last (pending) one.
    Runs(IndexRunsArgs),
    /// For each SDR of FILE...: whether the duplicate index holds it, and
    /// which run billed it (CSV on stdout).
    Why(IndexWhyArgs),
    /// Take a run's SDRs out of the duplicate index and its inputs out of
    /// the consumed list, when that run was billed in error.
    UndoRun(IndexUndoArgs),
}

#[derive(clap::Args, Debug)]
pub struct IndexRunsArgs {
    #[arg(long, env = "SDRATE_STATE", value_hint = ValueHint::DirPath)]
    pub state: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct IndexWhyArgs {
    /// SDR files (a run's duplicates.sdr, an input).
    #[arg(required = true, value_hint = ValueHint::FilePath)]
    pub inputs: Vec<PathBuf>,
    #[arg(long, env = "SDRATE_STATE", value_hint = ValueHint::DirPath)]
    pub state: PathBuf,
    /// The run's clock the window counts from (RFC 3339); default now.
    #[arg(long, env = "SDRATE_PRICING_TIME")]
    pub pricing_time: Option<String>,
    #[command(flatten)]
    pub window: WindowArgs,
}

#[derive(clap::Args, Debug)]
pub struct IndexUndoArgs {
    /// The run id (manifest.json's run_id; `sdrate index runs` lists them).
    pub run_id: String,
    #[arg(long, env = "SDRATE_STATE", value_hint = ValueHint::DirPath)]
    pub state: PathBuf,
    /// Why: kept in the audit row.
    #[arg(long, required = true)]
    pub reason: String,
}

#[derive(clap::Args, Debug)]
pub struct RerateArgs {
    /// Priced SDR files, directories of them (*.sdr, *.ber), session event
    /// logs (*.csv, *.jsonl), or output directories of earlier runs (their
    /// priced/ files, answers.sdr, participations and session events).
    #[arg(required = true, value_hint = ValueHint::AnyPath)]
    pub inputs: Vec<PathBuf>,
    /// Output directory. An existing one is replaced only if it holds an
    /// earlier rerate output.
    #[arg(long, env = "SDRATE_RERATE_OUT", value_hint = ValueHint::DirPath)]
    pub out: PathBuf,
    /// What-if: choose every price list as valid at this time (RFC 3339)
    /// instead of at each usage's time of use. Rate periods (peak,
    /// off-peak, holidays) still follow the time of use. No environment
    /// variable on purpose: a what-if is always asked for explicitly.
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(clap::Args, Debug)]
#[command(group(
    clap::ArgGroup::new("what")
        .required(true)
        .args(["offset", "sdr_id", "session"])
))]
pub struct ExplainArgs {
    /// SDR files, priced or not (with --session also event logs: *.csv,
    /// *.jsonl, *.ndjson), or directories of them.
    #[arg(required = true, value_hint = ValueHint::AnyPath)]
    pub inputs: Vec<PathBuf>,
    /// Explain the SDR that starts at this byte offset (as `inspect`,
    /// faults.csv and differences.csv give it); one input file only.
    #[arg(long, value_name = "N")]
    pub offset: Option<u64>,
    /// Explain the SDRs with this SDR identifier (every one, when several
    /// producers used it and --producer is not given).
    #[arg(long, value_name = "ID")]
    pub sdr_id: Option<u32>,
    /// With --sdr-id: only the SDR of this producer.
    #[arg(long, requires = "sdr_id")]
    pub producer: Option<String>,
    /// Explain this multi-party session, from its events in the inputs.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// One JSON object per explanation (a line each) instead of text.
    #[arg(long)]
    pub json: bool,
    /// What-if: choose price lists as valid at this time (RFC 3339), as
    /// `rerate --as-of` does; rate periods still follow the time of use.
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub tariff: TariffArgs,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub tariff: TariffArgs,
    /// Also load and check the network cost lists and production terms of
    /// DIR (docs/network-costs.md), and list them.
    #[arg(long, env = "SDRATE_NETWORK_COSTS", value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub network_costs: Option<PathBuf>,
    /// Treat warnings as errors: exit code 3 when there is any.
    #[arg(long)]
    pub strict: bool,
}

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// Directory to write the pages into (created if missing).
    #[arg(short, long, env = "SDRATE_MAN_DIR", default_value = ".", value_hint = ValueHint::DirPath)]
    pub output: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// SDR files or directories; `-` reads standard input.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub reading: ReadingArgs,
}

#[derive(clap::Args, Debug)]
pub struct EncodeArgs {
    /// JSON-lines files; `-` (the default) reads standard input.
    #[arg(default_value = "-")]
    pub inputs: Vec<PathBuf>,
    /// Output file; standard output when absent.
    #[arg(short, long, env = "SDRATE_ENCODE_OUTPUT", value_hint = ValueHint::FilePath)]
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
    #[arg(short, long, env = "SDRATE_GENERATE_OUTPUT", value_hint = ValueHint::FilePath)]
    pub output: Option<PathBuf>,
}

/// The clap command of [`Cli`], without colour when `NO_COLOR` is set
/// (see [`crate::ui::color_enabled`]).
pub fn command() -> clap::Command {
    let cmd = Cli::command();
    if crate::ui::color_enabled() {
        cmd
    } else {
        cmd.color(ColorChoice::Never)
    }
}

/// Parses a command line (program name first).
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut cmd = command();
    let matches = cmd.try_get_matches_from_mut(args)?;
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))?;
    // clap checks `conflicts_with` only among arguments given at the same
    // level; `sdrate -q rate -v` gives them at two.
    if cli.verbosity.quiet && cli.verbosity.verbose > 0 {
        return Err(cmd.error(
            clap::error::ErrorKind::ArgumentConflict,
            "--quiet and --verbose cannot be used together",
        ));
    }
    Ok(cli)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn verbosity_is_global_and_counted() {
        let cli = parse_from(["sdrate", "check", "-vv"]).unwrap();
        assert_eq!(cli.verbosity.level(), 2);
        let cli = parse_from(["sdrate", "-vv", "check"]).unwrap();
        assert_eq!(cli.verbosity.level(), 2);
        let cli = parse_from(["sdrate", "-q", "check"]).unwrap();
        assert!(cli.verbosity.is_quiet());
        assert_eq!(cli.verbosity.level(), -1);
        for args in [
            ["sdrate", "-q", "check", "-v"],
            ["sdrate", "check", "-q", "-v"],
        ] {
            let e = parse_from(args).map(|_| ()).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        }
        // Copied onto the rate arguments for cmd::rate.
        let cli = parse_from(["sdrate", "rate", "x.sdr", "--out", "o", "-q"]).unwrap();
        assert!(cli.verbosity.is_quiet());
    }
}
