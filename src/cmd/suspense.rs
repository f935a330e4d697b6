//! `sdrate suspense list|show|write-off`: the suspense area by cause and
//! age, and write-offs (see `sdrate::state::suspense`).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::cli::{SuspenseCommand, SuspenseFilterArgs, Verbosity};
use sdrate::error::Failure;
use sdrate::state::suspense::{self, AGE_BUCKETS, Filter, age_bucket};

pub fn run(command: SuspenseCommand, verbosity: Verbosity) -> Result<ExitCode> {
    match command {
        SuspenseCommand::List(a) => list(&a.state, now(a.now.as_deref())?),
        SuspenseCommand::Show(a) => show(&a.state, filter(&a.filter, now(a.now.as_deref())?)?),
        SuspenseCommand::WriteOff(a) => {
            let f = filter(&a.filter, now(a.now.as_deref())?)?;
            write_off(&a.state, &f, &a.reason, verbosity)
        }
    }
}

/// The clock ages count to.
fn now(given: Option<&str>) -> Result<DateTime<Utc>> {
    Ok(match given {
        Some(t) => super::parse_time("--now", t)?.to_utc(),
        None => Utc::now(),
    })
}

/// The filter the arguments describe.
pub(crate) fn filter(a: &SuspenseFilterArgs, now: DateTime<Utc>) -> Result<Filter> {
    let mut entries = Vec::new();
    for e in &a.entry {
        let parsed = e
            .rsplit_once(':')
            .and_then(|(f, o)| Some((f.to_owned(), o.parse::<u64>().ok()?)));
        let Some(entry) = parsed else {
            return Err(Failure::Refused(format!(
                "--entry `{e}`: give FILE:OFFSET, as `sdrate suspense show` names an entry"
            ))
            .into());
        };
        entries.push(entry);
    }
    Ok(Filter {
        causes: a.cause.clone(),
        older_than_days: a.older_than,
        entries,
        now: Some(now),
    })
}

#[derive(Default)]
struct Row {
    count: u64,
    bytes: u64,
    by_age: [u64; AGE_BUCKETS.len()],
    no_time: u64,
    oldest: Option<DateTime<chrono::FixedOffset>>,
}

fn list(state: &std::path::Path, now: DateTime<Utc>) -> Result<ExitCode> {
    let s = super::existing_state(state)?;
    let mut rows: BTreeMap<(String, &'static str), Row> = BTreeMap::new();
    suspense::for_each(s.path(), |e| {
        let r = rows.entry((e.cause.clone(), e.kind.name())).or_default();
        r.count += 1;
        r.bytes += e.length;
        match age_bucket(e.age_days(now)) {
            Some(b) => r.by_age[b] += 1,
            None => r.no_time += 1,
        }
        if let Some(t) = e.time_of_use
            && r.oldest.is_none_or(|o| t < o)
        {
            r.oldest = Some(t);
        }
        Ok(())
    })?;
    drop(s);
    let mut out = super::output(None)?;
    if rows.is_empty() {
        writeln!(out, "the suspense area of {} is empty", state.display())?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut header: Vec<String> = ["cause", "kind", "entries"].map(String::from).to_vec();
    header.extend(AGE_BUCKETS.iter().map(|(n, _)| n.to_string()));
    header.extend(["no time".into(), "oldest".into()]);
    let mut table = vec![header];
    let mut total = Row::default();
    for ((cause, kind), r) in &rows {
        let mut line = vec![cause.clone(), kind.to_string(), r.count.to_string()];
        line.extend(r.by_age.iter().map(u64::to_string));
        line.push(r.no_time.to_string());
        line.push(r.oldest.map_or(String::new(), |t| t.to_rfc3339()));
        table.push(line);
        total.count += r.count;
        for (t, a) in total.by_age.iter_mut().zip(r.by_age) {
            *t += a;
        }
        total.no_time += r.no_time;
    }
    let mut line = vec!["total".into(), String::new(), total.count.to_string()];
    line.extend(total.by_age.iter().map(u64::to_string));
    line.push(total.no_time.to_string());
    line.push(String::new());
    table.push(line);
    let widths: Vec<usize> = (0..table[0].len())
        .map(|c| table.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    for r in &table {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i < 2 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    writeln!(
        out,
        "ages in whole days from the time of use to {}",
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The columns of `suspense show`.
pub const SHOW_COLUMNS: [&str; 11] = [
    "kind",
    "file",
    "offset",
    "line",
    "length",
    "cause",
    "detail",
    "sdr_identifier",
    "producer",
    "time_of_use",
    "age_days",
];

fn show(state: &std::path::Path, f: Filter) -> Result<ExitCode> {
    let s = super::existing_state(state)?;
    let now = f.now.unwrap_or_else(Utc::now);
    let mut w = csv::Writer::from_writer(super::output(None)?);
    w.write_record(SHOW_COLUMNS)?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    suspense::for_each(s.path(), |e| {
        if !f.matches(e) {
            return Ok(());
        }
        w.write_record([
            e.kind.name().to_owned(),
            e.file.clone(),
            opt(e.offset.map(|o| o.to_string())),
            opt(e.line.map(|l| l.to_string())),
            e.length.to_string(),
            e.cause.clone(),
            e.detail.clone(),
            opt(e.sdr_identifier.map(|i| i.to_string())),
            opt(e.producer.clone()),
            opt(e.time_of_use.map(|t| t.to_rfc3339())),
            opt(e.age_days(now).map(|d| d.to_string())),
        ])
        .context("cannot write to standard output")?;
        Ok(())
    })?;
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn write_off(
    state: &std::path::Path,
    f: &Filter,
    reason: &str,
    verbosity: Verbosity,
) -> Result<ExitCode> {
    if f.is_empty() {
        return Err(Failure::Refused(
            "say what to write off: --cause, --older-than or --entry (a write-off of the whole suspense area is never implied)".into(),
        )
        .into());
    }
    let s = super::existing_state(state)?;
    let at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let done = suspense::write_off(&s, f, reason, &at)?;
    if done.written_off > 0 {
        suspense::audit(
            s.path(),
            "write-off",
            &describe(f),
            reason,
            done.written_off,
        )?;
    }
    if !verbosity.is_quiet() {
        tracing::info!(
            "wrote off {} of {} suspense entries ({} bytes), {} left: {reason} (audit: {})",
            done.written_off,
            done.before,
            done.bytes,
            done.after,
            state.join(sdrate::state::WRITTEN_OFF).display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The filter in words, for the audit log.
pub(crate) fn describe(f: &Filter) -> String {
    let mut parts = Vec::new();
    if !f.causes.is_empty() {
        parts.push(format!("cause {}", f.causes.join(",")));
    }
    if let Some(d) = f.older_than_days {
        parts.push(format!("older than {d} days"));
    }
    for (file, offset) in &f.entries {
        parts.push(format!("{file}:{offset}"));
    }
    parts.join("; ")
}
