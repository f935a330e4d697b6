//! Helpers the modules of this harness share: running `sdrate` (always
//! through [`crate::sdrate_command`], which scrubs the environment),
//! reading what it wrote, the price lists under `tests/data/lists/`, and
//! the VPN call most worked examples encode.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

/// The repository root: the shipped `fixtures/` and `price_lists/`.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The pricing time of most runs on the fixtures: fixed, so that reruns
/// are byte-identical.
pub const PRICING_TIME: &str = "2026-11-22T02:00:00+01:00";

/// `p`, relative to the repository root.
pub fn repo(p: &str) -> PathBuf {
    Path::new(ROOT).join(p)
}

/// `sdrate` (environment scrubbed) run in the repository root.
pub fn sdrate() -> Command {
    sdrate_in(ROOT)
}

/// `sdrate` (environment scrubbed) run in `dir`.
pub fn sdrate_in(dir: impl AsRef<Path>) -> Command {
    let mut c = crate::sdrate_command();
    c.current_dir(dir.as_ref());
    c
}

/// What a finished command left: its exit code and output.
pub struct Run {
    pub code: i32,
    /// Standard output, as text (invalid UTF-8 replaced).
    pub stdout: String,
    /// Standard output, byte for byte.
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
}

/// Runs `cmd` to its end: it must exit (not be killed) and not panic.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{cmd:?}: {stderr}");
    Run {
        code: out
            .status
            .code()
            .unwrap_or_else(|| panic!("{cmd:?} killed by a signal: {stderr}")),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stdout_bytes: out.stdout,
        stderr,
    }
}

/// `sdrate ARGS` in `dir`, never coloured, run to its end (see [`run`]).
pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    run(sdrate_in(dir).env("NO_COLOR", "1").args(args))
}

/// `sdrate COMMAND INPUT --out OUT` (`rate`, `rerate`) in `dir` with the
/// shipped price lists and customers, priced at `pricing_time`, and `extra`
/// arguments after.
pub fn shipped(
    dir: &Path,
    command: &str,
    input: &str,
    out: &str,
    pricing_time: &str,
    extra: &[&str],
) -> Run {
    let lists = format!("{ROOT}/price_lists");
    let customers = format!("{ROOT}/price_lists/customers.csv");
    let mut args = vec![
        command,
        input,
        "--out",
        out,
        "--price-lists",
        &lists,
        "--customers",
        &customers,
        "--pricing-time",
        pricing_time,
    ];
    args.extend_from_slice(extra);
    run_in(dir, &args)
}

/// `OUT/summary.json`.
pub fn summary(out: &Path) -> Value {
    json_file(&out.join("summary.json"))
}

/// A JSON file, parsed.
pub fn json_file(path: &Path) -> Value {
    let text = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Rows of a CSV file as string vectors, header dropped.
pub fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// Rows of a CSV file as maps from column name to value.
pub fn csv_maps(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// The objects `sdrate inspect FILE` prints, one per SDR.
pub fn inspect(file: &Path) -> Vec<Value> {
    let out = crate::sdrate_command()
        .arg("inspect")
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Writes `records` as JSON lines to `dir/source` and encodes them into
/// `dir/target` with `sdrate encode`, which must succeed.
pub fn encode(dir: &Path, source: &str, target: &str, records: &[Value]) {
    let jsonl: String = records.iter().map(|r| format!("{r}\n")).collect();
    fs::write(dir.join(source), jsonl).unwrap();
    let r = run_in(dir, &["encode", source, "-o", target]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Copies the directory `from` to `to`, recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else {
            fs::copy(&p, &dest).unwrap();
        }
    }
}

/// Every file and directory under a directory, by path relative to it: a
/// file's contents, `None` for a directory.
pub type Tree = BTreeMap<String, Option<Vec<u8>>>;

/// The run's timing in summary.json and manifest.json (when it started,
/// how long it took) is the one thing two runs of the same command on the
/// same data do not share: [`tree`] and [`files`] show it as
/// `[timing]`, so outputs compare byte for byte everywhere else.
pub fn tree(dir: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, into: &mut Tree) {
        for e in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if p.is_dir() {
                into.insert(rel, None);
                walk(root, &p, into);
            } else {
                let bytes = fs::read(&p).unwrap();
                let name = p.file_name().unwrap();
                let bytes = if name == "summary.json" || name == "manifest.json" {
                    without_timing(&String::from_utf8(bytes).unwrap()).into_bytes()
                } else {
                    bytes
                };
                into.insert(rel, Some(bytes));
            }
        }
    }
    let mut t = Tree::new();
    walk(dir, dir, &mut t);
    t
}

/// The lines of a command's stderr without their time and level: from
/// `sdrate: ` on (lines of another shape, kept whole).
pub fn messages(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .map(|l| l.find(" sdrate: ").map_or(l, |at| &l[at + 1..]))
        .collect()
}

/// Pretty JSON with every `"timing": {...}` object replaced by
/// `"timing": "[timing]"`; anything else unchanged.
pub fn without_timing(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut skipping: Option<String> = None;
    for line in json.split_inclusive('\n') {
        if let Some(indent) = &skipping {
            let t = line.trim_end();
            if t.strip_prefix(indent.as_str())
                .is_some_and(|rest| rest == "}" || rest == "},")
            {
                out.push_str(&format!(
                    "{indent}\"timing\": \"[timing]\"{}",
                    &t[indent.len() + 1..]
                ));
                out.push('\n');
                skipping = None;
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("\"timing\": {") {
            skipping = Some(line[..line.len() - trimmed.len()].to_owned());
            continue;
        }
        out.push_str(line);
    }
    assert!(skipping.is_none(), "an unclosed timing object in {json}");
    out
}

/// Every file under `dir` (directories left out): relative path → bytes.
pub fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    tree(dir)
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect()
}

/// The text of a price list shared by several modules:
/// `tests/data/lists/NAME.toml`.
pub fn data_list(name: &str) -> String {
    let p = repo(&format!("tests/data/lists/{name}.toml"));
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One VPN call SDR as `inspect`/`encode` JSON. [`Call::new`] is a billing
/// off-net call of 4711, priced and forwarded, of producer spe-t.
pub struct Call<'a> {
    pub id: u32,
    pub customer: &'a str,
    pub company: &'a str,
    pub service: &'a str,
    pub start: &'a str,
    pub secs: u64,
    pub call_type: &'a str,
    pub action: &'a str,
    pub sdr_type: &'a str,
}

impl<'a> Call<'a> {
    pub fn new(id: u32, customer: &'a str, company: &'a str, start: &'a str, secs: u64) -> Self {
        Call {
            id,
            customer,
            company,
            service: "VPN",
            start,
            secs,
            call_type: "offNet",
            action: "priceAndForward",
            sdr_type: "billing",
        }
    }

    pub fn json(&self) -> Value {
        let Call {
            id,
            customer,
            company,
            service,
            start,
            secs,
            call_type,
            action,
            sdr_type,
        } = self;
        json!({"sdr": {
            "serviceHeader": {
                "moduleIdentifier": "serviceHeader", "revisionState": 1, "sdrType": sdr_type,
                "sdrIdentifier": id, "producerIdentity": "spe-t", "timeOfOrigin": start,
                "responsibilityTrace": [], "actionIndicator": action,
                "customerIdentity": customer, "marketingCompany": company
            },
            "serviceUsageModules": [{
                "moduleIdentifier": "serviceUsage", "revisionState": 1, "serviceFeatureCode": service,
                "revisionStateOfService": 1, "providerIdentifier": "p", "marketingCompany": company,
                "dialledNumber": "4711", "accessForm": "fixed",
                "serviceSpecific": {"virtualPrivateNetwork": {
                    "typeOfAccess": "direct", "dialledNumber": "4711", "callType": call_type,
                    "startOfCharging": start, "chargeableDuration": secs
                }}
            }]
        }})
    }
}
