//! `--metrics FILE`: the outcome of a `rate` or `recycle` run in the
//! Prometheus text exposition format, for node_exporter's textfile
//! collector (`--metrics /var/lib/node_exporter/textfile/sdrate.prom`).
//!
//! Written at the end of every run, whatever its end: a run that failed
//! (bad configuration, a held lock, an I/O error) or exceeded a threshold
//! writes its exit code too, so an alert can fire on the file alone. The
//! exit code is the one the command returns, which is why the file is
//! written here, in the binary, around the command ([`around`]), and not
//! by the library, which returns typed errors and knows no exit codes.
//!
//! The file is replaced whole: written beside it as `FILE.tmpPID` (a name
//! the collector, which reads `*.prom`, ignores), then renamed, so a
//! scrape never sees half a file.
//!
//! Every series carries `command="rate"` or `"recycle"`: the two commands
//! may each keep a file in the collector's directory, and the collector
//! refuses a series that two files both hold.
//!
//! Counts are the last run's (`_total`, counters that start again with
//! every run); amounts are Prometheus floats, for monitoring only: the
//! exact amounts are in summary.json. `sdrate_last_success_timestamp_seconds`
//! is the end of the last run that exited 0 or 1 (published, no threshold
//! exceeded); a run that did not succeed carries the previous file's value
//! over, so "no success for a day" stays an alert on one series.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use rust_decimal::Decimal;
use sdrate::pipeline::Summary;

/// What the command tells the metrics about its run, as it goes.
#[derive(Default)]
pub struct Outcome {
    /// The run's summary, once it has one (none when it failed before, or
    /// found its run already done).
    pub summary: Option<Summary>,
}

/// Runs `body`, the command, and writes its metrics to `dest` (when
/// given) with the exit code it ends with, whether it returned a code or
/// an error. A metrics file that cannot be written at the end is a warning:
/// the run itself is done, and its exit code stays its own.
pub fn around(
    command: &'static str,
    dest: Option<&Path>,
    body: impl FnOnce(&mut Outcome) -> Result<u8>,
) -> Result<ExitCode> {
    let mut outcome = Outcome::default();
    let Some(dest) = dest else {
        return body(&mut outcome).map(ExitCode::from);
    };
    crate::ui::check_writable("--metrics", dest)?;
    let started = Instant::now();
    let result = body(&mut outcome);
    let code = match &result {
        Ok(code) => *code,
        Err(err) => crate::exit::code_for(err),
    };
    let run = Run {
        command,
        summary: outcome.summary.as_ref(),
        exit_code: code,
        duration: started.elapsed().as_secs_f64(),
        ended: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
    };
    let previous = fs::read_to_string(dest).ok();
    let text = render(&run, previous.as_deref());
    if let Err(e) = crate::ui::replace_file(dest, text.as_bytes()) {
        tracing::warn!("metrics not written to {}: {e}", dest.display());
    }
    result.map(ExitCode::from)
}

/// One finished run, as the metrics show it.
struct Run<'a> {
    command: &'static str,
    summary: Option<&'a Summary>,
    exit_code: u8,
    duration: f64,
    /// Seconds since the Unix epoch.
    ended: f64,
}

const LAST_SUCCESS: &str = "sdrate_last_success_timestamp_seconds";

/// The exit codes of a run that succeeded: published, with or without
/// faulty records, and no threshold exceeded.
fn succeeded(code: u8) -> bool {
    code == crate::exit::SUCCESS || code == crate::exit::FAULTS
}

/// The text of the metrics file; `previous` is the file this one
/// replaces, for the last success of a run that did not succeed.
fn render(run: &Run, previous: Option<&str>) -> String {
    let mut w = Writer {
        out: String::new(),
        command: run.command,
    };
    if let Some(s) = run.summary {
        w.family(
            "sdrate_records_total",
            "counter",
            "Records of the last run by outcome.",
        );
        for (outcome, n) in [
            ("priced", s.priced),
            ("price_request", s.price_requests),
            ("not_priced", s.not_priced),
            ("session_event", s.session_events),
            ("faulted", s.faulted),
            ("duplicate", s.duplicates),
        ] {
            w.sample("sdrate_records_total", &[("outcome", outcome)], n);
        }
        w.family(
            "sdrate_faults_total",
            "counter",
            "Faults of the last run by cause (records and event-log rows).",
        );
        for (cause, n) in &s.faults_by_cause {
            w.sample("sdrate_faults_total", &[("cause", &*cause.name())], n);
        }
        let c = &s.sessions;
        w.family(
            "sdrate_sessions_total",
            "counter",
            "Multi-party sessions of the last run by outcome.",
        );
        for (outcome, n) in [
            ("priced", c.sessions_priced),
            ("faulted", c.sessions_faulted),
            ("pending", c.sessions_pending),
            ("duplicate", c.duplicate_sessions),
        ] {
            w.sample("sdrate_sessions_total", &[("outcome", outcome)], n);
        }
        w.family(
            "sdrate_amount",
            "gauge",
            "Total amount priced by the last run per currency (floats, for monitoring: summary.json has the exact amounts).",
        );
        for (currency, (basic, individual)) in amounts(s) {
            w.sample(
                "sdrate_amount",
                &[("currency", &currency), ("kind", "basic")],
                basic,
            );
            w.sample(
                "sdrate_amount",
                &[("currency", &currency), ("kind", "individual")],
                individual,
            );
        }
    }
    w.family(
        "sdrate_run_duration_seconds",
        "gauge",
        "How long the last run took.",
    );
    w.sample("sdrate_run_duration_seconds", &[], run.duration);
    if let Some(s) = run.summary {
        w.family(
            "sdrate_records_per_second",
            "gauge",
            "Records read per second by the last run.",
        );
        let rate = if run.duration > 0.0 {
            s.records_read as f64 / run.duration
        } else {
            0.0
        };
        w.sample("sdrate_records_per_second", &[], rate);
    }
    w.family(
        "sdrate_exit_code",
        "gauge",
        "Exit code of the last run (0 success, 1 faulty records, 2 usage, 3 configuration, 4 I/O, 5 locked, 6 threshold exceeded).",
    );
    w.sample("sdrate_exit_code", &[], run.exit_code);
    w.family(
        "sdrate_last_run_timestamp_seconds",
        "gauge",
        "When the last run ended (Unix time).",
    );
    w.sample("sdrate_last_run_timestamp_seconds", &[], run.ended);
    let last_success = if succeeded(run.exit_code) {
        Some(run.ended.to_string())
    } else {
        previous.and_then(previous_success)
    };
    if let Some(t) = last_success {
        w.family(
            LAST_SUCCESS,
            "gauge",
            "When the last run that exited 0 or 1 ended (Unix time).",
        );
        w.sample(LAST_SUCCESS, &[], t);
    }
    w.out
}

/// The last success a previous metrics file recorded, as it wrote it.
fn previous_success(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(LAST_SUCCESS)?;
        // `{command="..."} VALUE`: the value is the last field.
        let value = rest.rsplit(' ').next()?.trim();
        value.parse::<f64>().ok().map(|_| value.to_owned())
    })
}

/// Basic and individual totals per currency, over every marketing
/// company. A currency whose sum would overflow a decimal is left out (the
/// exact totals per company are in summary.json).
fn amounts(s: &Summary) -> BTreeMap<String, (Decimal, Decimal)> {
    let mut out = BTreeMap::new();
    for (currency, by_company) in &s.totals {
        let sum = by_company
            .values()
            .try_fold((Decimal::ZERO, Decimal::ZERO), |(b, i), m| {
                Some((b.checked_add(m.basic)?, i.checked_add(m.individual)?))
            });
        if let Some(sum) = sum {
            out.insert(currency.clone(), sum);
        }
    }
    out
}

/// Builds the text: HELP and TYPE once per family, then its samples.
struct Writer {
    out: String,
    command: &'static str,
}

impl Writer {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let _ = write!(self.out, "{name}{{command=\"{}\"", self.command);
        for (k, v) in labels {
            let _ = write!(self.out, ",{k}=\"{}\"", escape_label(v));
        }
        let _ = writeln!(self.out, "}} {value}");
    }
}

/// A label value as the exposition format spells it: backslash, double
/// quote and line feed escaped.
fn escape_label(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// HELP text: backslash and line feed escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', r"\\").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: u8) -> Run<'static> {
        Run {
            command: "rate",
            summary: None,
            exit_code: code,
            duration: 1.5,
            ended: 1_800_000_000.25,
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("a\nb"), r"a\nb");
        assert_eq!(escape_help("x\\y\nz"), r"x\\y\nz");
    }

    #[test]
    fn a_failed_run_keeps_the_last_success_it_replaces() {
        let first = render(&run(0), None);
        assert!(
            first.contains(
                "sdrate_last_success_timestamp_seconds{command=\"rate\"} 1800000000.25\n"
            ),
            "{first}"
        );
        let failed = Run {
            ended: 1_900_000_000.0,
            ..run(4)
        };
        let second = render(&failed, Some(&first));
        assert!(
            second.contains("sdrate_exit_code{command=\"rate\"} 4\n"),
            "{second}"
        );
        assert!(
            second.contains(
                "sdrate_last_success_timestamp_seconds{command=\"rate\"} 1800000000.25\n"
            ),
            "{second}"
        );
        assert!(!second.contains("sdrate_records_total"), "{second}");
        // No success ever: no series, rather than a made-up time.
        assert!(!render(&run(6), None).contains(LAST_SUCCESS));
        assert_eq!(previous_success("garbage\n"), None);
    }
}
