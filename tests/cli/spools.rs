//! Spools as collectors deliver them: gzip and zstd files (recognised by
//! their first bytes, read as streams), and directories holding more than
//! sdrate reads, which is said, never skipped silently
//! (src/read/compressed.rs, `read::list_inputs`).

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use sdrate::read::{CHUNK_BYTES, MAX_RECORD_BYTES, Reader};

use crate::common::{PRICING_TIME, ROOT, csv_maps, files, run, sdrate, sdrate_in, summary};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn fixture(name: &str) -> Vec<u8> {
    fs::read(Path::new(ROOT).join("fixtures").join(name)).unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, bytes).unwrap();
    p
}

/// `sdrate -q rate INPUTS --out OUT` at the fixed pricing time; returns
/// the exit code and stderr.
fn rate(inputs: &[&Path], out: &Path, extra: &[&str]) -> (i32, String) {
    let r = run(sdrate()
        .arg("-q")
        .arg("rate")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .args(["--pricing-time", PRICING_TIME])
        .args(extra));
    (r.code, r.stderr)
}

/// What two runs of the same records must agree on, whatever the input's
/// compression.
fn counts(s: &Value) -> Value {
    let mut s = s.clone();
    let o = s.as_object_mut().unwrap();
    for k in ["run_id", "inputs", "sdrate_version", "timing"] {
        o.remove(k);
    }
    s
}

/// Priced output of a run, by name.
fn priced(out: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    files(&out.join("priced"))
}

#[test]
fn gzip_and_zstd_copies_price_byte_identically() {
    let dir = tempfile::tempdir().unwrap();
    let plain = fixture("vpn.sdr");
    let base = dir.path().join("out-plain");
    let (code, err) = rate(&[&write(dir.path(), "plain/vpn.sdr", &plain)], &base, &[]);
    assert_eq!(code, 0, "{err}");
    let want = priced(&base);
    assert_eq!(want.keys().collect::<Vec<_>>(), ["vpn.sdr"]);
    let two_members = {
        let (a, b) = plain.split_at(plain.len() / 3);
        [gzip(a), gzip(b)].concat()
    };
    for (name, bytes) in [
        ("gz/vpn.sdr.gz", gzip(&plain)),
        ("zst/vpn.sdr.zst", zstd(&plain)),
        // Recognised by content, whatever the name says.
        ("named/vpn.sdr", gzip(&plain)),
        ("bare/vpn", zstd(&plain)),
        // `cat a.gz b.gz`: one stream.
        ("members/vpn.sdr.gz", two_members),
    ] {
        let input = write(dir.path(), name, &bytes);
        let out = dir.path().join(format!("out-{}", name.replace('/', "-")));
        let (code, err) = rate(&[&input], &out, &[]);
        assert_eq!(code, 0, "{name}: {err}");
        let got = priced(&out);
        let got_bytes: Vec<&Vec<u8>> = got.values().collect();
        assert_eq!(got_bytes, [&want["vpn.sdr"]], "{name}: {:?}", got.keys());
        assert_eq!(counts(&summary(&out)), counts(&summary(&base)), "{name}");
    }
}

#[test]
fn compressed_event_logs_are_read_as_their_plain_copies() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, jsonl, sdr) = (
        fixture("conference-events.csv"),
        fixture("game-events.jsonl"),
        fixture("conference.sdr"),
    );
    let plain_in = [
        write(dir.path(), "plain/conference-events.csv", &csv),
        write(dir.path(), "plain/game-events.jsonl", &jsonl),
        write(dir.path(), "plain/conference.sdr", &sdr),
    ];
    let packed_in = [
        write(dir.path(), "packed/conference-events.csv.gz", &gzip(&csv)),
        write(dir.path(), "packed/game-events.jsonl.zst", &zstd(&jsonl)),
        write(dir.path(), "packed/conference.sdr.gz", &gzip(&sdr)),
    ];
    let (plain_out, packed_out) = (dir.path().join("o1"), dir.path().join("o2"));
    let refs = |v: &[PathBuf; 3]| v.iter().map(PathBuf::clone).collect::<Vec<_>>();
    let (a, b) = (refs(&plain_in), refs(&packed_in));
    let (c1, e1) = rate(
        &a.iter().map(|p| p.as_path()).collect::<Vec<_>>(),
        &plain_out,
        &[],
    );
    let (c2, e2) = rate(
        &b.iter().map(|p| p.as_path()).collect::<Vec<_>>(),
        &packed_out,
        &[],
    );
    assert_eq!(c1, c2, "{e1}\n{e2}");
    let (s1, s2) = (summary(&plain_out), summary(&packed_out));
    assert!(
        s1["sessions"]["event_log_rows"].as_u64().unwrap() > 10,
        "{s1}"
    );
    assert!(
        s1["sessions"]["sessions_priced"].as_u64().unwrap() > 0,
        "{s1}"
    );
    assert_eq!(counts(&s1), counts(&s2));
    for report in ["participations.csv", "costs.csv", "session-events.csv"] {
        let strip = |out: &Path| {
            fs::read_to_string(out.join(report))
                .unwrap()
                .replace(".csv.gz", ".csv")
                .replace(".jsonl.zst", ".jsonl")
                .replace(".sdr.gz", ".sdr")
                .replace("packed", "plain")
        };
        assert_eq!(strip(&plain_out), strip(&packed_out), "{report}");
    }
}

/// A generated file of `count` records (some faulty on purpose).
fn generated(dir: &Path, count: u32) -> Vec<u8> {
    let p = dir.join(format!("gen-{count}.sdr"));
    let r = run(sdrate()
        .args([
            "generate",
            "--count",
            &count.to_string(),
            "--seed",
            "7",
            "-o",
        ])
        .arg(&p));
    assert_eq!(r.code, 0, "{}", r.stderr);
    fs::read(&p).unwrap()
}

#[test]
fn a_cut_gzip_file_is_a_fault_naming_it_after_its_records_are_rated() {
    let dir = tempfile::tempdir().unwrap();
    let plain = generated(dir.path(), 3000);
    let whole = gzip(&plain);
    let cut = write(dir.path(), "in/cut.sdr.gz", &whole[..whole.len() / 2]);
    let plain_path = write(dir.path(), "plain/cut.sdr", &plain);
    let (full_out, cut_out) = (dir.path().join("full"), dir.path().join("cut"));
    let state = dir.path().join("state");
    rate(&[&plain_path], &full_out, &[]);
    let (code, err) = rate(&[&cut], &cut_out, &["--state", state.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    let s = summary(&cut_out);
    assert_eq!(s["faults_by_cause"]["damagedCompression"], 1, "{s}");
    assert_eq!(s["accounting_identity_holds"], true, "{s}");
    assert!(s["priced"].as_u64().unwrap() > 500, "{s}");
    let damaged: Vec<_> = csv_maps(&cut_out.join("faults.csv"))
        .into_iter()
        .filter(|r| r["status"] == "damagedCompression")
        .collect();
    assert_eq!(damaged.len(), 1);
    let row = &damaged[0];
    assert_eq!(row["file"], cut.display().to_string());
    let reached: u64 = row["offset"].parse().unwrap();
    assert!(reached > 0 && reached < plain.len() as u64, "{row:?}");
    assert!(row["cause"].contains("gzip stream damaged"), "{row:?}");
    assert!(row["cause"].contains("decompressed stream"), "{row:?}");
    // What decompressed before the damage was rated as the whole file's
    // start was: the priced SDRs are a prefix of the whole file's.
    let (part, all) = (priced(&cut_out), priced(&full_out));
    let (part, all) = (&part["cut.sdr"], &all["cut.sdr"]);
    assert!(!part.is_empty() && part.len() < all.len());
    assert_eq!(part[..], all[..part.len()]);
    // The compressed file, as it is on disk, is consumed.
    let consumed = fs::read_to_string(state.join("consumed.jsonl")).unwrap();
    assert!(
        consumed.contains(&format!("\"size\":{}", whole.len() / 2)),
        "{consumed}"
    );

    // inspect: the records before, then the damage, named (exit 1).
    let r = run(sdrate().arg("inspect").arg(&cut));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.lines().count() > 500);
    assert!(
        r.stderr
            .contains(&format!("{}: gzip stream damaged at offset", cut.display())),
        "{}",
        r.stderr
    );
}

/// With several threads the engine reads a block ahead of the one being
/// worked on: a read that fails several blocks in still comes after every
/// block before it is written, at any thread count.
#[test]
fn blocks_read_ahead_are_all_written_before_a_failed_read() {
    let dir = tempfile::tempdir().unwrap();
    // ~3 MB: six blocks of 512 KiB, the damage in the fifth or sixth.
    let plain = generated(dir.path(), 12_000);
    let whole = gzip(&plain);
    let cut = write(dir.path(), "in/cut.sdr.gz", &whole[..whole.len() * 9 / 10]);
    let mut outputs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = dir.path().join(format!("out-{threads}"));
        let (code, err) = rate(&[&cut], &out, &["--threads", threads]);
        assert_eq!(code, 1, "{err}");
        let s = summary(&out);
        assert_eq!(s["faults_by_cause"]["damagedCompression"], 1, "{s}");
        assert_eq!(s["accounting_identity_holds"], true, "{s}");
        let reached: u64 = csv_maps(&out.join("faults.csv"))
            .into_iter()
            .find(|r| r["status"] == "damagedCompression")
            .expect("the damage is a fault")["offset"]
            .parse()
            .unwrap();
        // Every block decompressed before the damage was read and written.
        assert!(reached > 4 * 512 * 1024, "{reached}");
        outputs.push((counts(&s), priced(&out)));
    }
    // One thread reads, works and writes each block in turn: the others
    // lose nothing read ahead of the damage, and add nothing.
    let (one, many) = outputs.split_first().unwrap();
    for other in many {
        assert_eq!(one, other);
    }
    let full = dir.path().join("full");
    rate(&[&write(dir.path(), "plain/cut.sdr", &plain)], &full, &[]);
    let (part, all) = (&one.1["cut.sdr"], &priced(&full)["cut.sdr"]);
    assert!(part.len() > 4 * 512 * 1024 && part.len() < all.len());
    assert_eq!(part[..], all[..part.len()]);
}

#[test]
fn a_compressed_input_is_consumed_as_the_file_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let packed = gzip(&fixture("vpn.sdr"));
    let input = write(dir.path(), "spool/vpn.sdr.gz", &packed);
    let state = dir.path().join("state");
    let st = state.to_str().unwrap();
    let (code, err) = rate(&[&input], &dir.path().join("o1"), &["--state", st]);
    assert_eq!(code, 0, "{err}");
    let consumed = fs::read_to_string(state.join("consumed.jsonl")).unwrap();
    let hash = sdrate::state::publish::hash_file(&input).unwrap();
    assert!(consumed.contains(&hash.hash), "{consumed}");
    assert!(
        consumed.contains(&format!("\"size\":{}", packed.len())),
        "{consumed}"
    );
    // The same file again, under another name: skipped.
    let again = write(dir.path(), "spool2/renamed.gz", &packed);
    let r = run(sdrate()
        .args(["rate"])
        .arg(&again)
        .arg("--out")
        .arg(dir.path().join("o2"))
        .args(["--state", st, "--pricing-time", PRICING_TIME]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("already rated by run"), "{}", r.stderr);
}

#[test]
fn a_directory_says_what_it_does_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let vpn = fixture("vpn.sdr");
    write(dir.path(), "nest/sub/x.sdr", &vpn);
    write(dir.path(), "nest/README.txt", b"spool of switch 3\n");
    write(dir.path(), "nest/.CDR0042.sdr", &vpn[..10]);
    write(dir.path(), "nest/vpn.sdr.gz", &gzip(&vpn));
    let r = run_in(
        dir.path(),
        &[
            "rate",
            "nest/",
            "--out",
            "out",
            "--pricing-time",
            PRICING_TIME,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for said in [
        "nest/: 1 subdirectory not read (sub): sdrate does not descend into subdirectories",
        "nest/: 1 file not read (README.txt): not an SDR file or event log by its name",
        "nest/: 1 hidden file not read (.CDR0042.sdr)",
    ] {
        assert!(r.stderr.contains(said), "{said}\n{}", r.stderr);
    }
    let s = summary(&dir.path().join("out"));
    assert_eq!(s["not_read"]["entries"], 3, "{s}");
    let whys: Vec<&str> = s["not_read"]["first"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["why"].as_str().unwrap())
        .collect();
    assert_eq!(whys, ["hidden", "unknownName", "subdirectory"]);
    // The compressed file of the directory was read.
    assert_eq!(
        s["records_read"],
        summary(&rated_plain(dir.path()))["records_read"]
    );

    // The case: nothing but a subdirectory. 0 records, said.
    write(dir.path(), "only/sub/x.sdr", &vpn);
    let r = run_in(dir.path(), &["rate", "only/", "--out", "out2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("only/: 1 subdirectory not read (sub)"),
        "{}",
        r.stderr
    );
    assert_eq!(summary(&dir.path().join("out2"))["not_read"]["entries"], 1);

    // rerate lists directories the same way, and says event logs are not
    // re-rated.
    write(
        dir.path(),
        "again/events.csv",
        &fixture("conference-events.csv"),
    );
    write(dir.path(), "again/priced.sdr", &fixture("priced.sdr"));
    fs::create_dir_all(dir.path().join("again/old")).unwrap();
    let r = run_in(dir.path(), &["rerate", "again/", "--out", "out3"]);
    assert!(r.code <= 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("again/: 1 event log not read (events.csv)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("again/: 1 subdirectory not read (old)"),
        "{}",
        r.stderr
    );
    assert_eq!(summary(&dir.path().join("out3"))["not_read"]["entries"], 2);
}

/// `sdrate ARGS` in `dir` (so that directories are named as a user names
/// them), with the shipped price lists.
fn run_in(dir: &Path, args: &[&str]) -> crate::common::Run {
    let lists = Path::new(ROOT).join("price_lists");
    run(sdrate_in(dir)
        .env("SDRATE_PRICE_LISTS", &lists)
        .env("SDRATE_CUSTOMERS", lists.join("customers.csv"))
        .args(args))
}

fn rated_plain(dir: &Path) -> PathBuf {
    let input = write(dir, "plainvpn/vpn.sdr", &fixture("vpn.sdr"));
    let out = dir.join("out-plainvpn");
    rate(&[&input], &out, &[]);
    out
}

/// The largest block a reader hands out over `path`.
fn largest_block(path: &Path) -> (usize, u64) {
    let mut reader = Reader::open(path).unwrap();
    let (mut largest, mut padding) = (0, 0);
    while let Some(chunk) = reader.next_chunk().unwrap() {
        largest = largest.max(chunk.data.len().max(chunk.data.capacity()));
        padding += chunk.padding().map(|(_, n)| n).sum::<u64>();
        reader.recycle(chunk);
    }
    (largest, padding)
}

/// 256 MiB of fill bytes compressed to a few hundred KiB: the reader
/// decompresses them block by block, never whole, so no block (nor its
/// buffer) is larger than for a plain file.
#[test]
fn a_compressed_input_streams_within_the_block_bound() {
    let dir = tempfile::tempdir().unwrap();
    let size = 256u64 << 20;
    let gz = dir.path().join("zeros.sdr.gz");
    {
        let mut e = flate2::write::GzEncoder::new(
            fs::File::create(&gz).unwrap(),
            flate2::Compression::fast(),
        );
        std::io::copy(&mut std::io::repeat(0).take(size), &mut e).unwrap();
        e.finish().unwrap();
    }
    let zst = dir.path().join("zeros.sdr.zst");
    {
        let mut f = fs::File::create(&zst).unwrap();
        ruzstd::encoding::compress(
            std::io::repeat(0).take(size / 4),
            &mut f,
            ruzstd::encoding::CompressionLevel::Fastest,
        );
    }
    assert!(fs::metadata(&gz).unwrap().len() < size / 100);
    let bound = CHUNK_BYTES + 2 * MAX_RECORD_BYTES;
    for (path, want) in [(&gz, size), (&zst, size / 4)] {
        let (largest, padding) = largest_block(path);
        assert_eq!(padding, want, "{}", path.display());
        assert!(
            largest <= bound,
            "{}: a block of {largest} bytes",
            path.display()
        );
    }
}

/// A damaged event log stops the run (exit 4) naming the file and the
/// decompressed offset reached: its events would reach sessions that stay
/// pending on a half-read log (docs/operations.md, "Compressed spools").
#[test]
fn a_cut_compressed_event_log_stops_the_run_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = fixture("conference-events.csv").repeat(20);
    let whole = zstd(&log);
    let cut = write(
        dir.path(),
        "ev/conference-events.csv.zst",
        &whole[..whole.len() / 2],
    );
    let out = dir.path().join("out");
    let (code, err) = rate(&[&cut], &out, &[]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains(&format!("{}: zstd stream damaged at offset", cut.display())),
        "{err}"
    );
    assert!(err.contains("of its decompressed stream"), "{err}");
    assert!(!out.exists(), "nothing published");
}
