//! Network costs (the seed's Figures 16 and 19, pages 36-41): with
//! `--network-costs DIR`, every hop of a billed SDR's network service
//! modules is costed under its provider's list, reported per hop and per
//! provider, network, service and day, and carried into the production
//! cost per marketing company and the margins (docs/network-costs.md).
//!
//! The fixture is the seed's own example, `tests/data/network/`: a VPN
//! call between two sites in Spain whose service logic runs in Sweden
//! (producer spe-stockholm, marketing company megacom), signalling via
//! France and Germany, the voice channel in the Spanish network. Every
//! expected amount below is computed by hand from the lists in
//! `tests/data/network/costs/` (all in SEK, rounded half away from zero to
//! 2 decimals):
//!
//! SDR 9001, 2026-11-20 10:00+01:00, 185 s:
//! - fr-signal, signalling, 12 units consumed, 0.20 per started 10 units:
//!   2 units × 0.20 = 0.40;
//! - de-signal, signalling, 0.06 per started minute: 185 s → 240 s, 4 ×
//!   0.06 = 0.24;
//! - es-voice r1, voice channel, 0.30 per minute by the second: 185 × 0.30
//!   / 60 = 0.925 exactly → 0.93 (a division first gives 0.92499... and
//!   0.92);
//! - network cost 0.40 + 0.24 + 0.93 = 1.57; megacom's VPN terms
//!   (refinement 20 % plus 0.10, margin 10 %): refinement 0.314 + 0.10 =
//!   0.414 → 0.41, margin (1.57 + 0.41) × 10 % = 0.198 → 0.20, production
//!   1.57 + 0.41 + 0.20 = 2.18;
//! - revenue (megacom base r1, 0.6 per minute, corporate 10 % off): 185 ×
//!   0.6 / 60 = 1.85, less 10 % = 1.665 → 1.67; margin 1.67 − 1.57 = 0.10.
//!
//! SDR 9002, 2026-12-02 09:00+01:00 (a Wednesday), 100 s:
//! - es-voice r2 (valid from December), 0.36 per minute by the second:
//!   100 × 0.36 / 60 = 0.60;
//! - it-transit, ip: no list: reported, not costed, and the SDR is still
//!   priced;
//! - production: refinement 0.12 + 0.10 = 0.22, margin 0.82 × 10 % = 0.082
//!   → 0.08, production 0.60 + 0.22 + 0.08 = 0.90;
//! - revenue (megacom base r3, peak 0.69 per minute, 10 % off): 100 ×
//!   0.69 / 60 = 1.15, less 10 % = 1.035 → 1.04; margin 1.04 − 0.60 =
//!   0.44.
//!
//! Totals: network cost 1.57 + 0.60 = 2.17 SEK, production cost 2.18 +
//! 0.90 = 3.08 SEK.

use std::fs;
use std::path::Path;

use serde_json::json;

use crate::common::{ROOT, csv_rows, files, repo, run_in, summary, without_timing};

const PRICING_TIME: &str = "2026-12-06T02:00:00+01:00";

/// The seed example encoded into `dir/seed-vpn.sdr`.
fn seed(dir: &Path) {
    let r = run_in(
        dir,
        &[
            "encode",
            &format!("{ROOT}/tests/data/network/seed-vpn.jsonl"),
            "-o",
            "seed-vpn.sdr",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// `rate seed-vpn.sdr --out OUT` with the shipped price lists, and the
/// network cost lists `network` when given.
fn rate(dir: &Path, out: &str, network: Option<&str>, threads: &str) -> crate::common::Run {
    let mut extra = vec!["-q", "--threads", threads];
    if let Some(n) = network {
        extra.extend(["--network-costs", n]);
    }
    crate::common::shipped(dir, "rate", "seed-vpn.sdr", out, PRICING_TIME, &extra)
}

fn costs_dir() -> String {
    repo("tests/data/network/costs").display().to_string()
}

fn rows(path: &Path) -> Vec<String> {
    csv_rows(path).into_iter().map(|r| r.join(",")).collect()
}

#[test]
fn the_seed_example_is_costed_per_hop_as_computed_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let r = rate(dir.path(), "out", Some(&costs_dir()), "2");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = dir.path().join("out");
    assert_eq!(
        rows(&out.join("network-cost-lines.csv")),
        [
            "spe-stockholm,9001,VPN,fr-signal,signalling,sse-paris,2026-11-20T10:00:00+01:00,185,12,net-fr-signal,1,0,2,SEK,0.40,costed,",
            "spe-stockholm,9001,VPN,de-signal,signalling,sse-frankfurt,2026-11-20T10:00:00+01:00,185,12,net-de-signal,1,240,0,SEK,0.24,costed,",
            "spe-stockholm,9001,VPN,es-voice,voiceChannel,sse-madrid,2026-11-20T10:00:00+01:00,185,,net-es-voice,1,185,0,SEK,0.93,costed,",
            "spe-stockholm,9002,VPN,es-voice,voiceChannel,sse-madrid,2026-12-02T09:00:00+01:00,100,,net-es-voice,2,100,0,SEK,0.60,costed,",
            "spe-stockholm,9002,VPN,it-transit,ip,sse-milano,2026-12-02T09:00:00+01:00,100,5000,,,,,,,noList,\"no network cost list for provider it-transit, network ip\"",
        ]
        .map(|s| s.replace('"', "")),
        "one row per hop, in input order"
    );
    // Per service use session (one SDR): 0.40 + 0.24 + 0.93 = 1.57 for
    // 9001; 0.60 for 9002, whose Italian hop has no list.
    assert_eq!(
        rows(&out.join("network-costs-by-session.csv")),
        [
            "spe-stockholm,9001,VPN,3,0,SEK,1.57",
            "spe-stockholm,9002,VPN,2,1,SEK,0.60",
        ]
    );
    // Per provider, network, service and day: what each provider's
    // invoice is checked against.
    assert_eq!(
        rows(&out.join("network-costs.csv")),
        [
            "de-signal,signalling,VPN,2026-11-20,SEK,1,0,185,240,12,0,0.24",
            "es-voice,voiceChannel,VPN,2026-11-20,SEK,1,0,185,185,0,0,0.93",
            "es-voice,voiceChannel,VPN,2026-12-02,SEK,1,0,100,100,0,0,0.60",
            "fr-signal,signalling,VPN,2026-11-20,SEK,1,0,185,0,12,2,0.40",
            "it-transit,ip,VPN,2026-12-02,,1,1,100,0,5000,0,",
        ]
    );
    assert_eq!(
        rows(&out.join("production-costs.csv")),
        [
            "megacom,VPN,2026-11-20,SEK,1,1.57,0.41,0.20,2.18,yes",
            "megacom,VPN,2026-12-02,SEK,1,0.60,0.22,0.08,0.90,yes",
        ]
    );
    assert_eq!(
        rows(&out.join("margins.csv")),
        [
            "2026-11-20,VPN,SEK,1.67,0,1.57,0.10",
            "2026-12-02,VPN,SEK,1.04,0,0.60,0.44",
        ]
    );
    let s = summary(&out);
    assert_eq!(
        s["priced"], 2,
        "a hop without a list is no fault of the SDR"
    );
    assert_eq!(s["faulted"], 0);
    assert_eq!(
        s["network_costs"],
        json!({
            "lists": 4,
            "hops": 5,
            "hops_costed": 4,
            "hops_without_list": 1,
            "without_list": {"it-transit/ip": 1},
            "cost": {"SEK": "2.17"},
            "production_cost": {"SEK": {"megacom": "3.08"}},
            "usage_modules_without_terms": 0
        })
    );
}

/// Every output of a run without `--network-costs` is the same, byte for
/// byte, in a run with it; the second only adds its four reports and the
/// summary's block (and another run id: its reports are outputs too).
#[test]
fn network_costing_changes_no_other_output() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    assert_eq!(rate(dir.path(), "plain", None, "2").code, 0);
    assert_eq!(rate(dir.path(), "costed", Some(&costs_dir()), "2").code, 0);
    let plain = files(&dir.path().join("plain"));
    let costed = files(&dir.path().join("costed"));
    let added: Vec<&str> = costed
        .keys()
        .filter(|k| !plain.contains_key(*k))
        .map(String::as_str)
        .collect();
    assert_eq!(
        added,
        [
            "margins.csv",
            "network-cost-lines.csv",
            "network-costs-by-session.csv",
            "network-costs.csv",
            "production-costs.csv"
        ]
    );
    for (name, bytes) in &plain {
        if name == "summary.json" || name == "manifest.json" {
            continue;
        }
        assert_eq!(&costed[name], bytes, "{name} differs");
    }
    let plain_summary = summary(&dir.path().join("plain"));
    assert!(plain_summary.get("network_costs").is_none());
    let mut costed_summary = summary(&dir.path().join("costed"));
    let obj = costed_summary.as_object_mut().unwrap();
    obj.remove("network_costs");
    obj.insert("run_id".into(), plain_summary["run_id"].clone());
    let pretty = |v: &serde_json::Value| without_timing(&serde_json::to_string_pretty(v).unwrap());
    assert_eq!(pretty(&costed_summary), pretty(&plain_summary));
}

#[test]
fn network_cost_reports_are_the_same_at_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    assert_eq!(rate(dir.path(), "one", Some(&costs_dir()), "1").code, 0);
    assert_eq!(rate(dir.path(), "four", Some(&costs_dir()), "4").code, 0);
    for name in [
        "network-cost-lines.csv",
        "network-costs.csv",
        "production-costs.csv",
        "margins.csv",
    ] {
        assert_eq!(
            fs::read(dir.path().join("one").join(name)).unwrap(),
            fs::read(dir.path().join("four").join(name)).unwrap(),
            "{name}"
        );
    }
}

/// A bad list stops the run before anything is read: exit 3, naming the
/// file, line and column and what is wrong.
#[test]
fn a_bad_network_cost_list_is_a_configuration_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let costs = dir.path().join("costs");
    fs::create_dir(&costs).unwrap();
    fs::write(
        costs.join("fr.toml"),
        "id = \"fr\"\nrevision = 1\nprovider = \"fr-signal\"\nnetwork = \"signaling\"\n\
         valid_from = \"2026-01-01T00:00:00+01:00\"\ncurrency = \"SEK\"\n[duration]\nprice = \"0.1\"\n",
    )
    .unwrap();
    let r = rate(dir.path(), "out", Some("costs"), "1");
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "costs/fr.toml: line 4, column 11: network `signaling` is not a type of network; one of: signalling, ip, voiceChannel, atm, mobile"
        ),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("out").exists(), "nothing is written");
    let r = rate(dir.path(), "out", Some("missing"), "1");
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("there is no network cost directory missing"),
        "{}",
        r.stderr
    );
}

/// `sdrate check --network-costs DIR` loads the lists as a run does and
/// lists every revision by provider and network; a bad list is exit 3.
#[test]
fn check_lists_network_cost_lists_and_refuses_a_bad_one() {
    let r = crate::common::run(crate::common::sdrate().args([
        "check",
        "--network-costs",
        "tests/data/network/costs",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tail: Vec<&str> = r
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("network cost lists"))
        .collect();
    assert_eq!(
        tail,
        [
            "network cost lists in tests/data/network/costs: 4 list revisions",
            "  de-signal signalling",
            "    net-de-signal r1: from 2026-01-01 00:00:00 +01:00, SEK: 0.06 per 60 s in 60 s increments",
            "  es-voice voiceChannel",
            "    net-es-voice r1: from 2026-01-01 00:00:00 +01:00, SEK: 0.30 per 60 s in 1 s increments",
            "    net-es-voice r2: from 2026-12-01 00:00:00 +01:00, SEK: 0.36 per 60 s in 1 s increments",
            "  fr-signal signalling",
            "    net-fr-signal r1: from 2026-01-01 00:00:00 +01:00, SEK: 0.20 per 10 capacity units",
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("es.toml"),
        "id = \"es\"\nrevision = 1\nprovider = \"es-voice\"\nnetwork = \"voiceChannel\"\n\
         valid_from = \"2026-01-01T00:00:00+01:00\"\ncurrency = \"SEK\"\n",
    )
    .unwrap();
    let r = crate::common::run(
        crate::common::sdrate()
            .args(["check", "--network-costs"])
            .arg(dir.path()),
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("a network cost list prices [duration], [capacity] or both; it has neither"),
        "{}",
        r.stderr
    );
}
