//! Unattended quality assurance (issue 5): thresholds that fail a run with
//! exit code 6, the comparison with a previous run, and quality-assurance
//! SDRs priced into their report, never billed.

use std::fs;
use std::path::Path;

use crate::common::{run, sdrate, summary};

const PRICING_TIME: &str = "2026-11-23T02:00:00+01:00";

/// Rates inputs from the repository (the fixtures: 51 SDRs and 12 + 10
/// event-log rows, of which 3 SDRs and 1 row fault) into `out`, with
/// extra options.
fn rate(dir: &Path, inputs: &[&str], out: &str, extra: &[&str]) -> (i32, String) {
    let r = run(sdrate()
        .arg("rate")
        .args(inputs)
        .arg("--out")
        .arg(dir.join(out))
        .args(["--pricing-time", PRICING_TIME])
        .args(extra));
    (r.code, r.stderr)
}

#[test]
fn fault_thresholds_turn_faults_into_exit_6() {
    let t = tempfile::tempdir().unwrap();
    // 4 faults of 51 + 22 = 73 records and rows: 5.48 %.
    let (code, err) = rate(t.path(), &["fixtures/"], "a", &["--max-faults", "4"]);
    assert_eq!(code, 1, "4 faults are within --max-faults 4: {err}");
    let (code, err) = rate(t.path(), &["fixtures/"], "b", &["--max-faults", "3"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("4 faults, more than --max-faults 3"), "{err}");
    let (code, err) = rate(t.path(), &["fixtures/"], "c", &["--max-fault-share", "6"]);
    assert_eq!(code, 1, "{err}");
    let (code, err) = rate(t.path(), &["fixtures/"], "d", &["--max-fault-share", "5.4"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("faults are 5.48% of 73"), "{err}");
    // The output is published all the same: the threshold is a verdict.
    assert!(t.path().join("d/manifest.json").exists());
}

#[test]
fn totals_are_compared_with_a_previous_run() {
    let t = tempfile::tempdir().unwrap();
    // The previous run also had faxbox.sdr, so totals drop in the new one;
    // the report's rows must agree with both summaries.
    let (code, _) = rate(
        t.path(),
        &["fixtures/vpn.sdr", "fixtures/faxbox.sdr"],
        "prev",
        &[],
    );
    assert_eq!(code, 0);
    let prev = summary(&t.path().join("prev"));
    let (code, _) = rate(t.path(), &["fixtures/vpn.sdr"], "now", &[]);
    assert_eq!(code, 0);
    let now = summary(&t.path().join("now"));
    let prev_dir = t.path().join("prev");
    let prev_arg = prev_dir.to_str().unwrap();
    let (code, err) = rate(
        t.path(),
        &["fixtures/vpn.sdr"],
        "qa",
        &[
            "--dry-run",
            "--previous",
            prev_arg,
            "--max-total-change",
            "0",
        ],
    );
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("more than --max-total-change 0%"), "{err}");
    // Every (currency, company) row: previous, now and the difference.
    let diff = fs::read_to_string(t.path().join("qa/difference-totals.csv")).unwrap();
    let mut lines = diff.lines();
    assert_eq!(
        lines.next(),
        Some("currency,marketing_company,previous,now,difference")
    );
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let money = |v: &serde_json::Value| {
            v[f[0]][f[1]]["individual"]
                .as_str()
                .unwrap_or("0")
                .parse::<rust_decimal::Decimal>()
                .unwrap()
        };
        let (p, n): (rust_decimal::Decimal, rust_decimal::Decimal) =
            (f[2].parse().unwrap(), f[3].parse().unwrap());
        assert_eq!(p, money(&prev["totals"]), "{line}");
        assert_eq!(n, money(&now["totals"]), "{line}");
        assert_eq!(
            f[4].parse::<rust_decimal::Decimal>().unwrap(),
            n - p,
            "{line}"
        );
    }
    // The same input as the previous run moves nothing.
    let (code, err) = rate(
        t.path(),
        &["fixtures/vpn.sdr", "fixtures/faxbox.sdr"],
        "qa2",
        &[
            "--dry-run",
            "--previous",
            prev_arg,
            "--max-total-change",
            "0",
        ],
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn quality_assurance_sdrs_are_priced_into_their_report_only() {
    let t = tempfile::tempdir().unwrap();
    let (code, _) = rate(t.path(), &["fixtures/every_type.sdr"], "o", &[]);
    assert!(code == 0 || code == 1);
    // every_type.sdr holds one quality-assurance SDR (1002 from qa-probe-3,
    // naming no customer): reported, not billed.
    let report = fs::read_to_string(t.path().join("o/quality-assurance.csv")).unwrap();
    assert_eq!(
        report,
        "sdr_identifier,producer,customer,marketing_company,currency,basic_price,individual_price,status,cause\n\
         1002,qa-probe-3,,megacom,,,,unableToLocateServiceUser,the SDR names no customer\n"
    );
    let s = summary(&t.path().join("o"));
    assert_eq!(s["quality_assurance"], 1);
}
