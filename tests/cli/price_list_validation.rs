//! Price lists that would misprice silently are load errors (exit code 3)
//! naming file, line and column, with "did you mean" where a known name is
//! close (docs/price-lists.md, "Validation"); and a usage whose marketing
//! company disagrees with the customer registry is a fault of its own.
//!
//! Each test copies the shipped price lists, puts one mistake into them and
//! runs `sdrate check --strict` (or `rate`) on the copy.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{PRICING_TIME, ROOT, copy_tree, sdrate, summary};

/// A copy of the shipped price lists (with customers.csv).
struct Lists {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Lists {
    fn shipped() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("price_lists");
        copy_tree(&Path::new(ROOT).join("price_lists"), &root);
        Lists { _dir: dir, root }
    }

    /// Replaces `from` (which must occur) by `to` in one file.
    fn edit(&self, file: &str, from: &str, to: &str) -> &Self {
        let p = self.root.join(file);
        let text = fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        fs::write(&p, text.replacen(from, to, 1)).unwrap();
        self
    }

    fn write(&self, file: &str, text: &str) -> &Self {
        fs::write(self.root.join(file), text).unwrap();
        self
    }

    fn customers(&self) -> PathBuf {
        self.root.join("customers.csv")
    }

    /// `sdrate check --strict` on the copy: exit code and stderr.
    fn check(&self) -> (i32, String) {
        let out = sdrate()
            .args(["check", "--strict", "--price-lists"])
            .arg(&self.root)
            .arg("--customers")
            .arg(self.customers())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{stderr}");
        (out.status.code().unwrap(), stderr)
    }

    /// Asserts the copy does not load: exit code 3, and stderr names the
    /// file with line and column and says each of `says`.
    fn refused(&self, file: &str, line: usize, column: usize, says: &[&str]) {
        let (code, stderr) = self.check();
        assert_eq!(code, 3, "{stderr}");
        let at = format!("{file}: line {line}, column {column}: ");
        assert!(stderr.contains(&at), "want `{at}` in: {stderr}");
        for s in says {
            assert!(stderr.contains(s), "want `{s}` in: {stderr}");
        }
    }
}

const VPN_PUBLICOM: &str = "vpn/publicom-base-r1.toml";

#[test]
fn the_shipped_lists_pass_check_strict() {
    let (code, stderr) = Lists::shipped().check();
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn when_key_in_the_wrong_case_is_a_load_error() {
    // The off-net mobile charge (6.93 for fixtures/vpn.sdr at offset 316)
    // would never match, and the plain charge (4.22) would price the call.
    Lists::shipped()
        .edit(
            VPN_PUBLICOM,
            r#"when = { callType = "offNet" }"#,
            r#"when = { calltype = "offNet" }"#,
        )
        .refused(
            VPN_PUBLICOM,
            31,
            10,
            &[
                "`calltype` is not an attribute of the virtualPrivateNetwork usage module",
                "did you mean `callType`?",
            ],
        );
}

#[test]
fn when_value_in_the_wrong_case_is_a_load_error() {
    Lists::shipped()
        .edit(
            VPN_PUBLICOM,
            r#"when = { callType = "offNet" }"#,
            r#"when = { callType = "offnet" }"#,
        )
        .refused(
            VPN_PUBLICOM,
            31,
            21,
            &[
                "`offnet` is not a VpnCallType value for `callType` (it takes: onNet, offNet, virtualOnNet)",
                "did you mean `offNet`?",
            ],
        );
}

#[test]
fn when_key_of_another_usage_module_is_a_load_error() {
    // serviceCarrier is a VCC attribute: a VPN call never has one.
    Lists::shipped()
        .edit(
            VPN_PUBLICOM,
            r#"when = { callType = "offNet" }"#,
            r#"when = { serviceCarrier = "freephone" }"#,
        )
        .refused(
            VPN_PUBLICOM,
            31,
            10,
            &["`serviceCarrier` is not an attribute of the virtualPrivateNetwork usage module"],
        );
}

#[test]
fn misspelt_access_form_is_a_load_error() {
    Lists::shipped()
        .edit(
            VPN_PUBLICOM,
            r#"access_form = "mobile""#,
            r#"access_form = "mobil""#,
        )
        .refused(
            VPN_PUBLICOM,
            32,
            15,
            &[
                "access_form `mobil` is not an AccessForm (it takes: fixed, mobile, internet, payphone)",
                "did you mean `mobile`?",
            ],
        );
}

#[test]
fn a_list_with_a_condition_typo_rates_nothing() {
    let lists = Lists::shipped();
    lists.edit(
        VPN_PUBLICOM,
        r#"when = { callType = "offNet" }"#,
        r#"when = { calltype = "offNet" }"#,
    );
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("o");
    let r = sdrate()
        .args(["rate", "fixtures/vpn.sdr", "--price-lists"])
        .arg(&lists.root)
        .arg("--customers")
        .arg(lists.customers())
        .arg("--out")
        .arg(&o)
        .args(["--pricing-time", PRICING_TIME])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(3));
    assert!(!o.join("summary.json").exists());
}

#[test]
fn misspelt_usage_module_is_a_load_error() {
    Lists::shipped()
        .edit(
            "vpn/basic.toml",
            r#"usage = "virtualPrivateNetwork""#,
            r#"usage = "virtualprivatenetwork""#,
        )
        .refused(
            "vpn/basic.toml",
            8,
            9,
            &[
                "usage `virtualprivatenetwork` is not a usage module",
                "did you mean `virtualPrivateNetwork`?",
            ],
        );
}

#[test]
fn session_role_typo_is_a_load_error() {
    let lists = Lists::shipped();
    let file = "game/publicom-base-r1.toml";
    let text = fs::read_to_string(lists.root.join(file)).unwrap();
    let line = text.lines().count() + 6;
    lists.write(
        file,
        &format!(
            "{text}\n[[charge]]\nitem = \"viewing\"\nper = \"duration\"\nprice = \"0.10\"\n\
             when = {{ role = \"viewr\" }}\n"
        ),
    );
    lists.refused(
        file,
        line,
        17,
        &[
            "a participant of role `viewr` is never priced for item `viewing` under [session.roles]",
            "did you mean `viewer`?",
        ],
    );
}

#[test]
fn profile_component_attribute_typo_is_a_load_error() {
    // Under on_failure = "next" or "keep" the component would fail on every
    // call and another price would take over without a word.
    Lists::shipped()
        .edit(
            "profiles/components.toml",
            r#"attribute = "dialledNumber""#,
            r#"attribute = "dialedNumber""#,
        )
        .refused(
            "profiles/components.toml",
            10,
            13,
            &[
                "component `vpn-number-plan`: `dialedNumber` is not an attribute a usage module has",
                "did you mean `dialledNumber`?",
            ],
        );
}

#[test]
fn rate_by_value_in_the_wrong_case_is_a_load_error() {
    Lists::shipped()
        .edit(
            "profiles/components.toml",
            r#"onNet = "0.10""#,
            r#"onnet = "0.10""#,
        )
        .refused(
            "profiles/components.toml",
            27,
            11,
            &[
                "rates: `onnet` is not a VpnCallType value for `callType`",
                "did you mean `onNet`?",
            ],
        );
}

#[test]
fn currency_that_is_not_iso_4217_is_a_load_error() {
    Lists::shipped()
        .edit(VPN_PUBLICOM, r#"currency = "SEK""#, r#"currency = "sek!""#)
        .refused(
            VPN_PUBLICOM,
            9,
            12,
            &[
                "currency `sek!` is not an ISO 4217 alphabetic code",
                "did you mean `SEK`?",
            ],
        );
    Lists::shipped()
        .edit(VPN_PUBLICOM, r#"currency = "SEK""#, r#"currency = "SKR""#)
        .refused(
            VPN_PUBLICOM,
            9,
            12,
            &["currency `SKR` is not an ISO 4217 alphabetic code"],
        );
}

#[test]
fn negative_vat_is_a_load_error() {
    Lists::shipped()
        .edit(
            VPN_PUBLICOM,
            r#"vat_percent = "25""#,
            r#"vat_percent = "-25""#,
        )
        .refused(
            VPN_PUBLICOM,
            10,
            15,
            &["vat_percent -25 is not between 0 and 100"],
        );
    Lists::shipped()
        .edit(
            VPN_PUBLICOM,
            r#"vat_percent = "25""#,
            r#"vat_percent = "125""#,
        )
        .refused(
            VPN_PUBLICOM,
            10,
            15,
            &["vat_percent 125 is not between 0 and 100"],
        );
}

#[test]
fn rounding_decimals_beyond_what_the_amount_carries_are_a_load_error() {
    for decimals in [19, 40] {
        Lists::shipped()
            .edit(VPN_PUBLICOM, "decimals = 2,", &format!("decimals = {decimals},"))
            .refused(
                VPN_PUBLICOM,
                11,
                12,
                &[&format!(
                    "rounding decimals {decimals} is more than the pricing module can carry (at most 18"
                )],
            );
    }
    let lists = Lists::shipped();
    lists.edit(VPN_PUBLICOM, "decimals = 2,", "decimals = 18,");
    assert_eq!(lists.check().0, 0);
}

#[test]
fn prepaid_rounding_decimals_beyond_what_the_amount_carries_are_a_load_error() {
    Lists::shipped()
        .edit(
            "profiles/components.toml",
            "rounding = { decimals = 1,",
            "rounding = { decimals = 29,",
        )
        .refused(
            "profiles/components.toml",
            51,
            12,
            &["component `prepaid`: rounding decimals 29 is more than the pricing module can carry"],
        );
}

#[test]
fn overlapping_base_lists_are_a_load_error_naming_both_files() {
    // Another id for megacom's VPN base list, same revision and validity
    // start: which one priced depended on which file name sorts last.
    let lists = Lists::shipped();
    let text = fs::read_to_string(lists.root.join("vpn/megacom-base-r1.toml")).unwrap();
    lists.write(
        "vpn/zz-megacom-copy.toml",
        &text.replacen(
            r#"id = "vpn-megacom-base""#,
            r#"id = "vpn-megacom-base-copy""#,
            1,
        ),
    );
    let line = text.lines().position(|l| l.starts_with("id = ")).unwrap() + 1;
    lists.refused(
        "vpn/zz-megacom-copy.toml",
        line,
        6,
        &[
            "price list vpn-megacom-base-copy overlaps vpn-megacom-base in ",
            "vpn/megacom-base-r1.toml",
            "both are the base list of marketing company megacom for VPN, revision 1, valid from 2026-01-01T00:00:00+01:00",
        ],
    );
}

#[test]
fn overlapping_group_lists_are_a_load_error_naming_both_files() {
    let lists = Lists::shipped();
    let text = fs::read_to_string(lists.root.join("vpn/megacom-group-corporate-r1.toml")).unwrap();
    let id_line = text.lines().find(|l| l.starts_with("id = ")).unwrap();
    lists.write(
        "vpn/a-corporate.toml",
        &text.replacen(id_line, r#"id = "vpn-megacom-corporate-2""#, 1),
    );
    let (code, stderr) = lists.check();
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("a-corporate.toml"), "{stderr}");
    assert!(
        stderr.contains("megacom-group-corporate-r1.toml"),
        "{stderr}"
    );
    assert!(
        stderr.contains("both are the group list of group corporate of megacom for VPN"),
        "{stderr}"
    );
}

#[test]
fn a_cancelled_list_does_not_overlap() {
    let lists = Lists::shipped();
    let text = fs::read_to_string(lists.root.join("vpn/megacom-base-r1.toml")).unwrap();
    lists.write(
        "vpn/zz-megacom-cancelled.toml",
        &format!(
            "cancelled = true\n{}",
            text.replacen(
                r#"id = "vpn-megacom-base""#,
                r#"id = "vpn-megacom-base-old""#,
                1
            )
        ),
    );
    let (code, stderr) = lists.check();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn empty_customer_registry_is_a_load_error() {
    for text in ["customer_id,marketing_company,group\n", ""] {
        let lists = Lists::shipped();
        lists.write("customers.csv", text);
        let (code, stderr) = lists.check();
        assert_eq!(code, 3, "{stderr}");
        assert!(
            stderr.contains("customers.csv: line 1: the customer registry lists no customers"),
            "{stderr}"
        );
    }
}

/// A registry row without a customer id or a marketing company names its
/// line.
#[test]
fn empty_customer_id_or_company_is_a_load_error() {
    for (text, want) in [
        (
            "customer_id,marketing_company,group\nC00001,publicom,\n,megacom,\n",
            "customers.csv: line 3: empty customer_id",
        ),
        (
            "customer_id,marketing_company,group\nC00001,,\n",
            "customers.csv: line 2: customer C00001 has an empty marketing_company",
        ),
    ] {
        let lists = Lists::shipped();
        lists.write("customers.csv", text);
        let (code, stderr) = lists.check();
        assert_eq!(code, 3, "{stderr}");
        assert!(stderr.contains(want), "{stderr}");
    }
}

#[test]
fn marketing_company_disagreeing_with_the_registry_is_a_fault_kept_for_recycling() {
    // fixtures/vpn.sdr at offset 0: customer C00300, marketing company
    // megacom. The registry here says C00300 is publicom's.
    let lists = Lists::shipped();
    lists.edit("customers.csv", "C00300,megacom,", "C00300,publicom,");
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("o");
    let r = sdrate()
        .args(["rate", "fixtures/vpn.sdr", "--price-lists"])
        .arg(&lists.root)
        .arg("--customers")
        .arg(lists.customers())
        .arg("--out")
        .arg(&o)
        .args(["--pricing-time", PRICING_TIME])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{stderr}");
    let faults = fs::read_to_string(o.join("faults.csv")).unwrap();
    let row = faults
        .lines()
        .find(|l| l.starts_with("fixtures/vpn.sdr,0,"))
        .unwrap_or_else(|| panic!("no fault at offset 0: {faults}"));
    assert!(row.contains(",marketingCompanyMismatch,"), "{row}");
    assert!(
        row.contains(
            "marketing company disagrees with the customer registry: the usage names `megacom`, \
             the customer registry has customer `C00300` in `publicom`"
        ),
        "{row}"
    );
    // The record itself is kept, labelled, for recycling.
    assert!(fs::metadata(o.join("faults.sdr")).unwrap().len() > 0);
    let summary = summary(&o);
    assert_eq!(summary["faulted"], 1);
    assert_eq!(summary["faults_by_cause"]["marketingCompanyMismatch"], 1);
}

/// A validity written as a bare date said only "premature end of input".
#[test]
fn a_validity_without_time_and_offset_names_the_format() {
    Lists::shipped()
        .edit(
            "bb/basic.toml",
            r#"valid_from = "2026-01-01T00:00:00+01:00""#,
            r#"valid_from = "2026-01-01""#,
        )
        .refused(
            "bb/basic.toml",
            6,
            14,
            &[
                "`2026-01-01` is not an RFC 3339 time",
                "such as 2026-01-01T00:00:00+01:00",
            ],
        );
}

/// No ./price_lists where sdrate runs: the error says which option to use.
#[test]
fn a_missing_price_list_directory_points_at_the_option() {
    let t = tempfile::tempdir().unwrap();
    let out = sdrate()
        .current_dir(t.path())
        .args(["rate"])
        .arg(Path::new(ROOT).join("fixtures/vpn.sdr"))
        .args(["--out", "out"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("there is no price-list directory price_lists: give the directory with --price-lists DIR"),
        "{stderr}"
    );
}

/// A registry over time (docs/price-lists.md, "Customer registry"): `check`
/// counts the dated rows and warns about a gap between two rows of one
/// customer (a failure with `--strict`); rows that overlap do not load,
/// naming both lines.
#[test]
fn dated_customer_rows_are_counted_gaps_warned_and_overlaps_refused() {
    let lists = Lists::shipped();
    let shipped = fs::read_to_string(lists.customers()).unwrap();
    let registry = |second_from: &str| {
        let mut out = String::from("customer_id,marketing_company,group,valid_from,valid_to\n");
        for row in shipped.lines().skip(1) {
            if row == "C00300,megacom,corporate" {
                out.push_str("C00300,megacom,corporate,,2026-03-14\n");
                out.push_str(&format!("C00300,megacom,,{second_from},\n"));
            } else {
                out.push_str(&format!("{row},,\n"));
            }
        }
        out
    };
    // C00300's rows: the header is line 1, so its first row is the line
    // after the row before it in the shipped file.
    let first = shipped
        .lines()
        .position(|l| l == "C00300,megacom,corporate")
        .expect("C00300 is shipped")
        + 1;
    let second = first + 1;
    let customers = shipped.lines().skip(1).count();

    lists.write("customers.csv", &registry("2026-03-15"));
    let out = sdrate()
        .args(["check", "--price-lists"])
        .arg(&lists.root)
        .arg("--customers")
        .arg(lists.customers())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains(&format!(
            ": {customers} ({} rows, 2 with valid_from or valid_to)\n",
            customers + 1
        )),
        "{stdout}"
    );
    let gap = format!(
        "WARN sdrate: customer `C00300` has no row valid from 2026-03-14T00:00:00Z until \
         2026-03-15T00:00:00Z (between lines {first} and {second}): its usage then will not price"
    );
    assert!(stderr.contains(&gap), "{stderr}");
    let (code, stderr) = lists.check();
    assert_eq!(code, 3, "--strict fails on the gap: {stderr}");

    lists.write("customers.csv", &registry("2026-03-13"));
    let (code, stderr) = lists.check();
    assert_eq!(code, 3, "{stderr}");
    let overlap = format!(
        "customers.csv: line {second}: customer C00300 valid from 2026-03-13T00:00:00Z overlaps \
         its row at line {first} (valid until 2026-03-14T00:00:00Z)"
    );
    assert!(stderr.contains(&overlap), "{stderr}");
}
