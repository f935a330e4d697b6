//! Arbitrary bytes as the input of a rating run, priced with the shipped
//! price lists and customer registry through `pipeline::run`, the function
//! `sdrate rate` calls (without a state directory), on two worker threads
//! so that blocks are rated while the one before is written.
//!
//! The first byte chooses what the rest is (mod 4): 0 or 1 an SDR file,
//! 2 a CSV event log, 3 a JSON-lines event log. Checks: no panic; the
//! run's accounting holds; every record, broken stretch and padding byte
//! of an SDR file is counted as the reader frames it; every row of an
//! event log is counted, and its faulted rows.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sdrate::pipeline::{self, Outputs};
use sdrate::rate::Rater;
use sdrate::read::Input;
use sdrate::read::events::{EventLog, Row};
use sdrate::sdr::Timestamp;

struct Setup {
    rater: Rater,
    pool: rayon::ThreadPool,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../price_lists");
        let (lists, customers) =
            sdrate::resolve::load(&root, &root.join("customers.csv")).expect("shipped lists");
        Setup {
            rater: Rater {
                lists,
                customers,
                pricing_time: Timestamp(
                    chrono::DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z").unwrap(),
                ),
                pricing_identifier: "fuzz".into(),
                as_of: None,
            },
            pool: rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .expect("pool"),
        }
    })
}

fuzz_target!(|input: &[u8]| {
    let [kind, data @ ..] = input else {
        return;
    };
    let name = match kind % 4 {
        0 | 1 => "in.sdr",
        2 => "in.csv",
        _ => "in.jsonl",
    };
    let s = setup();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, data).expect("write");
    let out = dir.path().join("out");
    let outputs = Outputs::open(&out, None).expect("outputs");
    let inputs = [path.clone()];
    let result = s
        .pool
        .install(|| {
            pipeline::run(
                &s.rater,
                &plan(&inputs),
                sdrate::read::MAX_RECORD_BYTES,
                outputs,
                Vec::new(),
                &pipeline::Silent,
                None,
            )
        });
    // An error (a run total too large for a decimal) is a reason to stop,
    // not a failure of the check.
    let Ok((summary, pending, _)) = result else {
        return;
    };
    assert!(summary.identity_holds(), "{summary:?}");
    assert!(summary.accounting_identity_holds);
    let pending_events: usize = pending.iter().map(|p| p.events.len()).sum();
    assert_eq!(summary.sessions.events_pending, pending_events as u64);
    if kind % 4 < 2 {
        // The reader's framing, from memory.
        let input = Input::from_bytes(name, data.to_vec());
        let (mut items, mut framed) = (0u64, 0u64);
        for item in input.records() {
            items += 1;
            framed += match item {
                Ok(r) => r.bytes.len(),
                Err(b) => b.bytes.len(),
            } as u64;
        }
        assert_eq!(summary.records_read, items, "records read");
        assert_eq!(summary.padding.bytes, data.len() as u64 - framed, "padding");
        assert_eq!(summary.sessions.event_log_rows, 0);
    } else {
        let log = EventLog::from_reader(
            path.to_str().unwrap(),
            kind % 4 == 3,
            Box::new(std::io::Cursor::new(data.to_vec())),
        )
        .expect("log");
        let (mut rows, mut faults) = (0u64, 0u64);
        for row in log {
            rows += 1;
            faults += matches!(row.expect("row"), Row::Fault(_)) as u64;
        }
        assert_eq!(summary.sessions.event_log_rows, rows, "event-log rows");
        assert_eq!(summary.sessions.event_rows_faulted, faults, "faulted rows");
        assert_eq!(summary.records_read, 0);
    }
});

/// The run plan of `paths`: hashed as read (the default), none a kept file.
fn plan(paths: &[std::path::PathBuf]) -> Vec<pipeline::PlannedInput> {
    paths
        .iter()
        .map(|p| pipeline::PlannedInput {
            path: p.clone(),
            hash_while_reading: false,
            kept: None,
        })
        .collect()
}
