//! State that lasts (issue 22): the nightly command run twice, a recycle
//! as a full billing run, duplicates within one run without a state
//! directory.

use std::fs;
use std::path::Path;

use crate::common::{repo, run_in, summary};

const PRICING_TIME: &str = "2026-11-23T02:00:00+01:00";

fn lists() -> [String; 4] {
    [
        "--price-lists".into(),
        repo("price_lists").display().to_string(),
        "--customers".into(),
        "customers.csv".into(),
    ]
}

fn sdrate(dir: &Path, args: &[&str]) -> crate::common::Run {
    let lists = lists();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(lists.iter().map(String::as_str));
    run_in(dir, &all)
}

#[test]
fn a_copy_within_one_run_is_a_duplicate_without_state() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    fs::copy(repo("price_lists/customers.csv"), dir.join("customers.csv")).unwrap();
    fs::copy(repo("fixtures/vpn.sdr"), dir.join("vpn.sdr")).unwrap();
    fs::copy(repo("fixtures/vpn.sdr"), dir.join("copy.sdr")).unwrap();
    let r = sdrate(
        dir,
        &[
            "rate",
            "vpn.sdr",
            "copy.sdr",
            "--out",
            "out",
            "--pricing-time",
            PRICING_TIME,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = summary(&dir.join("out"));
    // fixtures/vpn.sdr holds 3 billing SDRs: each is billed once.
    assert_eq!(s["records_read"], 6);
    assert_eq!(s["priced"], 3);
    assert_eq!(s["duplicates"], 3);
    assert_eq!(s["accounting_identity_holds"], true);
    // The copies, byte for byte, are set aside; the first file is billed.
    assert_eq!(
        fs::read(dir.join("out/duplicates.sdr")).unwrap(),
        fs::read(dir.join("copy.sdr")).unwrap()
    );
    assert!(
        fs::read(dir.join("out/priced/copy.sdr"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_nightly_command_run_twice_on_one_day_finds_its_run_done() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    fs::copy(repo("price_lists/customers.csv"), dir.join("customers.csv")).unwrap();
    fs::create_dir_all(dir.join("spool")).unwrap();
    fs::create_dir_all(dir.join("out")).unwrap();
    for f in ["vpn.sdr", "broadband.sdr"] {
        fs::copy(repo(&format!("fixtures/{f}")), dir.join("spool").join(f)).unwrap();
    }
    // docs/operations.md's cron line: no --pricing-time (the clock's).
    let night = [
        "-q",
        "rate",
        "spool/",
        "--state",
        "state",
        "--out",
        "out/2026-11-23",
        "--summary-json",
        "out/2026-11-23.summary.json",
        // The window counts back from the clock: wide enough that the
        // fixtures' November 2026 stays inside it whenever this runs.
        "--duplicate-window",
        "100000",
    ];
    let first = sdrate(dir, &night);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.stderr, "");
    let published = fs::read(dir.join("out/2026-11-23/manifest.json")).unwrap();
    let again = sdrate(dir, &night);
    assert_eq!(again.code, 0, "{}", again.stderr);
    // Under -q the skipped inputs are one count, not one line a file.
    let lines: Vec<&str> = again.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", again.stderr);
    assert!(
        lines[0].contains("skipped 2 input(s) already rated"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("nothing to do"), "{}", lines[1]);
    assert_eq!(
        fs::read(dir.join("out/2026-11-23/manifest.json")).unwrap(),
        published,
        "the published run is left as it was"
    );
    // Without -q each skipped input is named.
    let loud = sdrate(dir, &night[1..]);
    assert_eq!(loud.code, 0, "{}", loud.stderr);
    assert_eq!(
        loud.stderr.matches("skipping ").count(),
        2,
        "{}",
        loud.stderr
    );
}

#[test]
fn recycle_is_a_full_billing_run_routing_and_thresholds_included() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    fs::copy(repo("price_lists/customers.csv"), dir.join("customers.csv")).unwrap();
    fs::write(
        dir.join("routing.toml"),
        "[[subscriber]]\nname = \"invoicing\"\nformat = \"csv\"\n\
         items = [\"sdr_identifier\", \"customer\", \"individual_price\", \"currency\"]\n",
    )
    .unwrap();
    let faults = repo("fixtures/faults.sdr").display().to_string();
    let night = sdrate(
        dir,
        &[
            "rate",
            &faults,
            "--state",
            "state",
            "--out",
            "night-1",
            "--pricing-time",
            PRICING_TIME,
        ],
    );
    assert_eq!(night.code, 1, "{}", night.stderr);
    // The registry learns C04711 (megacom): SDR 1301 now prices, 1302
    // (service HOLO, no price list) still faults.
    let mut reg = fs::read_to_string(dir.join("customers.csv")).unwrap();
    reg.push_str("C04711,megacom,\n");
    fs::write(dir.join("customers.csv"), reg).unwrap();
    let recycle = sdrate(
        dir,
        &[
            "recycle",
            "--state",
            "state",
            "--out",
            "recycle-1",
            "--routing",
            "routing.toml",
            "--max-faults",
            "0",
            "--duplicate-window",
            "120",
            "--previous",
            "night-1",
            "--pricing-time",
            PRICING_TIME,
        ],
    );
    // One fault left: more than --max-faults 0, so the threshold's exit 6.
    assert_eq!(recycle.code, 6, "{}", recycle.stderr);
    assert!(
        recycle.stderr.contains("--max-faults 0"),
        "{}",
        recycle.stderr
    );
    let s = summary(&dir.join("recycle-1"));
    assert_eq!(
        (s["priced"].as_u64(), s["faulted"].as_u64()),
        (Some(1), Some(1))
    );
    // The rescued SDR reaches the invoicing feed.
    let feed = fs::read_to_string(dir.join("recycle-1/subscribers/invoicing.csv")).unwrap();
    let rows: Vec<&str> = feed.lines().collect();
    assert_eq!(rows.len(), 2, "{feed}");
    assert!(rows[1].starts_with("1301,C04711,"), "{feed}");
    // --previous compared the totals with the night's.
    assert!(dir.join("recycle-1/difference-totals.csv").is_file());
    // The recycle's output is a published run that rerate understands.
    let rerate = sdrate(
        dir,
        &[
            "rerate",
            "recycle-1",
            "--out",
            "rerated",
            "--pricing-time",
            PRICING_TIME,
        ],
    );
    assert_eq!(rerate.code, 0, "{}", rerate.stderr);
    let r = summary(&dir.join("rerated"));
    assert_eq!(
        (r["repriced"].as_u64(), r["unchanged"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn an_event_after_its_session_ended_is_counted_late_not_a_new_session() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    fs::copy(repo("price_lists/customers.csv"), dir.join("customers.csv")).unwrap();
    // The shipped conference (priced in docs/sessions.md), then p2's logoff
    // 40 minutes after the session's end.
    let mut log = fs::read_to_string(repo("fixtures/conference-events.csv")).unwrap();
    log.push_str(
        "conf-20261122-0100,CONF,participantRelated,logoff,2026-11-22T11:30:00+01:00,p2,jonas.lind,C00412,participant,13,prov-conf,\n",
    );
    fs::write(dir.join("events.csv"), log).unwrap();
    let r = sdrate(
        dir,
        &[
            "rate",
            "events.csv",
            "--state",
            "state",
            "--out",
            "out",
            "--pricing-time",
            PRICING_TIME,
        ],
    );
    // Exit 1: the fixture's one misspelt row ("jion") faults, as always.
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s = summary(&dir.join("out"));
    let sessions = &s["sessions"];
    assert_eq!(sessions["late_events"], 1);
    assert_eq!(sessions["sessions_priced"], 1);
    assert_eq!(sessions["sessions_faulted"], 0);
    assert_eq!(sessions["sessions_pending"], 0);
    assert_eq!(s["accounting_identity_holds"], true);
    let late = crate::common::csv_maps(&dir.join("out/late-events.csv"));
    assert_eq!(late.len(), 1);
    assert_eq!(late[0]["position"], "line 14");
    assert_eq!(late[0]["event_type"], "logoff");
    assert_eq!(late[0]["sequence"], "13");
    // Nothing waits in the state directory to fault a later night.
    let pending = fs::read_to_string(dir.join("state/pending-sessions.jsonl")).unwrap_or_default();
    assert!(!pending.contains("conf-20261122-0100"), "{pending}");
}

// ---------------------------------------------------------------------------
// Customers over time: the registry row valid at the time of use

/// acme's base list: 0.60 a minute, charged per second.
const MOVE_BASE: &str = r#"
id = "vpn-acme-base"
revision = 1
kind = "base"
service = "VPN"
based_on = "vpn-basic"
marketing_company = "acme"
valid_from = "2026-01-01T00:00:00+01:00"
currency = "SEK"
vat_percent = "25"

[[charge]]
item = "call"
per = "duration"
price = "0.60"
"#;

/// acme's group silver: its own charge, 0.30 a minute.
const MOVE_SILVER: &str = r#"
id = "vpn-acme-silver"
revision = 1
kind = "group"
service = "VPN"
based_on = "vpn-basic"
marketing_company = "acme"
group = "silver"
valid_from = "2026-01-01T00:00:00+01:00"

[[charge]]
item = "call"
per = "duration"
price = "0.30"
"#;

/// Within the duplicate window of the calls below.
const MOVE_PRICED_AT: &str = "2026-03-31T02:00:00+02:00";

/// K1 is in gold until 15 March 2026 00:00 UTC and in silver from then; K2
/// joins acme on 1 April.
const MOVE_CUSTOMERS: &str = "\
customer_id,marketing_company,group,valid_from,valid_to
K1,acme,gold,,2026-03-15
K1,acme,silver,2026-03-15,
K2,acme,,2026-04-01T00:00:00Z,
";

/// (sdrIdentifier, basic price, individual price, table) of every SDR of
/// a priced file.
fn prices(file: &Path) -> Vec<(u64, String, String, String)> {
    crate::common::inspect(file)
        .iter()
        .map(|v| {
            let sdr = &v["sdr"];
            let item = &sdr["servicePricingModules"][0]["prices"][0];
            let s = |k: &str| item[k].as_str().unwrap_or_default().to_owned();
            (
                sdr["serviceHeader"]["sdrIdentifier"].as_u64().unwrap(),
                s("basicPrice"),
                s("individualPrice"),
                s("priceTableIdentifier"),
            )
        })
        .collect()
}

#[test]
fn a_customer_who_moved_group_mid_month_is_priced_and_rerated_with_the_group_of_the_day() {
    use crate::common::{Call, csv_maps, data_list};
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let lists = dir.join("lists");
    fs::create_dir_all(&lists).unwrap();
    fs::write(lists.join("basic.toml"), data_list("vpn-basic")).unwrap();
    fs::write(lists.join("base.toml"), MOVE_BASE).unwrap();
    // gold: 10 % off the base list.
    fs::write(lists.join("gold.toml"), data_list("vpn-acme-gold")).unwrap();
    fs::write(lists.join("silver.toml"), MOVE_SILVER).unwrap();
    fs::write(dir.join("customers.csv"), MOVE_CUSTOMERS).unwrap();
    let records = [
        // 14 March 23:30 UTC: the last day in gold.
        Call::new(1, "K1", "acme", "2026-03-15T00:30:00+01:00", 90).json(),
        // 15 March 09:00 UTC: silver.
        Call::new(2, "K1", "acme", "2026-03-15T10:00:00+01:00", 150).json(),
        // Before K2's first row.
        Call::new(3, "K2", "acme", "2026-03-20T10:00:00+01:00", 60).json(),
    ];
    crate::common::encode(dir, "in.jsonl", "in.sdr", &records);
    let tariff = ["--price-lists", "lists", "--customers", "customers.csv"];
    let mut args = vec![
        "rate",
        "in.sdr",
        "--out",
        "out",
        "--pricing-time",
        MOVE_PRICED_AT,
    ];
    args.extend(tariff);
    let r = run_in(dir, &args);
    assert_eq!(r.code, 1, "K2's call faults: {}", r.stderr);

    // By hand:
    // 1. 90 s, basic 0.60 × 90/60 = 0.90; gold 10 % off: 0.81.
    // 2. 150 s, basic 0.60 × 150/60 = 1.50; silver's own 0.30 × 150/60 = 0.75.
    let s = |id, basic: &str, individual: &str, table: &str| {
        (
            id,
            basic.to_owned(),
            individual.to_owned(),
            table.to_owned(),
        )
    };
    let want = vec![
        s(1, "0.90", "0.81", "vpn-acme-gold"),
        s(2, "1.50", "0.75", "vpn-acme-silver"),
    ];
    assert_eq!(prices(&dir.join("out/priced/in.sdr")), want);
    // K2 exists, but not yet: the unknown customer's fault, saying so.
    let faults = csv_maps(&dir.join("out/faults.csv"));
    assert_eq!(faults.len(), 1, "{faults:?}");
    let cause = faults[0].values().cloned().collect::<Vec<_>>().join("|");
    assert!(cause.contains("unableToLocateServiceUser"), "{cause}");
    assert!(
        cause.contains(
            "customer `K2` is in the customer registry with other validity: no row of it is \
             valid at 2026-03-20 10:00:00 +01:00 (valid from 2026-04-01T00:00:00Z, line 4)"
        ),
        "{cause}"
    );

    // Re-rated, the same SDRs get the same prices from the same lists.
    let mut args = vec![
        "rerate",
        "out",
        "--out",
        "rerated",
        "--pricing-time",
        MOVE_PRICED_AT,
    ];
    args.extend(tariff);
    let r = run_in(dir, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(prices(&dir.join("rerated/priced/in.sdr")), want);

    // `explain` takes the same row.
    let mut args = vec!["explain", "in.sdr", "--sdr-id", "2"];
    args.extend(tariff);
    let r = run_in(dir, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "K1: in the registry, marketing company acme, group silver (row valid from \
             2026-03-15T00:00:00Z, line 3)"
        ),
        "{}",
        r.stdout
    );
}
