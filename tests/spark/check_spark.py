#!/usr/bin/env python3
"""The Spark driver (spark/sdrate_spark.py) in Spark local mode against
`sdrate rate --state` on the same inputs, lists and pricing time.

For each case the tables of the night must hold exactly what the one
machine run wrote:
- each input's priced SDRs, in offset order, byte for byte its
  priced/ file; answers, unpriced SDRs, participations and faulted SDRs as
  the records of answers.sdr, not-priced.sdr, participations.sdr and
  faults.sdr (compared as sorted lists: the order of those files is the
  order sessions complete, which a cluster does not keep);
- the faults (file, offset or line, cause, detail) of faults.csv;
- summary.json's counts, and its totals per currency.

Cases: the fixtures and a generated input (tens of thousands of records,
with a slice of it repeated in another file, and a session-only file), each
at 1, 2, 7 and 64 shuffle partitions; the generated input again with
sdrate killed in the first attempt of every third task; and two nights in a
row (a session open across midnight, an SDR repeated the second night)
against two runs sharing a state directory.

Needs pyspark and pyarrow (a virtual environment; PYSPARK_PYTHON must be
its python) and Java 17. Exit status 0 when every case matches.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "spark"))

import sdrate_spark as driver  # noqa: E402

LISTS = ROOT / "price_lists"
CUSTOMERS = LISTS / "customers.csv"


# --- BER framing --------------------------------------------------------


def records(data: bytes) -> list[bytes]:
    """Splits back-to-back BER TLVs (definite lengths, as sdrate writes)."""
    out, i = [], 0
    while i < len(data):
        start = i
        tag = data[i]
        i += 1
        if tag & 0x1F == 0x1F:
            while data[i] & 0x80:
                i += 1
            i += 1
        first = data[i]
        i += 1
        if first < 0x80:
            length = first
        else:
            n = first & 0x7F
            length = int.from_bytes(data[i : i + n], "big")
            i += n
        i += length
        out.append(data[start:i])
    if i != len(data):
        raise ValueError("trailing bytes")
    return out


def read(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


# --- comparing -----------------------------------------------------------


class Mismatch(AssertionError):
    pass


def same(what: str, ours, theirs) -> None:
    if ours != theirs:
        raise Mismatch(f"{what}: spark {summarise(ours)} != rate {summarise(theirs)}")


def summarise(v):
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return f"[{len(v)} items, {sum(map(len, v))} bytes]"
    text = repr(v)
    return text if len(text) < 600 else text[:600] + "..."


def tables(spark, warehouse: Path, night: str) -> dict:
    from pyspark.sql import functions as F

    out = {}
    for name in driver.TABLES:
        df = spark.read.parquet(str(warehouse / name)).where(F.col("night") == F.lit(night))
        out[name] = [r.asDict() for r in df.collect()]
    return out


def compare(spark, warehouse: Path, night: str, rate_out: Path) -> None:
    t = tables(spark, warehouse, night)
    summary = json.loads((rate_out / "summary.json").read_text())

    # Priced SDRs: each input's rows in offset order are its priced/ file.
    by_input = collections.defaultdict(list)
    for r in t["priced"]:
        if r["outcome"] == "priced":
            by_input[(r["input_order"], r["source_file"])].append((r["offset"], r["priced"]))
    ours = sorted(b"".join(b for _, b in sorted(rows)) for rows in by_input.values())
    theirs = sorted(
        p.read_bytes() for p in (rate_out / "priced").iterdir() if p.stat().st_size > 0
    )
    same("priced/ files", ours, theirs)

    def sorted_bytes(rows, outcome):
        return sorted(r["priced"] for r in rows if r["outcome"] == outcome)

    same("answers.sdr", sorted_bytes(t["priced"], "priceRequest"),
         sorted(records(read(rate_out / "answers.sdr"))))
    same("not-priced.sdr", sorted_bytes(t["priced"], "notPriced"),
         sorted(records(read(rate_out / "not-priced.sdr"))))
    same("participations.sdr", sorted_bytes(t["participations"], "participation"),
         sorted(records(read(rate_out / "participations.sdr"))))
    fault_sdrs = sorted(
        r["priced"] for r in t["faults"]
        if r["record_kind"] in ("sdr", "sessionEvent", "undecodable") and r["priced"]
    )
    same("faults.sdr", fault_sdrs, sorted(records(read(rate_out / "faults.sdr"))))

    # Every fault, where it lies and why.
    ours = sorted(
        (r["source_file"], r["offset"], r["fault_cause"], r["fault_detail"] or "")
        for r in t["faults"]
    )
    theirs = []
    with open(rate_out / "faults.csv", newline="") as f:
        for row in csv.DictReader(f):
            pos = row["offset"] or row["line"]
            theirs.append((row["file"], int(pos), row["status"], row["cause"]))
    same("faults.csv", ours, sorted(theirs))

    # Counts.
    counts = driver.night_counts(spark, str(warehouse), night)
    s = summary["sessions"]
    expected = {
        "priced": summary["priced"],
        "price_requests": summary["price_requests"],
        "not_priced": summary["not_priced"],
        "duplicates": summary["duplicates"],
        "faulted": summary["faulted"],
        "faults_by_cause": summary["faults_by_cause"],
        "sessions_priced": s["sessions_priced"],
        "duplicate_sessions": s["duplicate_sessions"],
        "participations": s["participations"],
        "events_priced": s["events_priced"],
        "duplicate_events": s["duplicate_events"],
        "late_events": s["late_events"],
        "sessions_pending": s["sessions_pending"],
        "events_pending": s["events_pending"],
    }
    same("counts", {k: counts[k] for k in expected}, expected)
    print("      " + ", ".join(f"{k} {v}" for k, v in expected.items() if k != "faults_by_cause"))

    # Money: totals per currency and marketing company of everything billed.
    ours = collections.defaultdict(lambda: [Decimal(0), Decimal(0)])
    billed = [r for r in t["priced"] if r["outcome"] == "priced"] + t["participations"]
    for r in billed:
        total = ours[(r["currency"], r["marketing_company"])]
        total[0] += Decimal(r["basic_price"])
        total[1] += Decimal(r["individual_price"])
    theirs = {
        (cur, mc): [Decimal(v["basic"]), Decimal(v["individual"])]
        for cur, by_mc in summary["totals"].items()
        for mc, v in by_mc.items()
    }
    same("totals", dict(ours), theirs)


# --- the cases -----------------------------------------------------------


def sdrate(binary: Path, *args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *map(str, args)], check=True, **kw)


def rate(binary: Path, inputs, out: Path, state: Path, pricing_time: str, *extra) -> None:
    r = subprocess.run(
        [str(binary), "-q", "rate", *map(str, inputs), "--out", str(out), "--state", str(state),
         "--pricing-time", pricing_time, "--price-lists", str(LISTS), "--customers", str(CUSTOMERS),
         *extra],
    )
    # 1: some records faulted (the fixtures fault on purpose).
    if r.returncode not in (0, 1):
        raise SystemExit(f"sdrate rate failed: {r.returncode}")


def night(binary, inputs, warehouse, label, pricing_time, partitions, **extra):
    return driver.Night(
        night=label, pricing_time=pricing_time, warehouse=str(warehouse),
        inputs=[str(i) for i in inputs], sdrate=str(binary), price_lists=str(LISTS),
        customers=str(CUSTOMERS), partitions=partitions, **extra,
    )


def generated(binary: Path, dir: Path, count: int) -> Path:
    dir.mkdir(parents=True)
    sdrate(binary, "generate", "--count", count, "--seed", 7, "-o", dir / "mix.sdr")
    sdrate(binary, "generate", "--count", count // 5, "--seed", 8, "--sessions", 40,
           "-o", dir / "sessions.sdr")
    # A slice sent again in another file: duplicates within the night.
    # The file is read first (inputs go in name order), so the copies come
    # before the clock moves on: a copy of a session event arriving more
    # than the session horizon (24 h) after its session ended is
    # classified differently by `rate` (the session is forgotten, priced
    # again and found a duplicate session) and by the cluster (a duplicate
    # event), neither billing it (docs/spark.md, "Known difference"); the
    # generated day spans more than that.
    mix = records((dir / "mix.sdr").read_bytes())
    (dir / "0-resent.sdr").write_bytes(b"".join(mix[100:2100]))
    return dir


MIDNIGHT_1 = """session_id,service,category,event_type,timestamp,participant_id,user_name,billed_party,role,sequence,provider,parameters
conf-midnight,CONF,sessionRelated,start,2026-11-22T23:50:00+01:00,p1,anna.berg,C00081,organiser,1,prov-conf,
conf-midnight,CONF,participantRelated,join,2026-11-22T23:51:00+01:00,p2,jonas.lind,C00412,participant,2,prov-conf,
"""
MIDNIGHT_2 = """session_id,service,category,event_type,timestamp,participant_id,user_name,billed_party,role,sequence,provider,parameters
conf-midnight,CONF,participantRelated,leave,2026-11-23T00:15:00+01:00,p2,jonas.lind,C00412,participant,3,prov-conf,
conf-midnight,CONF,participantRelated,leave,2026-11-23T00:20:00+01:00,p1,anna.berg,C00081,organiser,4,prov-conf,
conf-midnight,CONF,sessionRelated,end,2026-11-23T00:20:00+01:00,p1,anna.berg,C00081,organiser,5,prov-conf,
"""


def two_nights(binary: Path, work: Path):
    n1, n2 = work / "night1", work / "night2"
    n1.mkdir()
    n2.mkdir()
    shutil.copy(ROOT / "fixtures" / "vpn.sdr", n1 / "vpn.sdr")
    shutil.copy(ROOT / "fixtures" / "game-events.jsonl", n1 / "game-events.jsonl")
    (n1 / "conference.csv").write_text(MIDNIGHT_1)
    vpn = records((ROOT / "fixtures" / "vpn.sdr").read_bytes())
    (n2 / "resent.sdr").write_bytes(vpn[0])  # billed the night before
    shutil.copy(ROOT / "fixtures" / "msgbox.sdr", n2 / "msgbox.sdr")
    (n2 / "conference.csv").write_text(MIDNIGHT_2)
    return n1, n2


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--sdrate", default=str(ROOT / "target" / "release" / "sdrate"))
    p.add_argument("--count", type=int, default=30000, help="generated mix records")
    p.add_argument("--partitions", default="1,2,7,64")
    a = p.parse_args()
    binary = Path(a.sdrate).resolve()
    parts = [int(x) for x in a.partitions.split(",")]

    from pyspark.sql import SparkSession

    started = time.time()
    spark = (
        SparkSession.builder.master("local[2,4]")  # 2 threads, a task tried up to 4 times
        .appName("sdrate-check")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.speculation", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    print(f"spark started in {time.time() - started:.1f} s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="sdrate-spark-"))
    failures = []

    def case(name, fn):
        t = time.time()
        try:
            fn()
            print(f"ok    {name} ({time.time() - t:.1f} s)", flush=True)
        except Mismatch as e:
            failures.append(name)
            print(f"FAIL  {name}: {e}", flush=True)

    try:
        pricing = "2026-11-23T02:00:00+01:00"
        gen = generated(binary, work / "generated", a.count)
        fixtures = [ROOT / "fixtures", ROOT / "fixtures" / "broken"]
        # The generated input is billed with a responsibility tag.
        tag = {"generated": "sdrate-spark-check"}
        for label, inputs in (("fixtures", fixtures), ("generated", [gen])):
            out = work / f"rate-{label}"
            identity = ["--system-identity", tag[label]] if label in tag else []
            rate(binary, inputs, out, work / f"state-{label}", pricing, *identity)
            for n in parts:
                wh = work / f"wh-{label}-{n}"

                def one(wh=wh, n=n, inputs=inputs, out=out, label=label):
                    nt = night(binary, inputs, wh, "2026-11-23", pricing, n,
                               system_identity=tag.get(label))
                    driver.run_night(spark, nt)
                    compare(spark, wh, "2026-11-23", out)

                case(f"{label}, {n} partitions", one)

        def vacuous():
            # The comparison can fail: the fixtures' night is not the
            # generated input's.
            try:
                compare(spark, work / f"wh-fixtures-{parts[0]}", "2026-11-23", work / "rate-generated")
            except Mismatch as e:
                print(f"      as it must: {str(e)[:120]}", flush=True)
                return
            raise Mismatch("a night matched another input's run")

        case("a different input does not match", vacuous)

        def killed():
            wh, marks = work / "wh-killed", work / "killed"
            marks.mkdir()
            nt = night(binary, [gen], wh, "2026-11-23", pricing, 7,
                       kill_first_attempt_every=3, kill_marks=str(marks),
                       system_identity=tag["generated"])
            driver.run_night(spark, nt)
            compare(spark, wh, "2026-11-23", work / "rate-generated")
            if not any(marks.iterdir()):
                raise Mismatch("no task was killed")
            print(f"      {len(list(marks.iterdir()))} task attempts killed", flush=True)

        case("generated, 7 partitions, sdrate killed in the first attempt of every third task", killed)

        def nights():
            n1, n2 = two_nights(binary, work)
            state, wh = work / "state-nights", work / "wh-nights"
            t1, t2 = "2026-11-23T02:00:00+01:00", "2026-11-24T02:00:00+01:00"
            rate(binary, [n1], work / "rate-night1", state, t1)
            rate(binary, [n2], work / "rate-night2", state, t2)
            driver.run_night(spark, night(binary, [n1], wh, "2026-11-23", t1, 7))
            driver.run_night(spark, night(binary, [n2], wh, "2026-11-24", t2, 7))
            compare(spark, wh, "2026-11-23", work / "rate-night1")
            compare(spark, wh, "2026-11-24", work / "rate-night2")
            s1 = json.loads((work / "rate-night1" / "summary.json").read_text())["sessions"]
            s2 = json.loads((work / "rate-night2" / "summary.json").read_text())
            # The case must exercise what it names.
            if s1["sessions_pending"] < 1 or s2["sessions"]["events_carried_in"] < 1:
                raise Mismatch("no session was carried across midnight")
            if s2["duplicates"] < 1:
                raise Mismatch("the repeated SDR was not a duplicate")
            # A rerun of the second night replaces it.
            driver.run_night(spark, night(binary, [n2], wh, "2026-11-24", t2, 2))
            compare(spark, wh, "2026-11-24", work / "rate-night2")

        case("two nights: a session across midnight, an SDR repeated, a night rerun", nights)

        def submitted():
            # As an operator runs it: spark-submit, its own JVM.
            wh = work / "wh-submitted"
            submit = Path(sys.executable).parent / "spark-submit"
            r = subprocess.run(
                [str(submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                 str(ROOT / "spark" / "sdrate_spark.py"), "--night", "2026-11-23",
                 "--pricing-time", pricing, "--warehouse", str(wh), "--sdrate", str(binary),
                 "--price-lists", str(LISTS), "--customers", str(CUSTOMERS), "--partitions", "3",
                 *map(str, fixtures)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
            if r.returncode != 0:
                raise Mismatch(f"spark-submit exited with {r.returncode}: {r.stderr[-2000:]!r}")
            printed = json.loads(r.stdout.decode()[r.stdout.decode().index("{"):])
            compare(spark, wh, "2026-11-23", work / "rate-fixtures")
            rated = json.loads((work / "rate-fixtures" / "summary.json").read_text())
            same("printed counts", printed["priced"], rated["priced"])

        case("spark-submit spark/sdrate_spark.py on the fixtures", submitted)
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} case(s) failed: {', '.join(failures)}")
        return 1
    print(f"all cases match ({time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
