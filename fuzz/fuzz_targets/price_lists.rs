//! Arbitrary bytes as one configuration file of a price-list directory,
//! loaded beside the shipped ones (price_lists/), then used to rate the
//! fixtures' SDRs.
//!
//! The input's first line names the file, relative to price_lists/; the
//! rest is its content:
//!
//! - `SERVICE/NAME.toml`: a price list. It replaces the shipped file of
//!   that name or is added beside the shipped lists of that service (of
//!   `vpn` when SERVICE is none of them), which are loaded with it.
//! - `profiles/NAME.toml`: a profile, component or rule file, loaded
//!   beside the shipped ones, with the `vpn` lists.
//! - a name ending in `.csv`: the customer registry, with the `vpn` lists.
//!
//! Checks: loading never panics (a bad file is an error, nothing more);
//! when it loads, every fixture SDR rates without panicking, and
//! `explain` rates it alike; for a `conf`, `game` or profile file, the
//! fixtures' sessions (event logs and session-event SDRs) are rated too,
//! and the run's accounting holds.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sdrate::pipeline::{self, Outputs};
use sdrate::rate::Rater;
use sdrate::read::{self, Input};
use sdrate::resolve::profile::Interactions;
use sdrate::resolve::{Customer, Customers, PriceLists};
use sdrate::sdr::{ServiceDetailRecord, Timestamp};

struct Shipped {
    /// Service directory name, and its lists as (path, text).
    services: Vec<(String, Vec<(PathBuf, String)>)>,
    profiles: Vec<(PathBuf, String)>,
    customers: Vec<Customer>,
    sdrs: Vec<ServiceDetailRecord>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn toml_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("price list directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("shipped list");
            (p, text)
        })
        .collect()
}

fn shipped() -> &'static Shipped {
    static SHIPPED: OnceLock<Shipped> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let lists = root().join("price_lists");
        let mut services = Vec::new();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&lists)
            .expect("price_lists/")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.is_dir() && !p.ends_with("profiles"))
            .collect();
        dirs.sort();
        for d in dirs {
            let name = d.file_name().unwrap().to_string_lossy().into_owned();
            services.push((name, toml_files(&d)));
        }
        let customers = Customers::load(&lists.join("customers.csv"))
            .expect("shipped customers")
            .iter()
            .cloned()
            .collect();
        let mut fixtures: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures"))
            .expect("fixtures/")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "sdr"))
            .collect();
        fixtures.sort();
        let mut sdrs = Vec::new();
        for f in fixtures {
            let input = Input::open(&f).expect("fixture");
            sdrs.extend(
                input
                    .records()
                    .filter_map(Result::ok)
                    .filter_map(|r| read::decode(r.bytes).ok()),
            );
        }
        Shipped {
            services,
            profiles: toml_files(&lists.join("profiles")),
            customers,
            sdrs,
        }
    })
}

/// `sources` with `path` replaced by, or added as, `text`.
fn with_file(
    mut sources: Vec<(PathBuf, String)>,
    path: PathBuf,
    text: &str,
) -> Vec<(PathBuf, String)> {
    match sources.iter_mut().find(|(p, _)| *p == path) {
        Some((_, t)) => *t = text.to_owned(),
        None => sources.push((path, text.to_owned())),
    }
    sources.sort_by(|a, b| a.0.cmp(&b.0));
    sources
}

fn service_lists(name: &str) -> Vec<(PathBuf, String)> {
    let s = shipped();
    s.services
        .iter()
        .find(|(n, _)| n == name)
        .or_else(|| s.services.iter().find(|(n, _)| n == "vpn"))
        .map(|(_, l)| l.clone())
        .expect("the vpn lists")
}

fn customers(list: &[Customer]) -> Customers {
    let mut c = Customers::default();
    for x in list {
        c.insert(x.clone());
    }
    c
}

fn rate_all(lists: PriceLists, customers: Customers, sessions: bool) {
    let _ = lists.longest_session_seconds();
    let _ = lists.all().count();
    let rater = Rater {
        lists,
        customers,
        pricing_time: Timestamp(
            chrono::DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z").unwrap(),
        ),
        pricing_identifier: "fuzz".into(),
        as_of: None,
    };
    for sdr in &shipped().sdrs {
        let outcome = rater.rate(sdr);
        let (explained, _) = rater.explain_sdr(sdr);
        assert_eq!(outcome, explained, "explain rates as rate does");
    }
    if sessions {
        // The fixtures' session events, assembled and priced by the run.
        let fixtures = root().join("fixtures");
        let inputs = [
            fixtures.join("conference-events.csv"),
            fixtures.join("game-events.jsonl"),
            fixtures.join("conference.sdr"),
            fixtures.join("game.sdr"),
        ];
        let out = tempfile::tempdir().expect("tempdir");
        let outputs = Outputs::open(out.path(), None).expect("outputs");
        if let Ok((summary, _, _)) = pipeline::run(
            &rater,
            &plan(&inputs),
            sdrate::read::MAX_RECORD_BYTES,
            outputs,
            Vec::new(),
            &pipeline::Silent,
            None,
        ) {
            assert!(summary.identity_holds(), "{summary:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(newline) = data.iter().position(|b| *b == b'\n') else {
        return;
    };
    let Ok(name) = std::str::from_utf8(&data[..newline]) else {
        return;
    };
    let content = &data[newline + 1..];
    let s = shipped();
    let path = root().join("price_lists").join(name);
    if name.ends_with(".csv") {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("customers.csv");
        std::fs::write(&file, content).expect("write");
        let Ok(registry) = Customers::load(&file) else {
            return;
        };
        let Ok(mut lists) = PriceLists::from_sources(service_lists("vpn")) else {
            panic!("the shipped vpn lists load");
        };
        lists.interactions = Interactions::from_sources(s.profiles.clone()).expect("profiles");
        rate_all(lists, registry, false);
        return;
    }
    // Lists are read as UTF-8: anything else is an error before parsing.
    let Ok(text) = std::str::from_utf8(content) else {
        return;
    };
    let service = name.split('/').next().unwrap_or("");
    let (lists, profiles) = if service == "profiles" {
        (
            service_lists("vpn"),
            with_file(s.profiles.clone(), path, text),
        )
    } else {
        (
            with_file(service_lists(service), path, text),
            s.profiles.clone(),
        )
    };
    let Ok(mut lists) = PriceLists::from_sources(lists) else {
        return;
    };
    let Ok(interactions) = Interactions::from_sources(profiles) else {
        return;
    };
    lists.interactions = interactions;
    let sessions = matches!(service, "conf" | "game" | "profiles");
    rate_all(lists, customers(&s.customers), sessions);
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
