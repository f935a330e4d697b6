//! Production runs end to end, with the real binary: a run killed at any
//! moment and run again, two runs on one state directory, duplicates across
//! runs, inputs already consumed, dry runs, subscriber routing and runs
//! without a state directory.
//!
//! Two kinds of input:
//!
//! * `sdrate generate` files priced by the shipped `price_lists/` (the crash,
//!   lock and dry-run tests, where volume matters and exact prices do not);
//! * small files encoded from JSON and priced by the test's own lists
//!   (written by `setup`), where every expected value is computed by hand:
//!   VPN calls at 0.60 SEK a minute, charged per second, for the marketing
//!   companies acme (customer K1), bcom (K2) and ccom (K3).

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::common::{self, Call, PRICING_TIME, Run, Tree, data_list, run_in, summary, tree};

const BIN: &str = env!("CARGO_BIN_EXE_sdrate");

// ---------------------------------------------------------------------------
// Running sdrate

/// `rate` with the shipped price lists and customers, at a fixed pricing
/// time: `inputs`, then `extra` (--out, --state, ...).
fn shipped_rate_args(inputs: &[&str], extra: &[&str]) -> Vec<String> {
    let lists = common::repo("price_lists");
    let customers = lists.join("customers.csv");
    let mut v: Vec<String> = vec!["rate".into()];
    v.extend(inputs.iter().map(|s| (*s).to_owned()));
    v.extend(extra.iter().map(|s| (*s).to_owned()));
    v.extend([
        "--pricing-time".into(),
        PRICING_TIME.into(),
        "--price-lists".into(),
        lists.display().to_string(),
        "--customers".into(),
        customers.display().to_string(),
    ]);
    v
}

fn rate_shipped(dir: &Path, inputs: &[&str], extra: &[&str]) -> Run {
    let args = shipped_rate_args(inputs, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_in(dir, &args)
}

/// `rate` with the test's own lists (see `setup`).
fn rate_own(dir: &Path, inputs: &[&str], extra: &[&str]) -> Run {
    let mut args = vec!["rate"];
    args.extend_from_slice(inputs);
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "--pricing-time",
        PRICING_TIME,
        "--price-lists",
        "lists",
        "--customers",
        "customers.csv",
    ]);
    run_in(dir, &args)
}

/// `sdrate generate` from its default start, 2026-11-21 00:00 +01:00.
fn generate(dir: &Path, name: &str, count: u64, seed: u64) {
    generate_from(dir, name, count, seed, "2026-11-21T00:00:00+01:00");
}

fn generate_from(dir: &Path, name: &str, count: u64, seed: u64, start: &str) {
    let d = run_in(
        dir,
        &[
            "generate",
            "--count",
            &count.to_string(),
            "--seed",
            &seed.to_string(),
            "--start",
            start,
            "-o",
            name,
        ],
    );
    assert_eq!(d.code, 0, "{}", d.stderr);
}

fn n(summary: &Value, key: &str) -> u64 {
    summary[key]
        .as_u64()
        .unwrap_or_else(|| panic!("summary has no count {key}: {summary:#}"))
}

/// The accounting identity, checked here from the counts and not only by
/// the flag.
fn check_identity(s: &Value) {
    assert_eq!(s["accounting_identity_holds"], true, "{s:#}");
    assert_eq!(
        n(s, "records_read"),
        [
            "priced",
            "price_requests",
            "not_priced",
            "session_events",
            "faulted",
            "duplicates"
        ]
        .iter()
        .map(|k| n(s, k))
        .sum::<u64>(),
        "{s:#}"
    );
}

// ---------------------------------------------------------------------------
// Directory trees

/// Asserts two trees are the same, naming what differs (not dumping bytes).
fn assert_same_tree(got: &Tree, want: &Tree, what: &str) {
    let only_got: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    let only_want: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let differ: Vec<&String> = got
        .iter()
        .filter(|(k, v)| want.get(*k).is_some_and(|w| w != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        only_got.is_empty() && only_want.is_empty() && differ.is_empty(),
        "{what}: only in the result {only_got:?}, missing {only_want:?}, different {differ:?}"
    );
}

fn without(mut t: Tree, name: &str) -> Tree {
    t.remove(name);
    t
}

/// Hidden leftovers of publishing (`.NAME.partial`, `.NAME.old`) in `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && (n.ends_with(".partial") || n.ends_with(".old")))
        .collect()
}

// ---------------------------------------------------------------------------
// Own price lists and hand-made SDRs

/// 0.60 a minute, charged per second: 120 s cost 1.20.
fn base(company: &str) -> String {
    format!(
        r#"
id = "vpn-{company}-base"
revision = 1
kind = "base"
service = "VPN"
based_on = "vpn-basic"
marketing_company = "{company}"
valid_from = "2026-01-01T00:00:00+01:00"
currency = "SEK"
vat_percent = "25"

[[charge]]
item = "call"
per = "duration"
price = "0.60"
"#
    )
}

fn setup(dir: &Path) {
    let lists = dir.join("lists");
    fs::create_dir_all(&lists).unwrap();
    fs::write(lists.join("basic.toml"), data_list("vpn-basic")).unwrap();
    for c in ["acme", "bcom", "ccom"] {
        fs::write(lists.join(format!("{c}.toml")), base(c)).unwrap();
    }
    fs::write(
        dir.join("customers.csv"),
        "customer_id,marketing_company,group\nK1,acme,\nK2,bcom,\nK3,ccom,\n",
    )
    .unwrap();
}

/// A VPN off-net call as `encode` JSON: a billing SDR of producer spe-t.
fn call(id: u32, customer: &str, company: &str, start: &str, secs: u64) -> Value {
    call_of_type(
        id,
        customer,
        company,
        start,
        secs,
        "billing",
        "priceAndForward",
    )
}

fn call_of_type(
    id: u32,
    customer: &str,
    company: &str,
    start: &str,
    secs: u64,
    sdr_type: &str,
    action: &str,
) -> Value {
    Call {
        sdr_type,
        action,
        ..Call::new(id, customer, company, start, secs)
    }
    .json()
}

/// Encodes `records` into `dir/name`; returns the bytes.
fn encode(dir: &Path, name: &str, records: &[Value]) -> Vec<u8> {
    common::encode(dir, &format!("{name}.json-lines"), name, records);
    fs::read(dir.join(name)).unwrap()
}

/// A CONF session of the shipped lists that starts late on 2026-11-21 and
/// has not ended: pending after any run on generated input (max open 24 h).
const OPEN_SESSION_LOG: &str = "\
session_id,service,category,event_type,timestamp,participant_id,user_name,billed_party,role,sequence,provider,parameters
open-1,CONF,sessionRelated,start,2026-11-21T23:00:00+01:00,p1,anna,C00001,organiser,1,prov-conf,
open-1,CONF,participantRelated,join,2026-11-21T23:01:00+01:00,p2,bo,C00004,participant,2,prov-conf,
";

/// Ends open-1 of `OPEN_SESSION_LOG` and opens open-2, which stays open.
const CLOSE_SESSION_LOG: &str = "\
session_id,service,category,event_type,timestamp,participant_id,user_name,billed_party,role,sequence,provider,parameters
open-1,CONF,participantRelated,leave,2026-11-21T23:11:00+01:00,p2,bo,C00004,participant,3,prov-conf,
open-1,CONF,participantRelated,leave,2026-11-21T23:20:00+01:00,p1,anna,C00001,organiser,4,prov-conf,
open-1,CONF,sessionRelated,end,2026-11-21T23:20:00+01:00,p1,anna,C00001,organiser,5,prov-conf,
open-2,CONF,sessionRelated,start,2026-11-21T23:30:00+01:00,p1,anna,C00001,organiser,1,prov-conf,
open-2,CONF,participantRelated,join,2026-11-21T23:31:00+01:00,p2,bo,C00004,participant,2,prov-conf,
";

// ---------------------------------------------------------------------------
// 1. Crash and rerun

/// When to kill a run.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// Never: let it finish.
    Never,
    /// This long after it started.
    After(Duration),
    /// This long after its state was staged (`STATE/STAGED` appeared):
    /// while it commits the duplicate index, publishes and promotes.
    AfterStaged(Duration),
    /// As soon as the duplicate index is replaced: committed, with this
    /// run's SDRs pending, output not yet published.
    OnIndexCommitted,
    /// As soon as its output is published (`OUT/manifest.json` appeared):
    /// before or while it promotes the state.
    OnPublished,
}

/// What was seen of a run while it ran, in time since it started.
#[derive(Debug)]
struct Watched {
    staged: Option<Duration>,
    published: Option<Duration>,
    ended: Duration,
    /// Killed before it finished; else its exit code.
    code: Option<i32>,
}

/// Runs `sdrate args` in `dir`, watching `state` and `out` every 100 µs,
/// and kills it (SIGKILL) when `kill` says.
fn run_and_kill(dir: &Path, args: &[String], state: &Path, out: &Path, kill: Kill) -> Watched {
    let mut child = crate::scrub(&mut std::process::Command::new(BIN))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Day files of the index are replaced by renames: a new inode as soon
    // as the commit replaced the first one (a kill part way through it).
    let index_file = || {
        fs::read_dir(state.join("duplicates")).ok().map(|rd| {
            let mut files: Vec<_> = rd
                .filter_map(|e| e.ok())
                .filter_map(|e| Some((e.file_name(), e.metadata().ok()?.ino())))
                .collect();
            files.sort();
            files
        })
    };
    let index_at_start = index_file();
    let start = Instant::now();
    let (mut staged, mut published) = (None, None);
    loop {
        let now = start.elapsed();
        if let Some(status) = child.try_wait().unwrap() {
            return Watched {
                staged,
                published,
                ended: now,
                code: Some(status.code().expect("not killed by us")),
            };
        }
        if staged.is_none() && state.join("STAGED").exists() {
            staged = Some(now);
        }
        if published.is_none() && out.join("manifest.json").exists() {
            published = Some(now);
        }
        let due = match kill {
            Kill::Never => false,
            Kill::After(d) => now >= d,
            Kill::AfterStaged(d) => staged.is_some_and(|s| now >= s + d),
            Kill::OnIndexCommitted => index_file() != index_at_start,
            Kill::OnPublished => published.is_some(),
        };
        if due {
            // SIGKILL on Unix; an error only if it has just exited.
            let _ = child.kill();
            let status = child.wait().unwrap();
            return Watched {
                staged,
                published,
                ended: start.elapsed(),
                code: status.code(),
            };
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Kills `sdrate rate` (SIGKILL) at seeded random moments from start to
/// finish, runs the same command again, and checks that the result is
/// exactly what one uninterrupted run gives and that nothing is billed
/// twice. The killed run is the second on its state directory: it takes
/// up a pending session and a duplicate index from the first.
///
/// The moments, timed on an uninterrupted run: six while it rates (one in
/// each sixth of the time before it stages its state), four at random
/// within its last phase (after `STAGED` appears: committing the duplicate
/// index, flushing and publishing the output, promoting the state), one as
/// soon as the duplicate index is committed, one as soon as the output is
/// published. `SDRATE_CRASH_SEED` picks other
/// moments; run with `--nocapture` to see what each kill hit.
#[test]
fn a_run_killed_at_any_moment_and_run_again_gives_the_uninterrupted_result() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    // Run 0, never killed, leaves a duplicate index and an open session
    // (open-1) in the state; run 1, killed, completes open-1 and leaves
    // open-2 open.
    generate_from(dir, "day0.sdr", 5_000, 11, "2026-11-20T00:00:00+01:00");
    fs::write(dir.join("open.csv"), OPEN_SESSION_LOG).unwrap();
    let run0 = ["day0.sdr", "open.csv"];
    generate(dir, "in.sdr", 200_000, 7);
    fs::write(dir.join("close.csv"), CLOSE_SESSION_LOG).unwrap();
    let inputs = ["in.sdr", "close.csv"];
    let args =
        |out: &str, state: &str| shipped_rate_args(&inputs, &["--out", out, "--state", state]);
    let first_run = |out: &str, state: &str| {
        let d = rate_shipped(dir, &run0, &["--out", out, "--state", state, "-q"]);
        assert_eq!(d.code, 1, "{}", d.stderr);
        let s = summary(&dir.join(out));
        assert_eq!(s["sessions"]["sessions_pending"], 1, "{s:#}");
    };

    // The reference: never interrupted.
    first_run("ref0", "ref-state");
    let reference = run_and_kill(
        dir,
        &args("ref", "ref-state"),
        &dir.join("ref-state"),
        &dir.join("ref"),
        Kill::Never,
    );
    assert_eq!(reference.code, Some(1), "generated input has faults");
    let ref_summary = summary(&dir.join("ref"));
    check_identity(&ref_summary);
    let ref_priced = n(&ref_summary, "priced");
    assert!(ref_priced > 100_000, "{ref_summary:#}");
    // open-1 carried in and priced, open-2 pending.
    assert_eq!(ref_summary["sessions"]["events_carried_in"], 2);
    assert_eq!(ref_summary["sessions"]["sessions_pending"], 1);
    let ref_tree = tree(&dir.join("ref"));
    let ref_state = without(tree(&dir.join("ref-state")), "lock");
    let pending =
        String::from_utf8(ref_state["pending-sessions.jsonl"].clone().expect("a file")).unwrap();
    assert!(
        pending.contains("\"open-2\"") && !pending.contains("\"open-1\""),
        "{pending}"
    );

    let seed: u64 = std::env::var("SDRATE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_122);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rating = reference.staged.unwrap_or(reference.ended).as_secs_f64();
    let last_phase = (reference.ended.as_secs_f64() - rating).max(0.001);
    let mut kills: Vec<Kill> = (0..6)
        .map(|i| {
            Kill::After(Duration::from_secs_f64(
                rating * (f64::from(i) + rng.random_range(0.0..1.0)) / 6.0,
            ))
        })
        .collect();
    kills.extend((0..4).map(|_| {
        Kill::AfterStaged(Duration::from_secs_f64(
            last_phase * rng.random_range(0.0..1.0),
        ))
    }));
    kills.extend([Kill::OnIndexCommitted, Kill::OnPublished]);
    eprintln!("crash test: seed {seed}, reference {reference:?}");

    for (trial, kill) in kills.into_iter().enumerate() {
        let out = format!("out{trial}");
        let state = format!("state{trial}");
        let out_path = dir.join(&out);
        let state_path = dir.join(&state);
        let out0 = format!("out{trial}-0");
        first_run(&out0, &state);

        let killed = run_and_kill(dir, &args(&out, &state), &state_path, &out_path, kill);
        // Killed or not, the output is all or nothing.
        let published = out_path.exists();
        if published {
            assert!(
                out_path.join("manifest.json").is_file(),
                "trial {trial} ({kill:?}): {out} exists without a manifest"
            );
        }
        assert!(
            killed.published.is_none() || published,
            "trial {trial}: published, then gone"
        );
        let staged_left = state_path.join("STAGED").exists();

        // The same command again, to completion.
        let rerun = rate_shipped(dir, &inputs, &["--out", &out, "--state", &state]);
        eprintln!(
            "crash test: trial {trial}, {kill:?}: {killed:?}; left output {}, STAGED {}; rerun exit {}: {}",
            if published { "published" } else { "absent" },
            if staged_left { "present" } else { "absent" },
            rerun.code,
            rerun
                .stderr
                .lines()
                .filter(|l| l.contains("stopped before")
                    || l.contains("rolled forward")
                    || l.contains("nothing to do"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        assert!(
            rerun.code == 0 || rerun.code == 1,
            "trial {trial}: rerun exit {}: {}",
            rerun.code,
            rerun.stderr
        );
        assert_eq!(leftovers(dir), Vec::<String>::new(), "trial {trial}");
        assert_same_tree(
            &tree(&out_path),
            &ref_tree,
            &format!("trial {trial} ({kill:?}): {out} against the reference"),
        );
        assert!(!state_path.join("staged").exists(), "trial {trial}");
        assert!(!state_path.join("STAGED").exists(), "trial {trial}");
        // The state matches the published output exactly: consumed inputs,
        // pending sessions, last run and duplicate index.
        assert_same_tree(
            &without(tree(&state_path), "lock"),
            &ref_state,
            &format!("trial {trial} ({kill:?}): {state} against the reference state"),
        );

        // A third identical run has nothing to do.
        let third = rate_shipped(dir, &inputs, &["--out", &out, "--state", &state]);
        assert_eq!(third.code, 0, "trial {trial}: {}", third.stderr);
        assert!(
            third.stderr.contains("nothing to do"),
            "trial {trial}: {}",
            third.stderr
        );

        // Billing never doubles: forced to rate the input again, every
        // billing SDR is a duplicate.
        let forced_out = format!("forced{trial}");
        let forced = rate_shipped(
            dir,
            &inputs,
            &["--out", &forced_out, "--state", &state, "--force", "-q"],
        );
        assert!(forced.code == 0 || forced.code == 1, "{}", forced.stderr);
        let s = summary(&dir.join(&forced_out));
        check_identity(&s);
        assert_eq!(
            (n(&s, "priced"), n(&s, "duplicates")),
            (0, ref_priced),
            "trial {trial}: {s:#}"
        );
        assert_eq!(
            fs::metadata(dir.join(&forced_out).join("priced/in.sdr"))
                .unwrap()
                .len(),
            0
        );

        for d in [out0, out, state, forced_out] {
            fs::remove_dir_all(dir.join(d)).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------
// 2. Overlap

#[test]
fn a_run_on_a_locked_state_dir_exits_5_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    setup(dir);
    encode(
        dir,
        "in.sdr",
        &[call(1, "K1", "acme", "2026-11-21T10:00:00+01:00", 120)],
    );
    fs::create_dir(dir.join("state")).unwrap();
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("state/lock"))
        .unwrap();
    lock.try_lock().unwrap();

    let d = rate_own(dir, &["in.sdr"], &["--out", "out", "--state", "state"]);
    assert_eq!(d.code, 5, "{}", d.stderr);
    assert!(d.stderr.contains("state directory state"), "{}", d.stderr);
    assert!(!dir.join("out").exists());
    assert_eq!(leftovers(dir), Vec::<String>::new());
    assert_eq!(
        tree(&dir.join("state")).keys().collect::<Vec<_>>(),
        vec!["lock"],
        "nothing written to the state either"
    );

    // Released, the same command runs.
    drop(lock);
    let d = rate_own(dir, &["in.sdr"], &["--out", "out", "--state", "state"]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    assert_eq!(n(&summary(&dir.join("out")), "priced"), 1);
}

/// Two real runs: the second starts while the first is rating.
#[test]
fn a_second_run_while_the_first_is_rating_exits_5() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    generate(dir, "big.sdr", 200_000, 3);
    generate(dir, "small.sdr", 100, 4);
    let mut first = crate::scrub(&mut std::process::Command::new(BIN))
        .args(shipped_rate_args(
            &["big.sdr"],
            &["--out", "out1", "--state", "state", "-q"],
        ))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The partial output appears once the first run holds the lock.
    let waited = Instant::now();
    while !dir.join(".out1.partial").exists() {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "the first run never started writing"
        );
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended early"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let second = rate_shipped(dir, &["small.sdr"], &["--out", "out2", "--state", "state"]);
    let first_running = first.try_wait().unwrap().is_none();
    assert_eq!(
        second.code, 5,
        "first run still running: {first_running}; {}",
        second.stderr
    );
    assert!(
        second.stderr.contains("state directory state"),
        "{}",
        second.stderr
    );
    assert!(!dir.join("out2").exists());
    assert!(!dir.join(".out2.partial").exists());

    let out = first.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("out1/manifest.json").is_file());
    check_identity(&summary(&dir.join("out1")));
}

// ---------------------------------------------------------------------------
// 3. Duplicates across runs

#[test]
fn a_second_run_bills_only_what_the_first_did_not() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    setup(dir);
    let old = [
        call(1, "K1", "acme", "2026-11-21T10:00:00+01:00", 120),
        call(2, "K1", "acme", "2026-11-21T10:05:00+01:00", 60),
        call(3, "K2", "bcom", "2026-11-21T10:10:00+01:00", 30),
        call(4, "K3", "ccom", "2026-11-21T10:15:00+01:00", 90),
    ];
    let new = [
        // Same identifier as SDR 1 but another time of origin: another SDR.
        call(1, "K1", "acme", "2026-11-21T11:00:00+01:00", 60),
        call(5, "K1", "acme", "2026-11-21T11:05:00+01:00", 90),
        call(6, "K2", "bcom", "2026-11-21T11:10:00+01:00", 30),
    ];
    let a = encode(dir, "a.sdr", &old);
    let all: Vec<Value> = old.iter().chain(&new).cloned().collect();
    let b = encode(dir, "b.sdr", &all);
    let c = encode(dir, "c.sdr", &new);
    assert_eq!(
        b,
        [a.clone(), c].concat(),
        "B is A's records, then new ones"
    );

    let one = rate_own(dir, &["a.sdr"], &["--out", "out1", "--state", "state"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    let s1 = summary(&dir.join("out1"));
    check_identity(&s1);
    assert_eq!((n(&s1, "priced"), n(&s1, "duplicates")), (4, 0));

    let two = rate_own(dir, &["b.sdr"], &["--out", "out2", "--state", "state"]);
    assert_eq!(two.code, 0, "{}", two.stderr);
    assert!(!two.stderr.contains("skipping"), "{}", two.stderr);
    let s2 = summary(&dir.join("out2"));
    check_identity(&s2);
    assert_eq!(
        (
            n(&s2, "records_read"),
            n(&s2, "priced"),
            n(&s2, "duplicates")
        ),
        (7, 3, 4)
    );
    // The duplicates, exactly as they came in.
    assert_eq!(fs::read(dir.join("out2/duplicates.sdr")).unwrap(), a);
    // Billed: the new SDRs only, as a stateless run of them alone prices
    // them.
    let alone = rate_own(dir, &["c.sdr"], &["--out", "alone"]);
    assert_eq!(alone.code, 0, "{}", alone.stderr);
    assert_eq!(
        fs::read(dir.join("out2/priced/b.sdr")).unwrap(),
        fs::read(dir.join("alone/priced/c.sdr")).unwrap()
    );
    // acme: 60 s + 90 s = 0.60 + 0.90 = 1.50; bcom: 30 s = 0.30.
    assert_eq!(
        s2["totals"],
        json!({"SEK": {
            "acme": {"basic": "1.50", "individual": "1.50"},
            "bcom": {"basic": "0.30", "individual": "0.30"},
        }})
    );
}

#[test]
fn an_sdr_older_than_the_duplicate_window_is_a_fault() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    setup(dir);
    let window = ["--state", "state", "--duplicate-window", "2"];
    encode(
        dir,
        "day.sdr",
        &[call(1, "K1", "acme", "2026-11-20T10:00:00+01:00", 60)],
    );
    let one = rate_own(
        dir,
        &["day.sdr"],
        &[&["--out", "out1"], &window[..]].concat(),
    );
    assert_eq!(one.code, 0, "{}", one.stderr);

    // The window counts back from the pricing time, 2026-11-22 01:00 UTC,
    // in whole UTC days: two days keep 2026-11-20 00:00 UTC onwards.
    let at_cutoff = call(2, "K1", "acme", "2026-11-20T01:00:00+01:00", 60);
    let before = call(3, "K1", "acme", "2026-11-20T00:59:59+01:00", 60);
    let days_before = call(4, "K1", "acme", "2026-11-10T10:00:00+01:00", 60);
    encode(
        dir,
        "late.sdr",
        &[at_cutoff, before.clone(), days_before.clone()],
    );
    let too_old = [
        encode(dir, "before.sdr", &[before]),
        encode(dir, "days.sdr", &[days_before]),
    ]
    .concat();
    let two = rate_own(
        dir,
        &["late.sdr"],
        &[&["--out", "out2"], &window[..]].concat(),
    );
    assert_eq!(two.code, 1, "a fault: {}", two.stderr);
    let s = summary(&dir.join("out2"));
    check_identity(&s);
    assert_eq!(
        (n(&s, "priced"), n(&s, "faulted"), n(&s, "duplicates")),
        (1, 2, 0)
    );
    assert_eq!(s["faults_by_cause"], json!({"tooOldForDuplicateCheck": 2}));
    assert_eq!(fs::read(dir.join("out2/faults.sdr")).unwrap(), too_old);
    // Each row names the SDR and its producer.
    assert_eq!(
        fault_columns(&dir.join("out2")),
        [
            ["3", "spe-t", "tooOldForDuplicateCheck"],
            ["4", "spe-t", "tooOldForDuplicateCheck"]
        ]
    );

    // Never billed, so never remembered: with a longer window both bill.
    let three = rate_own(
        dir,
        &["before.sdr", "days.sdr"],
        &[
            "--out",
            "out3",
            "--state",
            "state",
            "--duplicate-window",
            "30",
        ],
    );
    assert_eq!(three.code, 0, "{}", three.stderr);
    let s = summary(&dir.join("out3"));
    assert_eq!((n(&s, "priced"), n(&s, "duplicates")), (2, 0), "{s:#}");
}

/// sdr_identifier, producer and status of each row of OUT/faults.csv.
fn fault_columns(out: &Path) -> Vec<[String; 3]> {
    let report = fs::read_to_string(out.join("faults.csv")).unwrap();
    report
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            [c[3].to_string(), c[4].to_string(), c[5].to_string()]
        })
        .collect()
}

/// One producer's bad clock: an SDR dated 2099 is a fault of its own,
/// kept for recycling, and neither billed nor remembered, so the SDRs of
/// the next nights are billed as usual (retention counts from the pricing
/// time, not from the newest SDR seen).
#[test]
fn an_sdr_dated_in_the_future_is_a_fault_and_does_not_stop_billing() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    setup(dir);
    let state = ["--state", "state"];
    let bad = encode(
        dir,
        "bad.sdr",
        &[call(9, "K1", "acme", "2099-01-01T00:00:00+01:00", 60)],
    );
    encode(
        dir,
        "night1.sdr",
        &[
            call(1, "K1", "acme", "2026-11-21T10:00:00+01:00", 60),
            // Within the default tolerance of 24 hours: billed.
            call(2, "K1", "acme", "2026-11-23T01:00:00+01:00", 60),
        ],
    );
    let one = rate_own(
        dir,
        &["bad.sdr", "night1.sdr"],
        &[&["--out", "out1"], &state[..]].concat(),
    );
    assert_eq!(one.code, 1, "a fault: {}", one.stderr);
    let s = summary(&dir.join("out1"));
    check_identity(&s);
    assert_eq!((n(&s, "priced"), n(&s, "faulted")), (2, 1));
    assert_eq!(s["faults_by_cause"], json!({"futureTimeOfOrigin": 1}));
    assert_eq!(fs::read(dir.join("out1/faults.sdr")).unwrap(), bad);
    assert_eq!(
        fault_columns(&dir.join("out1")),
        [["9", "spe-t", "futureTimeOfOrigin"]]
    );
    // Kept for recycling.
    assert_eq!(fs::read(dir.join("state/suspense.sdr")).unwrap(), bad);

    // The next night is billed, not too old.
    encode(
        dir,
        "night2.sdr",
        &[call(3, "K1", "acme", "2026-11-21T22:00:00+01:00", 60)],
    );
    let two = rate_own(
        dir,
        &["night2.sdr"],
        &[&["--out", "out2"], &state[..]].concat(),
    );
    assert_eq!(two.code, 0, "{}", two.stderr);
    let s = summary(&dir.join("out2"));
    assert_eq!((n(&s, "priced"), n(&s, "faulted")), (1, 0), "{s:#}");
    // A wider tolerance bills it (and it is another run).
    let three = rate_own(
        dir,
        &["bad.sdr"],
        &[
            &["--out", "out3", "--force", "--future-tolerance", "700000"],
            &state[..],
        ]
        .concat(),
    );
    assert_eq!(three.code, 0, "{}", three.stderr);
    assert_eq!(n(&summary(&dir.join("out3")), "priced"), 1);
}

/// A complete CONF session (shipped lists, publicom customers):
/// organiser C00001 from `hh`:00 to `hh`:20, C00004 from `hh`:01 to
/// `hh`:11. Priced by conf-publicom-base: 19.00 SEK in all (see the ignored
/// test below; 14.00 + 5.00).
fn conf_session(id: &str, hh: &str) -> String {
    let row = |ty: &str, cat: &str, mm: &str, who: &str, seq: u32| {
        let (p, user, customer, role) = if who == "anna" {
            ("p1", "anna", "C00001", "organiser")
        } else {
            ("p2", "bo", "C00004", "participant")
        };
        format!(
            "{id},CONF,{cat},{ty},2026-11-21T{hh}:{mm}:00+01:00,{p},{user},{customer},{role},{seq},prov-conf,\n"
        )
    };
    [
        row("start", "sessionRelated", "00", "anna", 1),
        row("join", "participantRelated", "01", "bo", 2),
        row("leave", "participantRelated", "11", "bo", 3),
        row("leave", "participantRelated", "20", "anna", 4),
        row("end", "sessionRelated", "20", "anna", 5),
    ]
    .concat()
}

const LOG_HEADER: &str = "session_id,service,category,event_type,timestamp,participant_id,user_name,billed_party,role,sequence,provider,parameters\n";

/// The duplicate index keeps billing SDRs from being billed twice, but a
/// session is priced again, and its participations billed again, whenever
/// its events arrive again in a later run: a resent event log (different
/// bytes, so not skipped as consumed) or `--force`.
#[test]
fn a_session_billed_by_an_earlier_run_is_not_billed_again() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let s1 = conf_session("s1", "10");
    let s2 = conf_session("s2", "12");
    fs::write(dir.join("log1.csv"), format!("{LOG_HEADER}{s1}")).unwrap();
    fs::write(dir.join("log2.csv"), format!("{LOG_HEADER}{s1}{s2}")).unwrap();

    let one = rate_shipped(dir, &["log1.csv"], &["--out", "out1", "--state", "state"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    let s = summary(&dir.join("out1"));
    assert_eq!(
        (
            &s["sessions"]["sessions_priced"],
            &s["sessions"]["participations"]
        ),
        (&json!(1), &json!(2))
    );
    // p1: entry 4.00 + usage 10.00 = 14.00; p2: usage 5.00.
    assert_eq!(
        s["totals"],
        json!({"SEK": {"publicom": {"basic": "19.00", "individual": "19.00"}}})
    );

    // s1 again, with s2: only s2 is billed.
    let two = rate_shipped(dir, &["log2.csv"], &["--out", "out2", "--state", "state"]);
    assert_eq!(two.code, 0, "{}", two.stderr);
    let s = summary(&dir.join("out2"));
    check_identity(&s);
    let rows = fs::read_to_string(dir.join("out2/participations.csv")).unwrap();
    assert!(
        rows.lines().skip(1).all(|l| l.starts_with("s2,")),
        "s1 billed again:\n{rows}"
    );
    assert_eq!(
        (
            &s["sessions"]["sessions_priced"],
            &s["sessions"]["participations"]
        ),
        (&json!(1), &json!(2)),
        "{s:#}"
    );
    assert_eq!(
        s["totals"],
        json!({"SEK": {"publicom": {"basic": "19.00", "individual": "19.00"}}})
    );

    // Forced to rate log1.csv again: nothing to bill.
    let forced = rate_shipped(
        dir,
        &["log1.csv"],
        &["--out", "out3", "--state", "state", "--force"],
    );
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    let s = summary(&dir.join("out3"));
    check_identity(&s);
    assert_eq!(s["sessions"]["sessions_priced"], 0, "{s:#}");
    assert_eq!(
        fs::metadata(dir.join("out3/participations.sdr"))
            .unwrap()
            .len(),
        0
    );
}

// ---------------------------------------------------------------------------
// 4. Consumed inputs

#[test]
fn an_input_already_rated_is_skipped_under_any_name_unless_forced() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    setup(dir);
    let a = encode(
        dir,
        "a.sdr",
        &[
            call(1, "K1", "acme", "2026-11-21T10:00:00+01:00", 120),
            call(2, "K2", "bcom", "2026-11-21T10:01:00+01:00", 60),
            call(3, "K3", "ccom", "2026-11-21T10:02:00+01:00", 30),
        ],
    );
    let one = rate_own(dir, &["a.sdr"], &["--out", "out1", "--state", "state"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    let run_id = summary(&dir.join("out1"))["run_id"]
        .as_str()
        .unwrap()
        .to_owned();

    fs::copy(dir.join("a.sdr"), dir.join("renamed.sdr")).unwrap();
    let two = rate_own(
        dir,
        &["renamed.sdr"],
        &["--out", "out2", "--state", "state"],
    );
    assert_eq!(two.code, 0, "{}", two.stderr);
    assert!(
        two.stderr.contains(&format!(
            "skipping renamed.sdr: already rated by run {run_id} (as a.sdr)"
        )),
        "{}",
        two.stderr
    );
    let s = summary(&dir.join("out2"));
    check_identity(&s);
    assert_eq!(s["skipped_inputs"], json!(["renamed.sdr"]));
    assert_eq!(s["inputs"], json!([]));
    assert_eq!((n(&s, "records_read"), n(&s, "priced")), (0, 0));
    assert!(
        fs::read_dir(dir.join("out2/priced"))
            .unwrap()
            .next()
            .is_none()
    );

    // Under its own name, into a new output: skipped too.
    let same = rate_own(dir, &["a.sdr"], &["--out", "out3", "--state", "state"]);
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert_eq!(
        summary(&dir.join("out3"))["skipped_inputs"],
        json!(["a.sdr"])
    );

    // --force rates it again, and the duplicate index still refuses to
    // bill it twice.
    let forced = rate_own(
        dir,
        &["renamed.sdr"],
        &["--out", "out4", "--state", "state", "--force"],
    );
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert!(!forced.stderr.contains("skipping"), "{}", forced.stderr);
    let s = summary(&dir.join("out4"));
    check_identity(&s);
    assert_eq!(s["skipped_inputs"], json!([]));
    assert_eq!(s["inputs"], json!(["renamed.sdr"]));
    assert_eq!(
        (n(&s, "records_read"), n(&s, "priced"), n(&s, "duplicates")),
        (3, 0, 3)
    );
    assert_eq!(fs::read(dir.join("out4/duplicates.sdr")).unwrap(), a);
}

// ---------------------------------------------------------------------------
// 5. Dry run

const ONE_BER_SUBSCRIBER: &str = r#"
[[subscriber]]
name = "everything"
format = "ber"
"#;

#[test]
fn a_dry_run_writes_only_reports_and_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    generate(dir, "a.sdr", 20_000, 1);
    generate(dir, "b.sdr", 20_000, 2);
    fs::write(dir.join("routing.toml"), ONE_BER_SUBSCRIBER).unwrap();
    let billed = rate_shipped(dir, &["a.sdr"], &["--out", "billed", "--state", "state"]);
    assert_eq!(billed.code, 1, "{}", billed.stderr);
    let billed_priced = n(&summary(&dir.join("billed")), "priced");
    let state_before = tree(&dir.join("state"));
    let billed_before = tree(&dir.join("billed"));

    let reports_with = |out: &str, input: &str, force: bool| {
        let mut args = vec![
            "--dry-run",
            "--out",
            out,
            "--state",
            "state",
            "--routing",
            "routing.toml",
        ];
        if force {
            args.push("--force");
        }
        let d = rate_shipped(dir, &[input], &args);
        assert!(d.code == 0 || d.code == 1, "{}", d.stderr);
        assert!(d.stderr.contains("dry run"), "{}", d.stderr);
        assert_same_tree(&tree(&dir.join("state")), &state_before, "state");
        assert_same_tree(&tree(&dir.join("billed")), &billed_before, "billed");
        // The usage analysis is written on every run; checked below.
        let files: Vec<String> = tree(&dir.join(out))
            .into_keys()
            .filter(|f| !f.starts_with("usage."))
            .collect();
        assert_eq!(
            files,
            [
                "costs.csv",
                "faults.csv",
                "late-events.csv",
                "manifest.json",
                "participations.csv",
                "quality-assurance.csv",
                "summary.json",
            ],
            "{out}: reports only"
        );
        let s = summary(&dir.join(out));
        check_identity(&s);
        assert_eq!(s["dry_run"], true);
        let manifest: Value =
            serde_json::from_slice(&fs::read(dir.join(out).join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(manifest["dry_run"], true);
        s
    };
    let reports = |out: &str, input: &str| reports_with(out, input, false);
    // New input: what the run would bill.
    let s = reports("report", "b.sdr");
    assert!(n(&s, "priced") > 10_000, "{s:#}");
    assert!(dir.join("report/usage.csv").exists() && dir.join("report/usage.svg").exists());
    assert_eq!(n(&s, "duplicates"), 0);
    // The consumed input is skipped, as the billing run would skip it
    // (the QA run pointed at the spool shows what tonight bills).
    let s = reports("report2", "a.sdr");
    assert_eq!((n(&s, "records_read"), n(&s, "priced")), (0, 0), "{s:#}");
    assert_eq!(s["skipped_inputs"], serde_json::json!(["a.sdr"]), "{s:#}");
    // Forced, it is rated and checked against the duplicate index: all
    // of it would be duplicates.
    let s = reports_with("report2", "a.sdr", true);
    assert_eq!(
        (n(&s, "priced"), n(&s, "duplicates")),
        (0, billed_priced),
        "{s:#}"
    );
    // Its sessions were billed too: none priced again, no usage to
    // analyse, and the chart says so.
    assert_eq!(s["sessions"]["sessions_priced"], 0, "{s:#}");
    let usage = fs::read_to_string(dir.join("report2/usage.csv")).unwrap();
    assert_eq!(usage.lines().count(), 1, "{usage}");
    let chart = fs::read_to_string(dir.join("report2/usage.svg")).unwrap();
    assert!(chart.contains("no priced usage in this run"));
    // A dry-run report is replaced by the next dry run.
    let s = reports_with("report", "a.sdr", true);
    assert_eq!(n(&s, "duplicates"), billed_priced);

    // Never over a directory that is not an sdrate output, such as one
    // holding billing outputs.
    fs::create_dir_all(dir.join("archive/2026-11-21")).unwrap();
    fs::write(dir.join("archive/2026-11-21/priced.sdr"), b"billed").unwrap();
    let archive = tree(&dir.join("archive"));
    let d = rate_shipped(
        dir,
        &["b.sdr"],
        &["--dry-run", "--out", "archive", "--state", "state"],
    );
    assert_eq!(d.code, 2, "{}", d.stderr);
    assert!(d.stderr.contains("not an sdrate output"), "{}", d.stderr);
    assert_same_tree(&tree(&dir.join("archive")), &archive, "archive");

    // Never over published billing output.
    let d = rate_shipped(
        dir,
        &["b.sdr"],
        &["--dry-run", "--out", "billed", "--state", "state"],
    );
    assert_eq!(d.code, 2, "{}", d.stderr);
    assert!(d.stderr.contains("published billing run"), "{}", d.stderr);
    assert_same_tree(&tree(&dir.join("billed")), &billed_before, "billed");
    // Nor does a run without a state directory replace it.
    let d = rate_shipped(dir, &["b.sdr"], &["--out", "billed"]);
    assert_eq!(d.code, 2, "{}", d.stderr);
    assert!(d.stderr.contains("billing run's output"), "{}", d.stderr);
    assert_same_tree(&tree(&dir.join("billed")), &billed_before, "billed");
    assert_same_tree(&tree(&dir.join("state")), &state_before, "state");
    assert_eq!(leftovers(dir), Vec::<String>::new());
}

#[test]
fn regression_a_dry_run_does_not_create_a_missing_state_directory() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    generate(dir, "a.sdr", 100, 1);
    let d = rate_shipped(
        dir,
        &["a.sdr"],
        &["--dry-run", "--out", "report", "--state", "stat"],
    );
    assert_eq!(d.code, 2, "{}", d.stderr);
    assert!(d.stderr.contains("stat does not exist"), "{}", d.stderr);
    assert!(!dir.join("stat").exists(), "no state directory created");
    assert!(!dir.join("report").exists(), "nothing written");
}

// ---------------------------------------------------------------------------
// 6. Routing

const ROUTING: &str = r#"
[[subscriber]]
name = "acme-invoicing"
format = "ber"
sdr_types = ["billing"]
marketing_companies = ["acme"]

[[subscriber]]
name = "bcom-billing"
format = "csv"
services = ["VPN"]
marketing_companies = ["bcom"]
items = ["sdr_identifier", "customer", "marketing_company", "service", "basic_price",
         "individual_price", "currency", "vat_percent", "price_table", "revision", "status"]
"#;

#[test]
fn subscribers_get_exactly_the_priced_sdrs_they_want() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    setup(dir);
    let acme = [
        call(1, "K1", "acme", "2026-11-21T10:00:00+01:00", 120),
        call(4, "K1", "acme", "2026-11-21T10:03:00+01:00", 90),
    ];
    let records = [
        acme[0].clone(),
        call(2, "K2", "bcom", "2026-11-21T10:01:00+01:00", 60),
        // ccom: nobody subscribes, discarded.
        call(3, "K3", "ccom", "2026-11-21T10:02:00+01:00", 30),
        acme[1].clone(),
        call(5, "K2", "bcom", "2026-11-21T10:04:00+01:00", 150),
        // Not priced: offered too, but nobody subscribes to acme's
        // quality-assurance SDRs, so discarded and counted.
        call_of_type(
            6,
            "K1",
            "acme",
            "2026-11-21T10:05:00+01:00",
            60,
            "qualityAssurance",
            "qualityAssuranceNotPriced",
        ),
        // Unknown customer: a fault, not routed.
        call(7, "K9", "acme", "2026-11-21T10:06:00+01:00", 60),
    ];
    encode(dir, "in.sdr", &records);
    encode(dir, "acme.sdr", &acme);
    fs::write(dir.join("routing.toml"), ROUTING).unwrap();

    let d = rate_own(
        dir,
        &["in.sdr"],
        &["--out", "out", "--routing", "routing.toml"],
    );
    assert_eq!(d.code, 1, "one fault: {}", d.stderr);
    let s = summary(&dir.join("out"));
    check_identity(&s);
    // The manifest answers "which customer data and routing priced this
    // run?": path, size and content hash of each.
    let m = common::json_file(&dir.join("out/manifest.json"));
    for (field, file) in [("customers", "customers.csv"), ("routing", "routing.toml")] {
        let bytes = fs::read(dir.join(file)).unwrap();
        assert_eq!(
            m[field],
            json!({
                "path": file,
                "size": bytes.len(),
                "hash": format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes)),
            }),
            "{m:#}"
        );
    }
    assert_eq!(
        (n(&s, "priced"), n(&s, "not_priced"), n(&s, "faulted")),
        (5, 1, 1)
    );
    assert_eq!(
        s["routing"],
        json!({"by_subscriber": {"acme-invoicing": 2, "bcom-billing": 2}, "discarded": 2})
    );
    let subs: Vec<String> = tree(&dir.join("out/subscribers")).into_keys().collect();
    assert_eq!(subs, ["acme-invoicing.sdr", "bcom-billing.csv"]);

    // acme's priced SDRs, byte for byte as a run of them alone prices them.
    let alone = rate_own(dir, &["acme.sdr"], &["--out", "alone"]);
    assert_eq!(alone.code, 0, "{}", alone.stderr);
    let acme_priced = fs::read(dir.join("alone/priced/acme.sdr")).unwrap();
    assert!(!acme_priced.is_empty());
    assert_eq!(
        fs::read(dir.join("out/subscribers/acme-invoicing.sdr")).unwrap(),
        acme_priced
    );
    // bcom: 60 s at 0.60 a minute = 0.60; 150 s = 1.50.
    assert_eq!(
        fs::read_to_string(dir.join("out/subscribers/bcom-billing.csv")).unwrap(),
        "sdr_identifier,customer,marketing_company,service,basic_price,individual_price,currency,vat_percent,price_table,revision,status\n\
         2,K2,bcom,VPN,0.60,0.60,SEK,25,vpn-bcom-base,1,priced\n\
         5,K2,bcom,VPN,1.50,1.50,SEK,25,vpn-bcom-base,1,priced\n"
    );

    // The same command again has nothing to do; with another routing file
    // it is another run, and the output is replaced (no state here).
    let again = rate_own(
        dir,
        &["in.sdr"],
        &["--out", "out", "--routing", "routing.toml"],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("nothing to do"), "{}", again.stderr);
    fs::write(
        dir.join("routing.toml"),
        "[[subscriber]]\nname = \"ccom\"\nformat = \"ber\"\nmarketing_companies = [\"ccom\"]\n",
    )
    .unwrap();
    let changed = rate_own(
        dir,
        &["in.sdr"],
        &["--out", "out", "--routing", "routing.toml"],
    );
    assert_eq!(changed.code, 1, "{}", changed.stderr);
    let subs: Vec<String> = tree(&dir.join("out/subscribers")).into_keys().collect();
    assert_eq!(subs, ["ccom.sdr"]);
    assert_eq!(
        summary(&dir.join("out"))["routing"],
        // The four other priced SDRs and the QA SDR.
        json!({"by_subscriber": {"ccom": 1}, "discarded": 5})
    );
    let unrouted = rate_own(dir, &["in.sdr"], &["--out", "out"]);
    assert_eq!(unrouted.code, 1, "{}", unrouted.stderr);
    assert!(!dir.join("out/subscribers").exists());
    assert!(summary(&dir.join("out")).get("routing").is_none());
}

#[test]
fn a_bad_routing_file_stops_the_run_before_anything_is_written() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    setup(dir);
    encode(
        dir,
        "in.sdr",
        &[call(1, "K1", "acme", "2026-11-21T10:00:00+01:00", 120)],
    );
    // Line 14, column 10: an item that does not exist.
    fs::write(
        dir.join("routing.toml"),
        ROUTING.replace("\"basic_price\"", "\"price\"      "),
    )
    .unwrap();
    let d = rate_own(
        dir,
        &["in.sdr"],
        &[
            "--out",
            "out",
            "--state",
            "state",
            "--routing",
            "routing.toml",
        ],
    );
    assert_eq!(d.code, 3, "{}", d.stderr);
    assert!(d.stderr.contains("routing.toml"), "{}", d.stderr);
    assert!(d.stderr.contains("unknown item `price`"), "{}", d.stderr);
    assert!(!dir.join("out").exists());
    assert!(!dir.join("state").exists());
    assert_eq!(leftovers(dir), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// 7. Stateless runs

#[test]
fn without_state_a_run_replaces_its_output_and_lists_pending_sessions() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    generate(dir, "a.sdr", 2_000, 1);
    generate(dir, "b.sdr", 2_000, 2);
    fs::write(dir.join("events.csv"), OPEN_SESSION_LOG).unwrap();
    let before: Vec<String> = tree(dir).into_keys().collect();

    let one = rate_shipped(dir, &["a.sdr", "events.csv"], &["--out", "out"]);
    assert_eq!(one.code, 1, "{}", one.stderr);
    assert!(
        one.stderr.contains("pending-sessions.jsonl"),
        "{}",
        one.stderr
    );
    let s = summary(&dir.join("out"));
    check_identity(&s);
    assert_eq!(s["sessions"]["sessions_pending"], 1);
    let pending = fs::read_to_string(dir.join("out/pending-sessions.jsonl")).unwrap();
    assert_eq!(pending.lines().count(), 1, "{pending}");
    let session: Value = serde_json::from_str(pending.lines().next().unwrap()).unwrap();
    assert_eq!(session["id"], "open-1");
    assert_eq!(session["events"].as_array().unwrap().len(), 2);
    let first = tree(&dir.join("out"));

    // The same command again: the output already holds that run.
    let again = rate_shipped(dir, &["a.sdr", "events.csv"], &["--out", "out"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("nothing to do"), "{}", again.stderr);
    assert_same_tree(&tree(&dir.join("out")), &first, "unchanged");

    // Other input: the output is replaced, nothing of the old one left.
    // No state, so the session is not carried: it is read again and is
    // pending again.
    let two = rate_shipped(dir, &["b.sdr", "events.csv"], &["--out", "out"]);
    assert_eq!(two.code, 1, "{}", two.stderr);
    let s = summary(&dir.join("out"));
    check_identity(&s);
    assert_eq!(s["inputs"], json!(["b.sdr", "events.csv"]));
    assert_eq!(s["sessions"]["events_carried_in"], 0);
    let files: Vec<String> = tree(&dir.join("out/priced")).into_keys().collect();
    assert_eq!(files, ["b.sdr"]);
    assert_eq!(
        fs::read_to_string(dir.join("out/pending-sessions.jsonl"))
            .unwrap()
            .lines()
            .count(),
        1
    );
    // A run killed while replacing (old output moved aside, new one not
    // yet in place) leaves no output; the next run writes one and clears
    // what the killed one left.
    fs::rename(dir.join("out"), dir.join(".out.old")).unwrap();
    fs::create_dir_all(dir.join(".out.partial/priced")).unwrap();
    // Without the event log nothing is pending, and the list goes.
    let three = rate_shipped(dir, &["b.sdr"], &["--out", "out"]);
    assert_eq!(three.code, 1, "{}", three.stderr);
    assert!(!dir.join("out/pending-sessions.jsonl").exists());
    assert_eq!(leftovers(dir), Vec::<String>::new());
    // Without state nothing is skipped as consumed.
    let four = rate_shipped(dir, &["a.sdr"], &["--out", "out4"]);
    assert_eq!(four.code, 1, "{}", four.stderr);
    assert!(!four.stderr.contains("skipping"), "{}", four.stderr);
    assert_eq!(n(&summary(&dir.join("out4")), "records_read"), 2_000);

    // A directory that is not an sdrate output is never replaced; an empty
    // one is used.
    fs::create_dir(dir.join("notes")).unwrap();
    fs::write(dir.join("notes/keep.txt"), b"mine").unwrap();
    let d = rate_shipped(dir, &["a.sdr"], &["--out", "notes"]);
    assert_eq!(d.code, 2, "{}", d.stderr);
    assert!(d.stderr.contains("not an sdrate output"), "{}", d.stderr);
    assert_eq!(
        tree(&dir.join("notes")),
        Tree::from([("keep.txt".to_owned(), Some(b"mine".to_vec()))])
    );
    fs::remove_dir_all(dir.join("notes")).unwrap();
    fs::create_dir(dir.join("out5")).unwrap();
    let d = rate_shipped(dir, &["a.sdr"], &["--out", "out5"]);
    assert_eq!(d.code, 1, "{}", d.stderr);
    assert!(dir.join("out5/manifest.json").is_file());

    // No state directory or leftovers anywhere.
    let mut after: Vec<String> = tree(dir)
        .into_keys()
        .filter(|k| !k.starts_with("out"))
        .collect();
    after.sort();
    assert_eq!(after, before);
}
