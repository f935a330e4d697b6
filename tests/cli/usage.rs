//! The usage analysis (`usage.csv`, `usage.svg`) of a rating run: every
//! priced usage, self-contained SDRs and sessions, by UTC day of use,
//! service and currency; a chart on every run.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use rust_decimal::Decimal;

use crate::common::{PRICING_TIME, csv_maps, run, sdrate, summary};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// `sdrate rate INPUTS --out OUT` in the repository root, at the fixed
/// pricing time.
fn rate(inputs: &[&str], out: &Path) -> i32 {
    let r = run(sdrate()
        .arg("-q")
        .arg("rate")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .args(["--pricing-time", PRICING_TIME]));
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    r.code
}

/// The row of usage.csv for (day, service, currency).
fn row<'a>(
    rows: &'a [BTreeMap<String, String>],
    day: &str,
    service: &str,
    currency: &str,
) -> &'a BTreeMap<String, String> {
    rows.iter()
        .find(|r| r["day"] == day && r["service"] == service && r["currency"] == currency)
        .unwrap_or_else(|| panic!("no row {day} {service} {currency} in {rows:#?}"))
}

fn fields<'a>(r: &'a BTreeMap<String, String>, names: &[&str]) -> Vec<&'a str> {
    names.iter().map(|n| r[*n].as_str()).collect()
}

/// Sum of `column` over `rows` by the key `key` gives.
fn sums(
    rows: &[BTreeMap<String, String>],
    key: impl Fn(&BTreeMap<String, String>) -> String,
    column: &str,
) -> BTreeMap<String, Decimal> {
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(key(r)).or_insert(Decimal::ZERO) += dec(&r[column]);
    }
    out
}

#[test]
fn usage_covers_every_priced_usage_of_the_main_job() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(rate(&["fixtures/"], &out), 1, "the fixtures carry faults");
    let rows = csv_maps(&out.join("usage.csv"));

    // vpn_profiles.jsonl, SDR 7002: an off-net call of 200 s on 21 Nov at
    // 10:00+01:00, 0.45/min = 1.50, from the office x0.5 = 0.75 billed;
    // 200 s = 3.33 min. No cost list covers VPN: margin = revenue.
    assert_eq!(
        fields(
            row(&rows, "2026-11-21", "VPN", "SEK"),
            &[
                "usage_modules",
                "sessions",
                "minutes",
                "revenue",
                "cost",
                "margin"
            ]
        ),
        ["1", "0", "3.33", "0.75", "0", "0.75"]
    );
    // faxbox.jsonl, SDR 5502: 5 pages stored from 2026-11-13T23:59+01:00
    // (22:59 UTC): the day of use is when use started, not the SDR's time
    // of origin (20 Nov).
    assert_eq!(
        fields(
            row(&rows, "2026-11-13", "FAXBOX", "EUR"),
            &["usage_modules", "units"]
        ),
        ["1", "5"]
    );
    // satm.jsonl: 30 min constant bit rate in EUR, 10 min unspecified in
    // SEK, both on 20 Nov.
    assert_eq!(row(&rows, "2026-11-20", "SATM", "EUR")["minutes"], "30.00");
    assert_eq!(row(&rows, "2026-11-20", "SATM", "SEK")["minutes"], "10.00");

    // Sessions: revenue is what participations.csv bills, cost what
    // costs.csv owes, per service and UTC day of the session's start.
    let parts = csv_maps(&out.join("participations.csv"));
    let costs = csv_maps(&out.join("costs.csv"));
    let utc_day = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .naive_utc()
            .date()
            .to_string()
    };
    let start_of: BTreeMap<String, String> = {
        let mut m: BTreeMap<String, String> = BTreeMap::new();
        for p in &parts {
            let e = m
                .entry(p["session_id"].clone())
                .or_insert(p["first_join"].clone());
            if chrono::DateTime::parse_from_rfc3339(&p["first_join"]).unwrap()
                < chrono::DateTime::parse_from_rfc3339(e).unwrap()
            {
                *e = p["first_join"].clone();
            }
        }
        m
    };
    let key = |r: &BTreeMap<String, String>| {
        format!(
            "{} {} {}",
            utc_day(&start_of[&r["session_id"]]),
            r["service"],
            r["currency"]
        )
    };
    let revenue = sums(&parts, key, "individual_price");
    let cost = sums(&costs, key, "cost");
    assert_eq!(revenue.len(), 4, "{revenue:?}");
    for (k, v) in &revenue {
        let [day, service, currency] = k.split(' ').collect::<Vec<_>>()[..] else {
            unreachable!()
        };
        let r = row(&rows, day, service, currency);
        assert_eq!(dec(&r["revenue"]), *v, "{k}");
        assert_eq!(dec(&r["cost"]), cost[k], "{k}");
        assert_eq!(dec(&r["margin"]), *v - cost[k], "{k}");
        assert_eq!(r["sessions"], "1", "{k}");
    }
    // Hand-computed in the fixtures' notes: CONF on 20 Nov, 46.50 billed
    // and 9.00 owed.
    assert_eq!(
        fields(
            row(&rows, "2026-11-20", "CONF", "SEK"),
            &["participations", "revenue", "cost", "margin"]
        ),
        ["2", "46.50", "9.00", "37.50"]
    );

    // Every priced usage is in: per currency, usage.csv adds up to the
    // run's totals (priced SDRs and participations alike).
    let s = summary(&out);
    for currency in ["SEK", "EUR"] {
        let (mut basic, mut individual) = (Decimal::ZERO, Decimal::ZERO);
        for by_company in s["totals"][currency].as_object().unwrap().values() {
            basic += dec(by_company["basic"].as_str().unwrap());
            individual += dec(by_company["individual"].as_str().unwrap());
        }
        let of = |column: &str| -> Decimal {
            rows.iter()
                .filter(|r| r["currency"] == currency)
                .map(|r| dec(&r[column]))
                .sum()
        };
        assert_eq!(of("revenue"), individual, "{currency}");
        assert_eq!(of("basic_price"), basic, "{currency}");
    }
    let priced = s["priced"].as_u64().unwrap();
    let modules: u64 = rows
        .iter()
        .map(|r| r["usage_modules"].parse::<u64>().unwrap())
        .sum();
    assert!(modules >= priced, "{modules} modules of {priced} SDRs");

    // The chart: one panel per currency, dates, axis units, totals.
    let svg = fs::read_to_string(out.join("usage.svg")).unwrap();
    assert_eq!(svg.matches("<g class=\"panel\"").count(), 2);
    for text in [
        "Usage by day of use (UTC), 2026-10-21 to 2026-11-22",
        "data-currency=\"EUR\"",
        "data-currency=\"SEK\"",
        "EUR (excl. VAT)",
        "SEK (excl. VAT)",
        ">2026-11-13<",
        ">2026-11-20<",
        ">2026-11-22<",
        "day of use (UTC)",
        "revenue 269.07 SEK, cost 60.75 SEK, margin 208.32 SEK",
        "revenue 6.80 EUR, cost 0 EUR, margin 6.80 EUR",
    ] {
        assert!(svg.contains(text), "{text} not in the chart");
    }
}

#[test]
fn a_run_without_sessions_still_analyses_and_charts_its_usage() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(rate(&["fixtures/vpn.sdr"], &out), 0);
    let rows = csv_maps(&out.join("usage.csv"));
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["service"] == "VPN" && r["sessions"] == "0")
    );
    let svg = fs::read_to_string(out.join("usage.svg")).unwrap();
    assert_eq!(svg.matches("<g class=\"panel\"").count(), 1, "SEK only");
    assert!(svg.contains("data-currency=\"SEK\""));
}

#[test]
fn a_run_that_prices_nothing_says_so_in_its_chart() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.sdr");
    fs::write(&empty, b"").unwrap();
    let out = dir.path().join("out");
    assert_eq!(rate(&[empty.to_str().unwrap()], &out), 0);
    let csv = fs::read_to_string(out.join("usage.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1, "the header only: {csv}");
    let svg = fs::read_to_string(out.join("usage.svg")).unwrap();
    assert!(svg.contains("no priced usage in this run"), "{svg}");
    assert_eq!(svg.matches("<g class=\"panel\"").count(), 0);
}
