//! One module per subcommand; each turns its arguments into work on the
//! library and returns the exit code.

pub mod check;
pub mod completions;
pub mod encode;
pub mod explain;
pub mod generate;
pub mod inspect;
pub mod man;
pub mod rate;
pub mod rerate;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

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
