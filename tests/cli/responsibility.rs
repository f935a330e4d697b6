//! The responsibility trace (issue 26, the seed's page 39): with
//! `--system-identity`, every SDR a run bills carries sdrate's tag (the
//! identity and the run's pricing time) after the producers' entries, with
//! every other byte as it came, and `secured/<producer>.csv` lists them
//! for each producer to purge. Price requests, not-priced SDRs and faults
//! carry no tag; an SDR priced again keeps its one tag.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::common::{PRICING_TIME, ROOT, encode, files, inspect, repo, run_in, shipped, summary};

const ID: &str = "sdrate-se-1";

/// sdrate's entry at [`PRICING_TIME`], by hand: SEQUENCE { [0] "sdrate-se-1",
/// [1] "20261122020000+0100" }.
fn entry() -> Vec<u8> {
    let mut e = vec![0x30, 0x22, 0x80, 0x0b];
    e.extend_from_slice(ID.as_bytes());
    e.extend_from_slice(&[0x81, 0x13]);
    e.extend_from_slice(b"20261122020000+0100");
    e
}

fn fixture(id: u64) -> Value {
    let all = inspect(&repo("fixtures/every_type.sdr"));
    let r = all
        .iter()
        .find(|r| r["sdr"]["serviceHeader"]["sdrIdentifier"] == id)
        .unwrap_or_else(|| panic!("fixture SDR {id}"));
    json!({"sdr": r["sdr"].clone()})
}

/// Billing SDRs of two producers (one of them with items this version
/// does not know in its header, in a trace entry and at the root), a price
/// request, a quality-assurance SDR and a fault (an unknown customer).
fn input(dir: &Path) {
    let mut odd = fixture(1001);
    let h = &mut odd["sdr"]["serviceHeader"];
    h["unknownItems"] = json!(["9f1e0107"]);
    h["responsibilityTrace"][0]["unknownItems"] = json!(["820142"]);
    odd["sdr"]["unknownItems"] = json!(["9f1f020102"]);
    let mut other = fixture(1006);
    other["sdr"]["serviceHeader"]["producerIdentity"] = json!("Op,FI");
    let mut fault = fixture(1001);
    fault["sdr"]["serviceHeader"]["sdrIdentifier"] = json!(1099);
    fault["sdr"]["serviceHeader"]["customerIdentity"] = json!("C04711");
    encode(
        dir,
        "in.jsonl",
        "in.sdr",
        &[odd, fixture(1002), fixture(1004), other, fault],
    );
}

fn rate(dir: &Path, out: &str, extra: &[&str]) -> crate::common::Run {
    crate::common::shipped(dir, "rate", "in.sdr", out, PRICING_TIME, extra)
}

/// (identifier octets and length octets, whole element) of the BER element
/// at the start of `b` (definite lengths, as sdrate writes).
fn element(b: &[u8]) -> (usize, usize) {
    // Identifier octets: one, or more for tag numbers from 31.
    let id = if b[0] & 0x1f == 0x1f {
        2 + b[1..].iter().take_while(|x| *x & 0x80 != 0).count()
    } else {
        1
    };
    let l = b[id];
    let (head, len) = if l < 0x80 {
        (id + 1, usize::from(l))
    } else {
        let n = usize::from(l & 0x7f);
        let len = b[id + 1..id + 1 + n]
            .iter()
            .fold(0, |a, x| a << 8 | usize::from(*x));
        (id + 1 + n, len)
    };
    (head, head + len)
}

/// The records of a file, each split into its service header element and
/// what follows it in the record.
fn split(file: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let bytes = fs::read(file).unwrap();
    let mut rest = &bytes[..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (head, total) = element(rest);
        let body = &rest[head..total];
        let (_, header_len) = element(body);
        out.push((body[..header_len].to_vec(), body[header_len..].to_vec()));
        rest = &rest[total..];
    }
    out
}

/// `header` with `entry` appended to its [8] trace, written by hand from
/// its children.
fn with_entry(header: &[u8], entry: &[u8]) -> Vec<u8> {
    let (head, _) = element(header);
    let mut children = Vec::new();
    let mut rest = &header[head..];
    while !rest.is_empty() {
        let (h, total) = element(rest);
        if rest[0] == 0xa8 {
            let mut content = rest[h..total].to_vec();
            content.extend_from_slice(entry);
            assert!(content.len() < 0x80);
            children.extend_from_slice(&[0xa8, content.len() as u8]);
            children.extend_from_slice(&content);
        } else {
            children.extend_from_slice(&rest[..total]);
        }
        rest = &rest[total..];
    }
    let mut out = vec![0xa0];
    if children.len() < 0x80 {
        out.push(children.len() as u8);
    } else {
        out.extend_from_slice(&[0x81, children.len() as u8]);
    }
    out.extend_from_slice(&children);
    out
}

fn trace(file: &Path) -> Vec<Vec<String>> {
    inspect(file)
        .iter()
        .map(|r| {
            r["sdr"]["serviceHeader"]["responsibilityTrace"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| format!("{}@{}", e["systemIdentity"], e["timestamp"]).replace('"', ""))
                .collect()
        })
        .collect()
}

#[test]
fn billed_sdrs_carry_sdrates_tag_after_the_producers_and_keep_every_other_byte() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    input(d);
    assert_eq!(rate(d, "plain", &[]).code, 1);
    let r = rate(d, "tagged", &["--system-identity", ID]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let plain = split(&d.join("plain/priced/in.sdr"));
    let tagged = split(&d.join("tagged/priced/in.sdr"));
    assert_eq!(tagged.len(), 2);
    for ((ph, prest), (th, trest)) in plain.iter().zip(&tagged) {
        assert_eq!(trest, prest, "every item after the header, byte for byte");
        assert_eq!(th, &with_entry(ph, &entry()), "the entry, appended");
    }
    assert_eq!(
        trace(&d.join("tagged/priced/in.sdr")),
        [
            vec![
                "mediation-1@2026-11-20T09:40:02+01:00",
                "sdrate-se-1@2026-11-22T02:00:00+01:00"
            ],
            vec![
                "clearing-house@2026-11-20T09:05:00Z",
                "mediation-1@2026-11-20T10:05:30+01:00",
                "sdrate-se-1@2026-11-22T02:00:00+01:00"
            ],
        ]
    );
    // The unknown items read back as they were written.
    let first = &inspect(&d.join("tagged/priced/in.sdr"))[0]["sdr"];
    assert_eq!(first["unknownItems"], json!(["9f1f020102"]));
    assert_eq!(first["serviceHeader"]["unknownItems"], json!(["9f1e0107"]));
    assert_eq!(
        first["serviceHeader"]["responsibilityTrace"][0]["unknownItems"],
        json!(["820142"])
    );
    // Answers, not-priced SDRs and faults: as a run without an identity
    // writes them.
    let (p, q) = (files(&d.join("plain")), files(&d.join("tagged")));
    for name in [
        "answers.sdr",
        "answers/spe-3.sdr",
        "not-priced.sdr",
        "faults.sdr",
        "faults.csv",
    ] {
        assert_eq!(p[name], q[name], "{name}");
    }
}

#[test]
fn purge_lists_name_each_producers_billed_sdrs() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    input(d);
    let r = rate(d, "out", &["--system-identity", ID]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let lists: Vec<String> = files(&d.join("out"))
        .into_keys()
        .filter(|k| k.starts_with("secured/"))
        .collect();
    assert_eq!(lists, ["secured/%4Fp%2C%46%49.csv", "secured/fax-1.csv"]);
    assert_eq!(
        fs::read_to_string(d.join("out/secured/fax-1.csv")).unwrap(),
        "producer,sdr_identifier,time_of_origin,file,offset\n\
         fax-1,1001,2026-11-20T09:40:00+01:00,in.sdr,0\n"
    );
    let offset = offset_of(&d.join("in.sdr"), 3);
    assert_eq!(
        fs::read_to_string(d.join("out/secured/%4Fp%2C%46%49.csv")).unwrap(),
        format!(
            "producer,sdr_identifier,time_of_origin,file,offset\n\
             \"Op,FI\",1006,2026-11-20T10:58:41+02:00,in.sdr,{offset}\n"
        )
    );
    assert_eq!(
        summary(&d.join("out"))["secured"],
        json!({
            "identity": ID,
            "time": PRICING_TIME,
            "sdrs": 2,
            "producers": 2,
            "first": [
                {"producer": "fax-1", "file": "secured/fax-1.csv", "sdrs": 1},
                {"producer": "Op,FI", "file": "secured/%4Fp%2C%46%49.csv", "sdrs": 1},
            ],
            "unlisted_sdrs": 0,
        })
    );
}

/// Where the record at `index` of `file` begins.
fn offset_of(file: &Path, index: usize) -> usize {
    let bytes = fs::read(file).unwrap();
    let mut at = 0;
    for _ in 0..index {
        at += element(&bytes[at..]).1;
    }
    at
}

#[test]
fn without_an_identity_nothing_is_tagged_or_listed() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    input(d);
    assert_eq!(rate(d, "out", &[]).code, 1);
    assert!(!d.join("out/secured").exists());
    assert!(summary(&d.join("out")).get("secured").is_none());
    assert!(
        trace(&d.join("out/priced/in.sdr"))
            .iter()
            .all(|t| t.iter().all(|e| !e.starts_with(ID)))
    );
}

#[test]
fn the_tag_is_the_same_at_any_thread_count_and_from_the_environment() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    input(d);
    assert_eq!(
        rate(d, "one", &["--system-identity", ID, "--threads", "1"]).code,
        1
    );
    let lists = format!("{ROOT}/price_lists");
    let customers = format!("{ROOT}/price_lists/customers.csv");
    let r = crate::common::run(
        crate::common::sdrate_in(d)
            .env("SDRATE_SYSTEM_IDENTITY", ID)
            .args(["rate", "in.sdr", "--out", "two", "--threads", "2"])
            .args(["--price-lists", &lists, "--customers", &customers])
            .args(["--pricing-time", PRICING_TIME]),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let strip = |mut f: std::collections::BTreeMap<String, Vec<u8>>| {
        // Summary and manifest carry the run's own times.
        f.remove("summary.json");
        f.remove("manifest.json");
        f
    };
    assert_eq!(strip(files(&d.join("one"))), strip(files(&d.join("two"))));
}

#[test]
fn a_dry_run_secures_nothing() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    input(d);
    let r = rate(d, "qa", &["--system-identity", ID, "--dry-run"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!d.join("qa/secured").exists());
    assert!(summary(&d.join("qa")).get("secured").is_none());
}

#[test]
fn an_identity_that_names_no_system_is_a_usage_error() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    input(d);
    for bad in ["", " ", "a\tb"] {
        let r = rate(d, "out", &["--system-identity", bad]);
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
        assert!(r.stderr.contains("system identity"), "{}", r.stderr);
        assert!(!d.join("out").exists());
    }
}

#[test]
fn rerated_and_rated_again_sdrs_keep_one_sdrate_tag() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    input(d);
    assert_eq!(rate(d, "first", &["--system-identity", ID]).code, 1);
    let later = "2026-12-01T02:00:00+01:00";
    let tag = ["--system-identity", ID];
    let r = shipped(d, "rerate", "first", "rerated", later, &tag);
    assert!(r.code <= 1, "{}", r.stderr);
    // Rated again as if new (no state: nothing remembers it was billed).
    fs::copy(d.join("first/priced/in.sdr"), d.join("again.sdr")).unwrap();
    let r = shipped(d, "rate", "again.sdr", "again", later, &tag);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let first = trace(&d.join("first/priced/in.sdr"));
    for file in ["rerated/priced/in.sdr", "again/priced/again.sdr"] {
        let t = trace(&d.join(file));
        assert_eq!(t, first, "{file}: one tag, of when it was first secured");
        for entries in &t {
            assert_eq!(entries.iter().filter(|e| e.starts_with(ID)).count(), 1);
        }
    }
    // The header is the first run's, byte for byte: only prices changed.
    let headers =
        |f: &str| -> Vec<Vec<u8>> { split(&d.join(f)).into_iter().map(|(h, _)| h).collect() };
    assert_eq!(
        headers("again/priced/again.sdr"),
        headers("first/priced/in.sdr")
    );
    // The second run secured them too: its purge list says so.
    assert_eq!(
        fs::read_to_string(d.join("again/secured/fax-1.csv")).unwrap(),
        "producer,sdr_identifier,time_of_origin,file,offset\n\
         fax-1,1001,2026-11-20T09:40:00+01:00,again.sdr,0\n"
    );
}

#[test]
fn a_recycled_sdr_is_tagged_once_by_the_run_that_bills_it_and_listed_where_it_came_from() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    input(d);
    let lists = format!("{ROOT}/price_lists");
    fs::copy(repo("price_lists/customers.csv"), d.join("customers.csv")).unwrap();
    let common = [
        "--price-lists",
        &lists,
        "--customers",
        "customers.csv",
        "--state",
        "state",
        "--system-identity",
        ID,
    ];
    let mut args = vec!["rate", "in.sdr", "--out", "night"];
    args.extend_from_slice(&common);
    args.extend_from_slice(&["--pricing-time", PRICING_TIME]);
    assert_eq!(run_in(d, &args).code, 1);
    assert_eq!(
        trace(&d.join("night/faults.sdr")),
        [["mediation-1@2026-11-20T09:40:02+01:00"]]
    );
    // The registry learns C04711: the recycle bills it.
    let mut reg = fs::read_to_string(d.join("customers.csv")).unwrap();
    reg.push_str("C04711,foretag,\n");
    fs::write(d.join("customers.csv"), reg).unwrap();
    let mut args = vec!["recycle", "--out", "recycled"];
    args.extend_from_slice(&common);
    args.extend_from_slice(&["--pricing-time", "2026-11-23T02:00:00+01:00"]);
    let r = run_in(d, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let priced: Vec<String> = files(&d.join("recycled"))
        .into_keys()
        .filter(|k| k.starts_with("priced/"))
        .collect();
    assert_eq!(priced.len(), 1);
    assert_eq!(
        trace(&d.join("recycled").join(&priced[0])),
        [[
            "mediation-1@2026-11-20T09:40:02+01:00",
            "sdrate-se-1@2026-11-23T02:00:00+01:00"
        ]]
    );
    // The row names the input the SDR first came in, not the suspense
    // file it was recycled from.
    let offset = offset_of(&d.join("in.sdr"), 4);
    assert_eq!(
        fs::read_to_string(d.join("recycled/secured/fax-1.csv")).unwrap(),
        format!(
            "producer,sdr_identifier,time_of_origin,file,offset\n\
             fax-1,1099,2026-11-20T09:40:00+01:00,in.sdr,{offset}\n"
        )
    );
}

#[test]
fn rerate_tags_billing_sdrs_priced_before_the_identity_was_set_but_not_answers() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    input(d);
    assert_eq!(rate(d, "plain", &[]).code, 1);
    let later = "2026-12-01T02:00:00+01:00";
    let r = shipped(
        d,
        "rerate",
        "plain",
        "rerated",
        later,
        &["--system-identity", ID],
    );
    assert!(r.code <= 1, "{}", r.stderr);
    let tagged = trace(&d.join("rerated/priced/in.sdr"));
    assert_eq!(tagged.len(), 2);
    for entries in &tagged {
        assert_eq!(
            entries.last().unwrap(),
            "sdrate-se-1@2026-12-01T02:00:00+01:00"
        );
    }
    assert_eq!(
        trace(&d.join("rerated/answers.sdr")),
        trace(&d.join("plain/answers.sdr")),
        "an answer goes back untagged"
    );
    assert!(!d.join("rerated/secured").exists(), "rerate lists nothing");
}
