//! `sdrate rate` with rate periods, tiers and algorithms: every expected
//! price computed by hand.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::common::{Call, data_list, encode, sdrate, summary};

const BB_BASIC: &str = r#"
id = "bb-basic"
revision = 1
kind = "basic"
service = "BB"
valid_from = "2026-01-01T00:00:00+01:00"
service_revisions = [1]
items = ["event", "time", "volume"]
"#;

fn head(id: &str, service: &str, company: &str) -> String {
    let basic = if service == "VPN" {
        "vpn-basic"
    } else {
        "bb-basic"
    };
    format!(
        r#"id = "{id}"
revision = 1
kind = "base"
service = "{service}"
based_on = "{basic}"
marketing_company = "{company}"
valid_from = "2026-01-01T00:00:00+01:00"
currency = "SEK"
vat_percent = "25"
"#
    )
}

/// Peak weekdays 08-18, weekend all Saturday, Sunday and holidays,
/// offpeak otherwise, in Stockholm; per minute, first minute then seconds.
const ACME_PERIODS: &str = r#"
time_zone = "Europe/Stockholm"
holidays = ["2026-12-24", "2026-12-25", "2026-12-26"]

[[period]]
name = "peak"
days = ["mon", "tue", "wed", "thu", "fri"]
from = "08:00"
to = "18:00"

[[period]]
name = "weekend"
days = ["sat", "sun", "holiday"]

[[charge]]
item = "call"
per = "duration"
price = { peak = "0.60", offpeak = "0.30", weekend = "0.20" }
first_increment = 60
next_increment = 1
"#;

/// Night 00:00-06:00 every day, day otherwise: the 2026 DST changes fall
/// inside the night.
const NIGHT_PERIODS: &str = r#"
time_zone = "Europe/Stockholm"
default_period = "day"

[[period]]
name = "night"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"]
from = "00:00"
to = "06:00"

[[charge]]
item = "call"
per = "duration"
price = { day = "0.50", night = "0.10" }
"#;

const VOLUME_TIERS: &str = r#"
[[charge]]
item = "call"
per = "duration"
first_increment = 60
next_increment = 60
tiers = "volume"
tier = [
  { from = 0, price = "0.50" },
  { from = 3600, price = "0.30" },
]
"#;

const CAPPED: &str = r#"
[[charge]]
item = "call"
per = "duration"
first_increment = 60
next_increment = 60
algorithm = { fn = "capped", rate = "0.60", cap = "10.00" }
"#;

const BB_GRADUATED: &str = r#"
[[charge]]
item = "volume"
per = "unit"
unit_size = 1000000
tiers = "graduated"

[[charge.tier]]
from = 0
price = "0.0125"

[[charge.tier]]
from = 1000000
price = "0.0025"
"#;

fn setup(dir: &Path) {
    let pl = dir.join("lists");
    fs::create_dir_all(&pl).unwrap();
    let lists = [
        ("vpn-basic.toml", data_list("vpn-basic")),
        ("bb-basic.toml", BB_BASIC.to_owned()),
        ("acme.toml", head("vpn-acme", "VPN", "acme") + ACME_PERIODS),
        (
            "nightco.toml",
            head("vpn-nightco", "VPN", "nightco") + NIGHT_PERIODS,
        ),
        (
            "tierco.toml",
            head("vpn-tierco", "VPN", "tierco") + VOLUME_TIERS,
        ),
        ("algoco.toml", head("vpn-algoco", "VPN", "algoco") + CAPPED),
        ("bb-acme.toml", head("bb-acme", "BB", "acme") + BB_GRADUATED),
    ];
    for (name, text) in lists {
        fs::write(pl.join(name), text).unwrap();
    }
    fs::write(
        dir.join("customers.csv"),
        "customer_id,marketing_company,group\nK1,acme,\nN1,nightco,\nT1,tierco,\nA1,algoco,\n",
    )
    .unwrap();
}

fn header(id: u32, customer: &str, company: &str, start: &str) -> Value {
    json!({
        "moduleIdentifier": "serviceHeader", "revisionState": 1, "sdrType": "billing",
        "sdrIdentifier": id, "producerIdentity": "spe-t", "timeOfOrigin": start,
        "responsibilityTrace": [], "actionIndicator": "priceAndForward",
        "customerIdentity": customer, "marketingCompany": company
    })
}

/// A billing VPN off-net call.
fn call(id: u32, customer: &str, company: &str, start: &str, secs: u64) -> Value {
    Call::new(id, customer, company, start, secs).json()
}

/// A billing Broad Band event of acme's K1 moving `octets`.
fn bb(id: u32, start: &str, octets: u64) -> Value {
    json!({"sdr": {
        "serviceHeader": header(id, "K1", "acme", start),
        "serviceUsageModules": [{
            "moduleIdentifier": "serviceUsage", "revisionState": 1, "serviceFeatureCode": "BB",
            "revisionStateOfService": 1, "providerIdentifier": "p", "marketingCompany": "acme",
            "dialledNumber": "broadband", "accessForm": "fixed",
            "serviceSpecific": {"broadBand": {
                "atmServiceIdentifier": "adsl", "startOfCharging": start,
                "chargeableDuration": 60, "sessionIdentifier": format!("s{id}"),
                "typeOfEvent": "transfer", "eventParameters": [],
                "octetsTransferred": octets
            }}
        }]
    }})
}

/// Encodes `records`, rates them with the test lists, and returns
/// (sdrIdentifier, prices) of each priced SDR, basic and individual being
/// equal, the prices of several items joined with " + ".
fn rate(dir: &Path, records: &[Value]) -> Vec<(u64, String)> {
    rate_with(dir, records, Path::new("lists"), Path::new("customers.csv"))
}

fn rate_with(dir: &Path, records: &[Value], lists: &Path, customers: &Path) -> Vec<(u64, String)> {
    encode(dir, "in.jsonl", "in.sdr", records);
    let out = sdrate()
        .args([
            "rate",
            "in.sdr",
            "--out",
            "out",
            "--pricing-time",
            "2026-12-31T02:00:00+01:00",
        ])
        .arg("--price-lists")
        .arg(lists)
        .arg("--customers")
        .arg(customers)
        .current_dir(dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let out = sdrate()
        .arg("inspect")
        .arg(dir.join("out/priced/in.sdr"))
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let sdr = &v["sdr"];
            let items = sdr["servicePricingModules"][0]["prices"]
                .as_array()
                .unwrap();
            let basic: Vec<&str> = items
                .iter()
                .map(|item| {
                    let basic = item["basicPrice"].as_str().unwrap();
                    assert_eq!(item["individualPrice"].as_str(), Some(basic));
                    assert_eq!(item["statusIndicator"], "priced");
                    basic
                })
                .collect();
            (
                sdr["serviceHeader"]["sdrIdentifier"].as_u64().unwrap(),
                basic.join(" + "),
            )
        })
        .collect()
}

fn expect(rows: &[(u64, &str)]) -> Vec<(u64, String)> {
    rows.iter().map(|(i, p)| (*i, (*p).to_owned())).collect()
}

#[test]
fn peak_offpeak_weekend_and_holidays() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let got = rate(
        t.path(),
        &[
            // Wed 17:58 for 300 s: 120 s peak (2 * 0.60 = 1.20) + 180 s
            // offpeak (3 * 0.30 = 0.90) = 2.10.
            call(1, "K1", "acme", "2026-11-18T17:58:00+01:00", 300),
            // The same instant written in UTC: the same split, 2.10.
            call(2, "K1", "acme", "2026-11-18T16:58:00Z", 300),
            // Fri 23:58 for 240 s, across midnight into Saturday: 120 s
            // offpeak (0.60) + 120 s weekend (2 * 0.20 = 0.40) = 1.00.
            call(3, "K1", "acme", "2026-11-20T23:58:00+01:00", 240),
            // Tue 23:55 for 600 s: offpeak on both days, 10 * 0.30 = 3.00.
            call(4, "K1", "acme", "2026-11-17T23:55:00+01:00", 600),
            // Christmas Eve (a Thursday) 10:00 for 300 s is a holiday, priced
            // like the weekend: 5 * 0.20 = 1.00 (peak would be 3.00).
            call(5, "K1", "acme", "2026-12-24T10:00:00+01:00", 300),
            // Fri 17:00 to Mon 09:00, 64 h = 230400 s: 60 min peak (36.00),
            // Fri 18-24 360 min offpeak (108.00), Sat+Sun 2880 min weekend
            // (576.00), Mon 00-08 480 min offpeak (144.00), Mon 08-09 60 min
            // peak (36.00) = 900.00.
            call(6, "K1", "acme", "2026-11-20T17:00:00+01:00", 230_400),
            // Wed 17:59:30 for 20 s: the first increment makes it 60 s for the
            // whole call, split 30 s peak (0.30) + 30 s offpeak (0.15) = 0.45;
            // the boundary costs no second increment (that would be 0.90).
            call(7, "K1", "acme", "2026-11-18T17:59:30+01:00", 20),
            // Sun 2026-03-29 (the day clocks go forward) 23:50 CEST for 1200 s:
            // 600 s weekend (2.00) + Monday 600 s offpeak (3.00) = 5.00. With the
            // winter offset, Monday would start an hour later: all weekend, 4.00.
            call(8, "K1", "acme", "2026-03-29T23:50:00+02:00", 1200),
            // Sun 2026-10-25 (clocks go back) 23:50 CET for 1200 s: 600 s weekend
            // + 600 s offpeak = 5.00 (with the summer offset: 6.00).
            call(9, "K1", "acme", "2026-10-25T23:50:00+01:00", 1200),
        ],
    );
    assert_eq!(
        got,
        expect(&[
            (1, "2.10"),
            (2, "2.10"),
            (3, "1.00"),
            (4, "3.00"),
            (5, "1.00"),
            (6, "900.00"),
            (7, "0.45"),
            (8, "5.00"),
            (9, "5.00"),
        ])
    );
}

#[test]
fn periods_across_daylight_saving_changes() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let got = rate(
        t.path(),
        &[
            // Sat 2026-03-28 23:00 CET (22:00Z) for 8 h of real time: Sat
            // 23-24 day (60 min); night from Sun 00:00 CET (23:00Z) to 06:00
            // CEST (04:00Z), 5 h as 02:00-03:00 never happens (300 min); day
            // 06:00-07:00 (120 min total day).
            // 180 * 0.50 + 300 * 0.10 = 90.00 + 30.00 = 120.00.
            call(1, "N1", "nightco", "2026-03-28T23:00:00+01:00", 8 * 3600),
            // Sat 2026-10-24 23:00 CEST (21:00Z) for 9 h: Sat 23-24 day (60
            // min); night from Sun 00:00 CEST (22:00Z) to 06:00 CET (05:00Z),
            // 7 h as 02:00-03:00 happens twice (420 min); day 06:00-07:00 (60
            // min). 120 * 0.50 + 420 * 0.10 = 60.00 + 42.00 = 102.00.
            call(2, "N1", "nightco", "2026-10-24T23:00:00+02:00", 9 * 3600),
            // Sun 2026-03-29 01:30 CET for 60 min real time: the clock jumps
            // from 02:00 to 03:00 inside the night, all night: 60 * 0.10 = 6.00.
            call(3, "N1", "nightco", "2026-03-29T01:30:00+01:00", 3600),
            // Sun 2026-10-25 05:30 CET for 60 min: 30 min night + 30 min day =
            // 3.00 + 15.00 = 18.00.
            call(4, "N1", "nightco", "2026-10-25T05:30:00+01:00", 3600),
            // The same instant written in UTC (04:30Z): 18.00.
            call(5, "N1", "nightco", "2026-10-25T04:30:00Z", 3600),
        ],
    );
    assert_eq!(
        got,
        expect(&[
            (1, "120.00"),
            (2, "102.00"),
            (3, "6.00"),
            (4, "18.00"),
            (5, "18.00")
        ])
    );
}

#[test]
fn volume_tiers_algorithm_and_graduated_volume() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    let got = rate(
        t.path(),
        &[
            // Volume tiers by the rounded total: 3000 s = 50 min, all at 0.50
            // = 25.00.
            call(1, "T1", "tierco", "2026-11-18T10:00:00+01:00", 3000),
            // 3590 s rounds up to 3600 s = 60 min, which reaches the second
            // tier: all 60 min at 0.30 = 18.00.
            call(2, "T1", "tierco", "2026-11-18T10:00:00+01:00", 3590),
            // 5400 s = 90 min at 0.30 = 27.00.
            call(3, "T1", "tierco", "2026-11-18T10:00:00+01:00", 5400),
            // Capped: 5 min * 0.60 = 3.00, under the cap.
            call(4, "A1", "algoco", "2026-11-18T10:00:00+01:00", 300),
            // 30 min * 0.60 = 18.00, capped at 10.00.
            call(5, "A1", "algoco", "2026-11-18T10:00:00+01:00", 1800),
            // Graduated volume: 6 MB = 1 MB at 0.0125 + 5 MB at 0.0025 = 0.0125
            // + 0.0125 = 0.025 -> 0.03, rounded once for the item (rounding
            // each tier would give 0.01 + 0.01 = 0.02).
            bb(6, "2026-11-18T10:00:00+01:00", 6_000_000),
            // 2500001 octets rounds up to 3 MB: 0.0125 + 2 * 0.0025 = 0.0175
            // -> 0.02.
            bb(7, "2026-11-18T10:00:00+01:00", 2_500_001),
            // 999999 octets is 1 started MB: 0.0125 -> 0.01.
            bb(8, "2026-11-18T10:00:00+01:00", 999_999),
        ],
    );
    assert_eq!(
        got,
        expect(&[
            (1, "25.00"),
            (2, "18.00"),
            (3, "27.00"),
            (4, "3.00"),
            (5, "10.00"),
            (6, "0.03"),
            (7, "0.02"),
            (8, "0.01"),
        ])
    );
}

#[test]
fn shipped_lists_price_by_period_tier_and_algorithm() {
    let t = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bb_megacom = |id, start, octets, secs| {
        let mut v = bb(id, start, octets);
        v["sdr"]["serviceHeader"]["customerIdentity"] = json!("C00003");
        v["sdr"]["serviceHeader"]["marketingCompany"] = json!("megacom");
        v["sdr"]["serviceUsageModules"][0]["marketingCompany"] = json!("megacom");
        v["sdr"]["serviceUsageModules"][0]["serviceSpecific"]["broadBand"]["chargeableDuration"] =
            json!(secs);
        v
    };
    let got = rate_with(
        t.path(),
        &[
            // vpn-megacom-base r3, Wed 2026-12-02 17:58 for 300 s: 120 s peak
            // (2 * 0.69 = 1.38) + 180 s offpeak (3 * 0.39 = 1.17) = 2.55.
            call(1, "C00003", "megacom", "2026-12-02T17:58:00+01:00", 300),
            // Christmas Eve is a holiday: 5 min weekend * 0.29 = 1.45.
            call(2, "C00003", "megacom", "2026-12-24T10:00:00+01:00", 300),
            // Before r3 (r2, flat 0.55): 5 * 0.55 = 2.75.
            call(3, "C00003", "megacom", "2026-11-25T17:58:00+01:00", 300),
            // bb-megacom-base r2: time 60 s = 1 min * 0.02 = 0.02; volume
            // 12000000001 octets = 12001 started MB: 10000 * 0.05 + 2001 *
            // 0.02 = 500.00 + 40.02 = 540.02.
            bb_megacom(4, "2026-12-02T10:00:00+01:00", 12_000_000_001, 60),
            // 10 h connected: 600 min * 0.02 = 12.00, capped at 5.00; 1 MB:
            // 0.05.
            bb_megacom(5, "2026-12-02T10:00:00+01:00", 1_000_000, 36_000),
        ],
        &root.join("price_lists"),
        &root.join("price_lists/customers.csv"),
    );
    assert_eq!(
        got,
        expect(&[
            (1, "2.55"),
            (2, "1.45"),
            (3, "2.75"),
            (4, "0.02 + 540.02"),
            (5, "5.00 + 0.05"),
        ])
    );
}

#[test]
fn overflow_and_unsplittable_durations_are_technical_errors() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    // From the second minute on, a price at Decimal's maximum.
    let big = head("vpn-bigco", "VPN", "bigco")
        + r#"
[[charge]]
item = "call"
per = "duration"
tiers = "graduated"
tier = [
  { from = 0, price = "0.60" },
  { from = 60, price = "79228162514264337593543950335" },
]
"#;
    fs::write(t.path().join("lists/bigco.toml"), big).unwrap();
    fs::write(
        t.path().join("customers.csv"),
        "customer_id,marketing_company,group
K1,acme,
B1,bigco,
",
    )
    .unwrap();
    let records = [
        // 60 s, all in the first tier: 0.60.
        call(1, "B1", "bigco", "2026-11-18T10:00:00+01:00", 60),
        // 120 s: 60 s at the maximum price overflows.
        call(2, "B1", "bigco", "2026-11-18T10:00:00+01:00", 120),
        // 400 days cannot be split into periods.
        call(3, "K1", "acme", "2026-11-18T10:00:00+01:00", 400 * 86_400),
    ];
    encode(t.path(), "in.jsonl", "in.sdr", &records);
    let out = sdrate()
        .args([
            "rate",
            "in.sdr",
            "--out",
            "out",
            "--price-lists",
            "lists",
            "--customers",
            "customers.csv",
        ])
        .current_dir(t.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(1), "faults give exit code 1: {err}");
    let report = fs::read_to_string(t.path().join("out/faults.csv")).unwrap();
    let faults: Vec<Vec<&str>> = report
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(faults.len(), 2, "{report}");
    assert_eq!((faults[0][3], faults[0][5]), ("2", "technicalError"));
    assert!(
        // Exact until rounded: the overflow shows when the amount is
        // rounded to a decimal, or earlier.
        report.contains("arithmetic overflow"),
        "{report}"
    );
    assert_eq!((faults[1][3], faults[1][5]), ("3", "technicalError"));
    assert!(
        report.contains("cannot split `call` into rate periods"),
        "{report}"
    );
    let summary = summary(&t.path().join("out"));
    assert_eq!(summary["priced"], 1);
    assert_eq!(summary["totals"]["SEK"]["bigco"]["basic"], "0.60");
}

/// Runs `rate` on no input with one list replaced; returns stderr.
fn load_error(file: &str, text: &str) -> String {
    let t = tempfile::tempdir().unwrap();
    setup(t.path());
    fs::write(t.path().join("lists").join(file), text).unwrap();
    fs::write(t.path().join("in.sdr"), b"").unwrap();
    let out = sdrate()
        .args([
            "rate",
            "in.sdr",
            "--out",
            "out",
            "--price-lists",
            "lists",
            "--customers",
            "customers.csv",
        ])
        .current_dir(t.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(!t.path().join("out").exists());
    err
}

#[test]
fn bad_periods_tiers_and_algorithms_name_file_line_and_column() {
    let tier_head = head("vpn-tierco", "VPN", "tierco");
    // The head is 9 lines; each part after it starts with a blank line 10,
    // so in the tier list `[[charge]]` is line 11, `tiers` 16, the tiers 18
    // and 19. Columns point at the offending value.
    let cases = [
        (
            "tierco.toml",
            tier_head.clone() + &VOLUME_TIERS.replace("from = 0,", "from = 60,"),
            "tierco.toml: line 18, column 12: the first tier must start at 0",
        ),
        (
            "tierco.toml",
            tier_head.clone() + &VOLUME_TIERS.replace("from = 3600", "from = 0"),
            "tierco.toml: line 19, column 12: tier thresholds must ascend: 0 is not above 0",
        ),
        (
            "tierco.toml",
            tier_head.clone() + &VOLUME_TIERS.replace("\"0.30\"", "\"-0.30\""),
            "tierco.toml: line 19, column 26: prices and minimums cannot be negative",
        ),
        (
            "tierco.toml",
            tier_head.clone() + &VOLUME_TIERS.replace("tiers = \"volume\"", "tiers = \"stepped\""),
            "tierco.toml: line 16, column 9: unknown variant `stepped`",
        ),
        (
            // Both a price and tiers: reported at `item = "call"`, line 12.
            "tierco.toml",
            tier_head.clone() + &VOLUME_TIERS.replace("per = ", "price = \"1\"\nper = "),
            "tierco.toml: line 12, column 8: a charge needs exactly one of `price`, `tiers`",
        ),
        (
            // time_zone is line 11; holidays 12; the peak period 14-18.
            "acme.toml",
            head("vpn-acme", "VPN", "acme")
                + &ACME_PERIODS.replace("Europe/Stockholm", "Europe/Stokholm"),
            "acme.toml: line 11, column 13: time_zone `Europe/Stokholm` is not an IANA time zone",
        ),
        (
            "acme.toml",
            head("vpn-acme", "VPN", "acme")
                + &ACME_PERIODS.replace("\"2026-12-25\"", "\"2026-12-32\""),
            "acme.toml: line 12, column 27: holiday `2026-12-32` is not a date",
        ),
        (
            "acme.toml",
            head("vpn-acme", "VPN", "acme") + &ACME_PERIODS.replace("\"sat\"", "\"saturday\""),
            "acme.toml: line 22, column 9: day `saturday` is not one of",
        ),
        (
            "acme.toml",
            head("vpn-acme", "VPN", "acme") + &ACME_PERIODS.replace("\"18:00\"", "\"07:00\""),
            "acme.toml: line 17, column 8: period `peak`: from must be before to",
        ),
        (
            "acme.toml",
            head("vpn-acme", "VPN", "acme") + &ACME_PERIODS.replace("\"08:00\"", "\"8am\""),
            "acme.toml: line 17, column 8: `8am` is not a time",
        ),
        (
            // The price table is on line 27, from column 9.
            "acme.toml",
            head("vpn-acme", "VPN", "acme") + &ACME_PERIODS.replace(", weekend = \"0.20\"", ""),
            "acme.toml: line 27, column 9: no price for period `weekend`",
        ),
        (
            "acme.toml",
            head("vpn-acme", "VPN", "acme")
                + &ACME_PERIODS.replace("peak = \"0.60\"", "peak = \"0.60\", night = \"0.10\""),
            "acme.toml: line 27, column 9: period `night` is not defined by this list",
        ),
        (
            // The algorithm is on line 16.
            "algoco.toml",
            head("vpn-algoco", "VPN", "algoco")
                + &CAPPED.replace("cap = \"10.00\"", "cap = \"-1\""),
            "algoco.toml: line 16, column 13: algorithm amounts cannot be negative",
        ),
        (
            "algoco.toml",
            head("vpn-algoco", "VPN", "algoco") + &CAPPED.replace("capped", "cubic"),
            "algoco.toml: line 16, column 20: unknown variant `cubic`",
        ),
    ];
    let mut wrong = Vec::new();
    for (file, text, want) in cases {
        let err = load_error(file, &text);
        if !err.contains(want) {
            wrong.push(format!("want `{want}` in: {err}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
