//! Exit codes, one table for every subcommand (also in README.md).
//!
//! | code | meaning |
//! | ---- | ------- |
//! | 0 | success: every record was read (and priced, where that applies) |
//! | 1 | finished, but some records were faulty; they are reported and kept |
//! | 2 | usage error: bad arguments or options |
//! | 3 | bad configuration: price lists or customer data do not load |
//! | 4 | I/O error: an input could not be read or an output written |
//! | 5 | another run holds the state directory's lock; nothing was done |
//! | 6 | finished, but a quality-assurance threshold was exceeded |
//!
//! Configuration that cannot be read at all (a missing customers file or
//! price-list directory, a list that is not UTF-8, a symbolic link loop) is
//! [`Failure::Config`] like configuration that does not parse: 3, not 4.
//! A reader of standard output that goes away ends the command quietly
//! with 0 ([`is_broken_pipe`]).

use std::process::ExitCode;

pub const SUCCESS: u8 = 0;
pub const FAULTS: u8 = 1;
pub const USAGE: u8 = 2;
pub const CONFIG: u8 = 3;
pub const IO: u8 = 4;
pub const LOCKED: u8 = 5;
pub const THRESHOLD: u8 = 6;

/// Every exit code with its meaning, for the man pages' EXIT STATUS.
pub const MEANINGS: [(u8, &str); 7] = [
    (
        SUCCESS,
        "success: every record was read (and priced, where that applies)",
    ),
    (
        FAULTS,
        "finished, but some records were faulty; they are reported and kept for recycling",
    ),
    (
        USAGE,
        "usage error: bad arguments or options, or an output that must not be overwritten",
    ),
    (
        CONFIG,
        "bad configuration: price lists, customer data or the routing file do not load",
    ),
    (
        IO,
        "I/O error: an input could not be read or an output written",
    ),
    (
        LOCKED,
        "another run holds the state directory's lock; nothing was done",
    ),
    (
        THRESHOLD,
        "finished, but a quality-assurance threshold was exceeded",
    ),
];

/// Code for a run that completed, given whether it met faulty records.
pub fn completed(faults: u64) -> ExitCode {
    ExitCode::from(completed_code(faults))
}

/// [`completed`] as a number, for a command that also reports it (the
/// metrics of `rate` and `recycle`).
pub fn completed_code(faults: u64) -> u8 {
    if faults == 0 { SUCCESS } else { FAULTS }
}

pub use sdrate::error::Failure;

/// Whether a command ended because the reader of its output went away
/// (`sdrate inspect big.sdr | head -1`): like other command-line tools,
/// sdrate then stops quietly with success, as the reader asked for no more.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    let pipe = Some(std::io::ErrorKind::BrokenPipe);
    err.chain().any(|e| {
        // serde_json's writer wraps the I/O error and does not give it as
        // its source.
        e.downcast_ref::<std::io::Error>().map(|e| e.kind()) == pipe
            || e.downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                == pipe
    })
}

/// The exit code for an error that ended a command early.
pub fn code_for(err: &anyhow::Error) -> u8 {
    if is_broken_pipe(err) {
        return SUCCESS;
    }
    match err.downcast_ref::<Failure>() {
        Some(Failure::Refused(_)) => USAGE,
        Some(Failure::Config(_)) => CONFIG,
        Some(Failure::Locked(_)) => LOCKED,
        // Never expected: a defect, not an input problem; the code of an
        // error that left nothing behind.
        Some(Failure::Unbalanced(_)) | None => IO,
    }
}
