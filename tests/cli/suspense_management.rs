//! Suspense and index management (issue 22, item 3): the suspense area
//! by cause and age, a recycle by cause, a write-off that balances and is
//! audited, which run billed a duplicate, and a run taken back out of the
//! duplicate index. The stories of docs/operations.md, run as an
//! operator runs them.

use std::fs;
use std::path::Path;

use crate::common::{ROOT, csv_maps, repo, run_in, summary};

/// Behind the fixtures' clocks: the session-event SDRs of 2026-11-21
/// 20:00+01:00 and later are "from the future" (a bad clock, ours).
const BEHIND: &str = "2026-11-20T12:00:00Z";
/// The clock fixed.
const FIXED: &str = "2026-11-23T00:00:00Z";
/// The clock suspense ages count to.
const NOW: &str = "2026-12-06T00:00:00Z";

/// `sdrate ARGS` in the repository root (so fault rows name
/// `fixtures/...`) with the shipped lists.
fn sdrate(args: &[&str]) -> crate::common::Run {
    run_in(Path::new(ROOT), args)
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// `rate fixtures/` at `BEHIND` with a state directory.
fn first_night(dir: &Path) -> (String, String) {
    let (out, state) = (path(&dir.join("out")), path(&dir.join("state")));
    let r = sdrate(&[
        "rate",
        "fixtures",
        "--out",
        &out,
        "--state",
        &state,
        "--pricing-time",
        BEHIND,
        "-q",
    ]);
    assert_eq!(r.code, 1, "faults expected: {}", r.stderr);
    (out, state)
}

/// `suspense list` as (cause, kind) -> (entries, 7-30 days).
fn listed(state: &str) -> Vec<(String, String, String, String)> {
    let r = sdrate(&["suspense", "list", "--state", state, "--now", NOW]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("total") && !l.starts_with("ages"))
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            (c[0].into(), c[1].into(), c[2].into(), c[5].into())
        })
        .collect()
}

fn row(cause: &str, kind: &str, n: u32) -> (String, String, String, String) {
    // Every entry of the fixtures is 13 to 16 days old at NOW.
    (cause.into(), kind.into(), n.to_string(), n.to_string())
}

#[test]
fn suspense_is_listed_by_cause_and_age_and_recycled_by_cause() {
    let t = tempfile::tempdir().unwrap();
    let (_, state) = first_night(t.path());
    // fixtures/faults.sdr holds three SDRs that never price; the
    // conference and game session-event SDRs (7) are after BEHIND plus
    // the 24 hours' tolerance, and so are the event logs' rows (22).
    let before = vec![
        row("eventRow", "eventRow", 22),
        row("futureTimeOfOrigin", "sdr", 7),
        row("unableToLocateRevisionStateOfFeature", "sdr", 1),
        row("unableToLocateServiceFeatureCode", "sdr", 1),
        row("unableToLocateServiceUser", "sdr", 1),
    ];
    assert_eq!(listed(&state), before);
    let shown = sdrate(&[
        "suspense",
        "show",
        "--state",
        &state,
        "--now",
        NOW,
        "--cause",
        "unableToLocateServiceUser",
    ]);
    assert_eq!(
        shown.stdout,
        "kind,file,offset,line,length,cause,detail,sdr_identifier,producer,time_of_use,age_days\n\
         sdr,fixtures/faults.sdr,0,,361,unableToLocateServiceUser,,1301,spe-1,2026-11-20T11:30:45+01:00,15\n"
    );
    let index_before: Vec<_> = csv_maps(&t.path().join("state/suspense-index.csv"))
        .into_iter()
        .filter(|r| r["cause"] != "futureTimeOfOrigin")
        .collect();

    // The clock fixed: recycle only the SDRs it faulted.
    let out2 = path(&t.path().join("out2"));
    let r = sdrate(&[
        "recycle",
        "--state",
        &state,
        "--out",
        &out2,
        "--cause",
        "futureTimeOfOrigin",
        "--pricing-time",
        FIXED,
        "-q",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = summary(Path::new(&out2));
    assert_eq!(s["records_read"], 7);
    assert_eq!(s["sessions"]["events_priced"], 7);
    assert_eq!(s["faulted"], 0);
    assert!(Path::new(&out2).join("priced/suspense.sdr").exists());
    // The rest stays as it was, in the same order.
    let mut after = before.clone();
    after.remove(1);
    assert_eq!(listed(&state), after);
    let index_after: Vec<_> = csv_maps(&t.path().join("state/suspense-index.csv"))
        .into_iter()
        .map(|mut r| {
            r.remove("position");
            r
        })
        .collect();
    let index_before: Vec<_> = index_before
        .into_iter()
        .map(|mut r| {
            r.remove("position");
            r
        })
        .collect();
    assert_eq!(index_after, index_before);
    assert!(!t.path().join("state/recycle-selection").exists());
    let audit = csv_maps(&t.path().join("state/audit.csv"));
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["action"], "recycle");
    assert_eq!(audit[0]["subject"], "cause futureTimeOfOrigin");
    assert_eq!(audit[0]["records"], "7");

    // A cause with nothing in suspense: nothing to do, nothing changed.
    let r = sdrate(&[
        "recycle",
        "--state",
        &state,
        "--out",
        &out2,
        "--cause",
        "futureTimeOfOrigin",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("holds nothing of cause futureTimeOfOrigin"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_write_off_balances_leaves_suspense_and_is_audited() {
    let t = tempfile::tempdir().unwrap();
    let (_, state) = first_night(t.path());
    let st = t.path().join("state");
    let suspense = fs::read(st.join("suspense.sdr")).unwrap();

    // Nothing chosen: refused, nothing changed.
    let r = sdrate(&["suspense", "write-off", "--state", &state, "--reason", "x"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("never implied"), "{}", r.stderr);
    assert_eq!(fs::read(st.join("suspense.sdr")).unwrap(), suspense);

    let r = sdrate(&[
        "suspense",
        "write-off",
        "--state",
        &state,
        "--reason",
        "customer gone; ticket 4711",
        "--cause",
        "unableToLocateServiceUser",
        "--entry",
        "faults.sdr:0",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // 32 entries before (see the listing test), 1 written off, 31 after.
    assert!(
        r.stderr
            .contains("wrote off 1 of 32 suspense entries (361 bytes), 31 left"),
        "{}",
        r.stderr
    );
    let audit = csv_maps(&st.join("written-off.csv"));
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["reason"], "customer gone; ticket 4711");
    assert_eq!(audit[0]["file"], "fixtures/faults.sdr");
    assert_eq!(audit[0]["offset"], "0");
    assert_eq!(audit[0]["cause"], "unableToLocateServiceUser");
    // The bytes written off are the first kept record, whole.
    let kept = fs::read(st.join("written-off.dat")).unwrap();
    assert_eq!(kept, suspense[..361]);
    assert_eq!(fs::read(st.join("suspense.sdr")).unwrap(), suspense[361..]);
    let log = csv_maps(&st.join("audit.csv"));
    assert_eq!(log[0]["action"], "write-off");
    assert_eq!(log[0]["records"], "1");
    assert!(!st.join("WRITE-OFF").exists());
    assert!(!st.join("suspense.sdr.new").exists());
    // A recycle afterwards does not see it.
    let out2 = path(&t.path().join("out2"));
    let r = sdrate(&[
        "recycle",
        "--state",
        &state,
        "--out",
        &out2,
        "--pricing-time",
        FIXED,
        "-q",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s = summary(Path::new(&out2));
    assert_eq!(s["faults_by_cause"].get("unableToLocateServiceUser"), None);
    assert_eq!(s["faults_by_cause"]["unableToLocateServiceFeatureCode"], 1);
}

#[test]
fn a_write_off_killed_after_its_journal_is_finished_by_the_next_open() {
    let t = tempfile::tempdir().unwrap();
    let (_, state) = first_night(t.path());
    let st = t.path().join("state");
    // As a write-off leaves things when killed between its journal and
    // its renames: the new suspense (without the first record) beside the
    // old, and the journal.
    let suspense = fs::read(st.join("suspense.sdr")).unwrap();
    let index = fs::read_to_string(st.join("suspense-index.csv")).unwrap();
    fs::write(st.join("suspense.sdr.new"), &suspense[361..]).unwrap();
    let mut lines: Vec<&str> = index.lines().collect();
    lines.remove(1);
    let shifted: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                return l.to_string();
            }
            let (pos, rest) = l.split_once(',').unwrap();
            format!("{},{rest}", pos.parse::<u64>().unwrap() - 361)
        })
        .collect();
    fs::write(st.join("suspense-index.csv.new"), shifted.join("\n") + "\n").unwrap();
    fs::write(st.join("WRITE-OFF"), "x").unwrap();
    let listed = listed(&state);
    assert_eq!(
        listed.iter().find(|r| r.0 == "unableToLocateServiceUser"),
        None
    );
    assert_eq!(fs::read(st.join("suspense.sdr")).unwrap(), suspense[361..]);
    assert!(!st.join("WRITE-OFF").exists());

    // Killed before its journal: the new files are dropped.
    fs::write(st.join("suspense.sdr.new"), b"junk").unwrap();
    let r = sdrate(&["suspense", "list", "--state", &state, "--now", NOW]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!st.join("suspense.sdr.new").exists());
    assert_eq!(fs::read(st.join("suspense.sdr")).unwrap(), suspense[361..]);
}

#[test]
fn the_index_says_which_run_billed_a_duplicate_and_a_run_billed_in_error_can_be_undone() {
    let t = tempfile::tempdir().unwrap();
    let (out1, out2, out3) = (
        path(&t.path().join("out1")),
        path(&t.path().join("out2")),
        path(&t.path().join("out3")),
    );
    let state = path(&t.path().join("state"));
    let night = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "rate",
            "fixtures/vpn.sdr",
            "--out",
            out,
            "--state",
            &state,
            "--pricing-time",
            FIXED,
            "-q",
        ];
        args.extend_from_slice(extra);
        let r = sdrate(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        summary(Path::new(out))
    };
    let first = night(&out1, &[]);
    let run1 = first["run_id"].as_str().unwrap().to_owned();
    assert_eq!(first["priced"], 3);
    // The same file again, forced: every SDR is a duplicate.
    let again = night(&out2, &["--force"]);
    assert_eq!(
        (again["priced"].clone(), again["duplicates"].clone()),
        (0.into(), 3.into())
    );

    let dups = path(&t.path().join("out2/duplicates.sdr"));
    let why = sdrate(&[
        "index",
        "why",
        "--state",
        &state,
        "--pricing-time",
        FIXED,
        &dups,
    ]);
    assert_eq!(why.code, 0, "{}", why.stderr);
    let rows: Vec<&str> = why.stdout.lines().collect();
    assert_eq!(rows.len(), 4, "{}", why.stdout);
    assert_eq!(
        rows[1],
        format!("{dups},0,spe-3,2201,2026-11-20T08:35:12+01:00,{run1},duplicate")
    );
    let runs = sdrate(&["index", "runs", "--state", &state]);
    assert!(
        runs.stdout
            .contains(&format!("{run1},3,2026-11-20,2026-11-20,published")),
        "{}",
        runs.stdout
    );

    // run 1 was billed in error: take it out, and bill the file again.
    let undo = sdrate(&[
        "index",
        "undo-run",
        &run1,
        "--state",
        &state,
        "--reason",
        "wrong customer registry",
    ]);
    assert_eq!(undo.code, 0, "{}", undo.stderr);
    assert!(
        undo.stderr
            .contains("3 SDRs from the duplicate index (1 days), 1 inputs"),
        "{}",
        undo.stderr
    );
    let why = sdrate(&[
        "index",
        "why",
        "--state",
        &state,
        "--pricing-time",
        FIXED,
        &dups,
    ]);
    assert!(
        why.stdout
            .lines()
            .skip(1)
            .all(|l| l.ends_with(",,not billed")),
        "{}",
        why.stdout
    );
    // (The forced night consumed the file too, billing nothing: the
    // corrected run forces it.)
    let rebilled = night(&out3, &["--force"]);
    assert_eq!(
        (rebilled["priced"].clone(), rebilled["duplicates"].clone()),
        (3.into(), 0.into())
    );
    let log = csv_maps(&t.path().join("state/audit.csv"));
    assert_eq!(log[0]["action"], "undo-run");
    assert_eq!(log[0]["subject"], run1);
    assert_eq!(log[0]["reason"], "wrong customer registry");
    assert_eq!(log[0]["records"], "3");
    // Nothing of an unknown run: refused.
    let r = sdrate(&[
        "index", "undo-run", "nope", "--state", &state, "--reason", "x",
    ]);
    assert_eq!(r.code, 2);
    assert!(repo("fixtures/vpn.sdr").exists());
}
