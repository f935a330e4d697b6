//! One module per subcommand; each turns its arguments into work on the
//! library and returns the exit code. [`run`] parses the command line and
//! hands it to the one the user named.

pub mod check;
pub mod completions;
pub mod encode;
pub mod explain;
pub mod generate;
pub mod index;
pub mod inspect;
pub mod man;
pub mod rate;
pub mod recycle;
pub mod rerate;
pub mod spark;
pub mod suspense;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::Command;

/// A buffered writer on a file, or on standard output when `path` is None.
pub(crate) fn output(path: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(BufWriter::with_capacity(
            1 << 16,
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
    })
}

/// Refuses an input named on the command line that is a FIFO or a socket:
/// opening a FIFO waits, forever if nothing ever writes to it, and a run
/// would hang with no word. Such a stream is read through standard input
/// instead (`sdrate inspect - < fifo`), where the shell's open is visible
/// to whoever wrote the command. Regular files, directories and character
/// devices are taken as before.
fn refuse_special_inputs(paths: &[PathBuf]) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    for p in paths {
        if p.as_os_str() == "-" {
            continue;
        }
        // A path that cannot be examined fails later, where it is opened.
        let Ok(meta) = std::fs::metadata(p) else {
            continue;
        };
        let ft = meta.file_type();
        let what = if ft.is_fifo() {
            "a FIFO (named pipe)"
        } else if ft.is_socket() {
            "a socket"
        } else {
            continue;
        };
        anyhow::bail!(
            "{} is {what}, not a file: sdrate does not open it, as that could wait forever; \
             read it through standard input instead (`-` as the input, `< {}`)",
            p.display(),
            p.display()
        );
    }
    Ok(())
}

/// Opens (locks and settles) a state directory that must already exist:
/// managing a mistyped path would create an empty one and report nothing.
pub(crate) fn existing_state(state: &Path) -> Result<sdrate::state::StateDir> {
    if !state.is_dir() {
        return Err(sdrate::error::Failure::Refused(format!(
            "the state directory {} does not exist",
            state.display()
        ))
        .into());
    }
    sdrate::state::StateDir::open(state)
}

/// Parses the command line and runs the command.
pub fn run() -> Result<ExitCode> {
    let cli = match crate::cli::parse_from(std::env::args_os()) {
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
    let verbosity = cli.verbosity;
    crate::log::init(verbosity, cli.log_format);
    let named: &[PathBuf] = match &cli.command {
        Command::Inspect(a) => &a.inputs,
        Command::Encode(a) => &a.inputs,
        Command::Rate(a) => &a.inputs,
        Command::Rerate(a) => &a.inputs,
        Command::Explain(a) => &a.inputs,
        _ => &[],
    };
    refuse_special_inputs(named)?;
    match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Encode(args) => encode::run(&args),
        Command::Generate(args) => generate::run(&args),
        Command::Rate(args) => rate::run(args, verbosity),
        Command::Recycle(args) => recycle::run(args, verbosity),
        Command::Rerate(args) => rerate::run(&args, verbosity),
        Command::Check(args) => check::run(&args, verbosity),
        Command::Suspense(command) => suspense::run(command, verbosity),
        Command::Index(command) => index::run(command, verbosity),
        Command::Spark(command) => spark::run(command),
        Command::Explain(args) => explain::run(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args, verbosity),
    }
}

/// An RFC 3339 time given to `option` (`--pricing-time`, `--as-of`): the
/// commands that take one read it alike.
pub(crate) fn parse_time(option: &str, t: &str) -> Result<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(t).map_err(|e| {
        sdrate::error::Failure::Refused(format!(
            "{option} `{t}`: {e} (give an RFC 3339 time such as 2027-01-01T00:00:00+01:00)"
        ))
        .into()
    })
}
