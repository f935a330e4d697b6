//! The exit-code table (README.md, src/exit.rs) from the command line, and
//! the main job of README.md on the shipped fixtures and price lists.

use std::fs;

use crate::common::{PRICING_TIME, run, sdrate, summary};

#[test]
fn main_job_on_the_shipped_fixtures_accounts_for_every_record() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    let r = run(sdrate()
        .args(["rate", "fixtures/", "--out"])
        .arg(&out)
        .args(["--pricing-time", PRICING_TIME]));
    // The fixtures carry one of each fault on purpose: exit code 1.
    assert_eq!(r.code, 1, "{}", r.stderr);
    let s = summary(&out);
    let n = |k: &str| s[k].as_u64().unwrap();
    assert_eq!(n("records_read"), 51);
    assert_eq!(
        n("priced") + n("price_requests") + n("not_priced") + n("session_events") + n("faulted"),
        51
    );
    assert_eq!(
        [
            n("priced"),
            n("price_requests"),
            n("not_priced"),
            n("session_events"),
            n("faulted")
        ],
        [27, 2, 2, 17, 3]
    );
    assert_eq!(s["accounting_identity_holds"], true);
    assert!(r.stderr.contains("51 records read"), "{}", r.stderr);
}

#[test]
fn zero_when_every_record_prices() {
    let t = tempfile::tempdir().unwrap();
    let r = run(sdrate()
        .args(["rate", "fixtures/vpn.sdr", "fixtures/faxbox.sdr", "--out"])
        .arg(t.path())
        .args(["--pricing-time", PRICING_TIME]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = summary(t.path());
    assert_eq!(s["faulted"], 0);
    assert_eq!(s["priced"], s["records_read"]);
}

#[test]
fn one_when_records_are_faulty() {
    let t = tempfile::tempdir().unwrap();
    let r = run(sdrate()
        .args(["rate", "fixtures/broken/truncated.sdr", "--out"])
        .arg(t.path()));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(summary(t.path())["faulted"].as_u64().unwrap() >= 1);
}

#[test]
fn two_for_usage_errors() {
    let t = tempfile::tempdir().unwrap();
    for args in [
        vec!["rate"],                                       // no input
        vec!["rate", "fixtures/vpn.sdr"],                   // no --out
        vec!["rate", "fixtures/vpn.sdr", "--no-such-flag"], // unknown flag
        vec!["frobnicate"],                                 // unknown command
    ] {
        let r = run(sdrate().args(&args).env_remove("SDRATE_OUT"));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
    for bad in [["--threads", "0"], ["--pricing-time", "yesterday"]] {
        let r = run(sdrate()
            .args(["rate", "fixtures/vpn.sdr", "--out"])
            .arg(t.path().join("o"))
            .args(bad));
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
        assert!(r.stderr.contains(bad[0]), "{}", r.stderr);
    }
}

#[test]
fn three_for_bad_price_lists_or_customers() {
    let t = tempfile::tempdir().unwrap();
    let lists = t.path().join("lists");
    fs::create_dir(&lists).unwrap();
    // No lists at all.
    let r = run(sdrate()
        .args(["rate", "fixtures/vpn.sdr", "--out"])
        .arg(t.path().join("o"))
        .arg("--price-lists")
        .arg(&lists));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("no price lists found"), "{}", r.stderr);
    // A money amount written as a float: the line and column are named.
    fs::write(
        lists.join("basic.toml"),
        "id = \"b\"\nrevision = 1\nkind = \"basic\"\nservice = \"VPN\"\n\
         valid_from = \"2026-01-01T00:00:00Z\"\nitems = [\"call\"]\n",
    )
    .unwrap();
    fs::write(
        lists.join("base.toml"),
        "id = \"x\"\nrevision = 1\nkind = \"base\"\nservice = \"VPN\"\nbased_on = \"b\"\n\
         marketing_company = \"m\"\nvalid_from = \"2026-01-01T00:00:00Z\"\ncurrency = \"SEK\"\n\
         vat_percent = 25.0\n",
    )
    .unwrap();
    let r = run(sdrate()
        .args(["rate", "fixtures/vpn.sdr", "--out"])
        .arg(t.path().join("o"))
        .arg("--price-lists")
        .arg(&lists));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("base.toml: line 9, column 15"),
        "{}",
        r.stderr
    );
    // A customer registry that does not parse.
    let customers = t.path().join("customers.csv");
    fs::write(&customers, "customer_id,marketing_company,group\nC1\n").unwrap();
    let r = run(sdrate()
        .args(["rate", "fixtures/vpn.sdr", "--out"])
        .arg(t.path().join("o"))
        .arg("--customers")
        .arg(&customers));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("customers.csv"), "{}", r.stderr);
    assert!(
        !t.path().join("o").exists(),
        "nothing written before the plan holds"
    );
}

#[test]
fn four_for_io_errors() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("missing.sdr");
    let r = run(sdrate()
        .args(["rate", "--out"])
        .arg(t.path().join("o"))
        .arg(&missing));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("missing.sdr"), "{}", r.stderr);
    // The output directory cannot be created: a file is in the way.
    let blocker = t.path().join("file");
    fs::write(&blocker, "").unwrap();
    let r = run(sdrate()
        .args(["rate", "fixtures/vpn.sdr", "--out"])
        .arg(blocker.join("out")));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("file/out"), "{}", r.stderr);
}
