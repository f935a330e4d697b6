//! The one printer of diagnostics: every line sdrate writes on stderr
//! (warnings, the end-of-run lines, errors, and with `-v` a line per input
//! and per phase from the engine) is a `tracing` event, written here.
//!
//! - `text` (the default): `2026-12-06T17:50:00.123456Z  INFO sdrate: ...`,
//!   one line per event. The time (UTC) and the level are what a scheduler
//!   keeping cron's mail or a journal needs to tell one night from the
//!   next; `sdrate:` keeps the line greppable in a mixed log. Fields beyond
//!   the message follow it as `key=value`.
//! - `json`: one object per line (`timestamp`, `level`, `target`, and the
//!   event's fields at top level, `message` among them), for log shippers
//!   (Vector, Fluent Bit, Loki's promtail) that would otherwise parse text.
//!
//! Levels: `-q` keeps warnings and errors, the default adds the end-of-run
//! lines (info), `-v` the per-input and per-phase lines (debug), `-vv`
//! everything (trace). The library only emits events; which of them are
//! written, and how, is decided here once.

use std::fmt;
use std::io::{self, IsTerminal};

use tracing::level_filters::LevelFilter;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::{LogFormat, Verbosity};

/// The most detailed level written at a verbosity.
pub fn max_level(verbosity: Verbosity) -> LevelFilter {
    match verbosity.level() {
        ..0 => LevelFilter::WARN,
        0 => LevelFilter::INFO,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// Installs the printer for the rest of the process. Called once, as soon
/// as the command line is parsed; a second call (tests of the binary's
/// modules) leaves the first in place.
pub fn init(verbosity: Verbosity, format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_max_level(max_level(verbosity));
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(io::stderr().is_terminal() && crate::ui::color_enabled())
            .event_format(Text)
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}

/// The text line: time, level, `sdrate:`, the message and any fields.
struct Text;

impl<S, N> FormatEvent<S, N> for Text
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        SystemTime.format_time(&mut w)?;
        write!(w, " {:>5} sdrate: ", event.metadata().level())?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verbosity(quiet: bool, verbose: u8) -> Verbosity {
        Verbosity { quiet, verbose }
    }

    #[test]
    fn quiet_keeps_warnings_and_each_v_adds_a_level() {
        assert_eq!(max_level(verbosity(true, 0)), LevelFilter::WARN);
        assert_eq!(max_level(verbosity(false, 0)), LevelFilter::INFO);
        assert_eq!(max_level(verbosity(false, 1)), LevelFilter::DEBUG);
        assert_eq!(max_level(verbosity(false, 2)), LevelFilter::TRACE);
        assert_eq!(max_level(verbosity(false, 9)), LevelFilter::TRACE);
    }
}
