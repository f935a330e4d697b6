//! What an operator sees on the terminal: colour, the progress bar, and
//! where the run summary goes. Shared by the subcommands and the pipeline.

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

/// Whether colour may be used: not when `NO_COLOR` is set to a non-empty
/// value (<https://no-color.org>). Whether the stream is a terminal is the
/// caller's (or clap's, or indicatif's) business.
pub fn color_enabled() -> bool {
    color_enabled_for(std::env::var_os("NO_COLOR").as_deref())
}

fn color_enabled_for(no_color: Option<&std::ffi::OsStr>) -> bool {
    no_color.is_none_or(|v| v.is_empty())
}

/// The progress bar of a run over `total` input bytes, drawn on stderr.
/// Hidden (every call on it does nothing) with `-q` or when stderr is not a
/// terminal, so logs from cron stay clean; without colour when `NO_COLOR`
/// is set.
/// The progress bar of a run, drawn on a terminal unless quiet.
pub struct Bar(ProgressBar);

impl Bar {
    /// Hidden with `-q`, and with `-v`, whose lines during the run would
    /// be drawn over by the bar.
    pub fn new(quiet: bool) -> Self {
        let verbose = tracing::level_filters::LevelFilter::current()
            >= tracing::level_filters::LevelFilter::DEBUG;
        Bar(progress_bar(0, quiet || verbose))
    }
}

impl sdrate::pipeline::Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn inc(&self, bytes: u64) {
        self.0.inc(bytes);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

pub fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(progress_style(color_enabled()));
    bar
}

fn progress_template(color: bool) -> &'static str {
    if color {
        "{elapsed_precise:.dim} [{wide_bar:.cyan/blue}] {bytes}/{total_bytes} {bytes_per_sec:.dim} eta {eta}"
    } else {
        "{elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    }
}

fn progress_style(color: bool) -> ProgressStyle {
    ProgressStyle::with_template(progress_template(color))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Checks, before a run starts, that `--summary-json` can be written where
/// [`write_summary_json`] will write it: found only after publishing, a bad
/// path failed a run whose rerun is a no-op, so the scheduler never got
/// its summary.
pub fn check_summary_json(dest: &str) -> Result<()> {
    if dest == "-" {
        return Ok(());
    }
    check_writable("--summary-json", Path::new(dest))
}

/// Checks, before a run starts, that [`replace_file`] can write `path`
/// (the file given to `option`): refused (exit 2) when it cannot.
pub fn check_writable(option: &str, path: &Path) -> Result<()> {
    let refuse = |why: String| -> Result<()> {
        Err(sdrate::error::Failure::Refused(format!("{option} {}: {why}", path.display())).into())
    };
    if path.is_dir() {
        return refuse("is a directory".into());
    }
    let tmp = tmp_path(path);
    match fs::File::create(&tmp) {
        Ok(_) => {
            let _ = fs::remove_file(&tmp);
            Ok(())
        }
        Err(e) => refuse(format!("cannot be written ({e})")),
    }
}

/// The file `path` is written to before it is renamed into place: beside
/// it (a rename never crosses file systems), under a name no reader of
/// `*.json` or `*.prom` takes.
fn tmp_path(path: &Path) -> std::path::PathBuf {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    tmp.into()
}

/// Replaces `path` whole with `bytes`: written beside it, then renamed,
/// so a reader polling for it never reads half a file.
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = &tmp_path(path);
    fs::write(tmp, bytes)
        .and_then(|()| fs::rename(tmp, path))
        .inspect_err(|_| {
            let _ = fs::remove_file(tmp);
        })
}

/// Writes the run summary for `--summary-json`: to stdout for `-`, else to
/// the file `dest`, replaced whole ([`replace_file`]).
pub fn write_summary_json(dest: &str, json: &[u8]) -> Result<()> {
    if dest == "-" {
        let mut out = io::stdout().lock();
        out.write_all(json)
            .and_then(|()| out.flush())
            .context("cannot write the summary to standard output")?;
        return Ok(());
    }
    replace_file(Path::new(dest), json).with_context(|| format!("cannot write summary {dest}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn no_color_means_any_non_empty_value() {
        assert!(color_enabled_for(None));
        assert!(color_enabled_for(Some(OsStr::new(""))));
        assert!(!color_enabled_for(Some(OsStr::new("1"))));
        assert!(!color_enabled_for(Some(OsStr::new("false"))));
    }

    #[test]
    fn progress_templates_parse_and_only_one_has_colour() {
        for color in [true, false] {
            assert!(ProgressStyle::with_template(progress_template(color)).is_ok());
        }
        assert!(progress_template(true).contains(".cyan"));
        assert!(!progress_template(false).contains(":."));
    }

    #[test]
    fn quiet_bar_is_hidden() {
        assert!(progress_bar(100, true).is_hidden());
    }

    #[test]
    fn summary_to_a_file_replaces_it_whole() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("summary.json");
        fs::write(&dest, "old").unwrap();
        write_summary_json(dest.to_str().unwrap(), b"{\"priced\":1}\n").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"{\"priced\":1}\n");
        assert_eq!(
            fs::read_dir(t.path()).unwrap().count(),
            1,
            "no temp file left"
        );
        let missing = t.path().join("no/such/dir/summary.json");
        let err = write_summary_json(missing.to_str().unwrap(), b"{}").unwrap_err();
        assert!(format!("{err:#}").contains("no/such/dir"), "{err:#}");
    }
}
