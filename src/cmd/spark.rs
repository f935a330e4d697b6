//! `sdrate spark scan` and `sdrate spark price`: the Arrow exchange with
//! Apache Spark ([`sdrate::pipeline::exchange`]). Standard output carries
//! the Arrow stream and nothing else; what is said goes to the log.

use std::io::{self, BufReader, BufWriter, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{SparkCommand, SparkDuplicates, SparkListArgs, SparkPriceArgs, SparkScanArgs};
use sdrate::error::Failure;
use sdrate::group::duplicates::Window;
use sdrate::pipeline::exchange;
use sdrate::rate::Rater;
use sdrate::sdr::Timestamp;

pub fn run(command: SparkCommand) -> Result<ExitCode> {
    match command {
        SparkCommand::Scan(args) => scan(&args),
        SparkCommand::Price(args) => price(&args),
        SparkCommand::List(args) => list(&args),
    }
}

fn scan(args: &SparkScanArgs) -> Result<ExitCode> {
    let input = BufReader::with_capacity(1 << 16, io::stdin().lock());
    let mut output = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let counts = exchange::scan(input, &mut output, args.reading.max_record())?;
    output.flush().context("cannot write to standard output")?;
    tracing::info!(
        files = counts.files,
        rows = counts.rows,
        "scanned {} file(s): {} row(s)",
        counts.files,
        counts.rows
    );
    Ok(ExitCode::SUCCESS)
}

fn price(args: &SparkPriceArgs) -> Result<ExitCode> {
    if args.threads == Some(0) {
        return Err(Failure::Refused("--threads must be at least 1".into()).into());
    }
    let given = super::parse_time("--pricing-time", &args.pricing_time)?;
    let (lists, customers) =
        sdrate::resolve::load(&args.tariff.price_lists, &args.tariff.customers)?;
    let rater = Rater {
        lists,
        customers,
        // Whole milliseconds, as `rate` writes it.
        pricing_time: Timestamp::for_pricing(Some(given)),
        pricing_identifier: format!("sdrate {}", env!("CARGO_PKG_VERSION")).into(),
        as_of: None,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    // Unlocked handles: the work runs on the pool's threads.
    let window = Window {
        now: given.with_timezone(&chrono::Utc),
        retention: chrono::TimeDelta::days(i64::from(args.window.duplicate_window)),
        future_tolerance: chrono::TimeDelta::hours(i64::from(args.window.future_tolerance)),
    };
    let duplicates = match args.duplicates {
        SparkDuplicates::Stream => exchange::DuplicateCheck::Stream,
        SparkDuplicates::Join => exchange::DuplicateCheck::Join(window),
    };
    // Unlocked handles: the work runs on the pool's threads.
    let input = BufReader::with_capacity(1 << 16, io::stdin());
    let mut output = BufWriter::with_capacity(1 << 16, io::stdout());
    let counts = if args.grouped {
        let opts = exchange::grouped::Options {
            newest_event: args.newest_event,
            window: matches!(args.duplicates, SparkDuplicates::Join).then_some(window),
        };
        pool.install(|| exchange::grouped::price(&rater, input, &mut output, &opts))?
    } else {
        let tag = args
            .system_identity
            .as_deref()
            .map(|id| sdrate::write::trace::Tag::new(id, rater.pricing_time))
            .transpose()?;
        pool.install(|| exchange::price(&rater, input, &mut output, duplicates, tag.as_ref()))?
    };
    output.flush().context("cannot write to standard output")?;
    let rows: u64 = counts.values().sum();
    let by: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    tracing::info!(rows, "priced {rows} row(s): {}", by.join(", "));
    Ok(ExitCode::SUCCESS)
}

fn list(args: &SparkListArgs) -> Result<ExitCode> {
    let inputs = sdrate::read::list_inputs(&args.inputs)?;
    for line in sdrate::read::not_read_warnings(&inputs.not_read) {
        tracing::warn!("{line}");
    }
    let mut out = BufWriter::new(io::stdout().lock());
    for f in &inputs.files {
        let name = f.display().to_string();
        if name.contains('\n') {
            return Err(Failure::Refused(format!(
                "{name:?}: a file name with a line break cannot be listed one per line"
            ))
            .into());
        }
        writeln!(out, "{name}").context("cannot write to standard output")?;
    }
    out.flush().context("cannot write to standard output")?;
    Ok(ExitCode::SUCCESS)
}
