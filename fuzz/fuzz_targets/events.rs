//! Arbitrary bytes as a session event log, CSV or JSON lines, read through
//! `EventLog::from_reader` as `rate` reads event logs, handed over in
//! fuzz-chosen pieces.
//!
//! The first byte chooses the format (bit 0: JSON lines) and the number of
//! piece sizes that follow (bits 1 to 3, see `pieces.rs`); the rest is the
//! log. Checks: no panic; reading from memory is never an error (only I/O
//! fails); every row has a line in the log, rows come in line order; a
//! faulted row has every column; a faulted JSON line keeps the line byte
//! for byte, and a CSV row its fields.
#![no_main]

#[path = "pieces.rs"]
mod pieces;

use libfuzzer_sys::fuzz_target;
use sdrate::group::{EVENT_COLUMNS, Position, Raw};
use sdrate::read::events::{EventLog, LineBytes, MAX_JSON_LINE, Row};

/// Physical lines as the JSON reader sees them: split at `\n`, without a
/// trailing `\r`, the first without a byte order mark.
fn json_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    if data.ends_with(b"\n") {
        lines.pop();
    }
    for l in &mut lines {
        *l = l.strip_suffix(b"\r").unwrap_or(l);
    }
    if let Some(first) = lines.first_mut() {
        *first = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first);
    }
    lines
}

/// Lines as the CSV reader counts them: a line ends at `\n`, `\r\n` or a
/// lone `\r`.
fn csv_line_count(data: &[u8]) -> u64 {
    let mut n = 1;
    for (i, b) in data.iter().enumerate() {
        match b {
            b'\r' => n += 1,
            b'\n' if i == 0 || data[i - 1] != b'\r' => n += 1,
            _ => {}
        }
    }
    n
}

fuzz_target!(|input: &[u8]| {
    let [head, rest @ ..] = input else {
        return;
    };
    let json = head & 1 == 1;
    let k = usize::from((head >> 1) & 7).min(rest.len());
    let (shape, data) = rest.split_at(k);
    let name = if json { "fuzz.jsonl" } else { "fuzz.csv" };
    let log = EventLog::from_reader(name, json, Box::new(pieces::Pieces::new(data, shape)))
        .expect("opening a log in memory never fails");
    let lines = json_lines(data);
    let line_count = if json {
        lines.len() as u64
    } else {
        csv_line_count(data)
    };
    let mut last_line = 0u64;
    for row in log {
        let row = row.expect("reading a log in memory never fails");
        let line = match &row {
            Row::Event(e) => {
                assert_eq!(e.origin.file, name);
                let Position::Line(line) = e.origin.position else {
                    panic!("an event of a log has a line: {:?}", e.origin.position);
                };
                let Raw::Row(fields) = &e.origin.raw else {
                    panic!("an event of a log keeps its row");
                };
                assert_eq!(fields.len(), EVENT_COLUMNS.len());
                assert_eq!(fields[0], e.session_id.as_str());
                line
            }
            Row::Fault(f) => {
                assert_eq!(f.file, name);
                assert!(!f.cause.is_empty());
                assert_eq!(
                    f.row.len(),
                    EVENT_COLUMNS.len(),
                    "a faulted row has every column"
                );
                match (&f.line_bytes, json) {
                    (Some(LineBytes::Held(bytes)), true) => {
                        let want = lines.get(f.line as usize - 1).copied();
                        assert_eq!(Some(bytes.as_slice()), want, "line {} kept", f.line);
                        assert!(bytes.len() <= MAX_JSON_LINE);
                    }
                    (Some(LineBytes::At { offset, length }), true) => {
                        assert!(*length > MAX_JSON_LINE as u64);
                        assert!(offset + length <= data.len() as u64);
                    }
                    (None, false) => {}
                    (kept, _) => panic!("json {json}, line kept as {kept:?}"),
                }
                f.line
            }
        };
        assert!(line > last_line, "line {line} after line {last_line}");
        assert!(line <= line_count, "line {line} of {line_count}");
        if !json {
            assert!(line >= 2, "a CSV row on the header's line");
        }
        last_line = line;
    }
});
