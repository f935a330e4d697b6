#!/usr/bin/env python3
"""Spark local mode against `sdrate rate` on the same input (BENCHMARKS.md).

    PYSPARK_PYTHON=VENV/bin/python VENV/bin/python benches/spark.py \\
        [--sdrate target/release/sdrate] [--count 200000] [--rounds 3] [--cores 2]

Generates one mix file and one session file with `sdrate generate`, then in
each round, interleaved so the host's noise falls on both alike:
- `sdrate rate --threads N` (a fresh state directory);
- `sdrate spark scan | sdrate spark price --duplicates join --threads N` on
  the same files, outside Spark: sdrate's own throughput inside a task;
- the driver in `local[N]` (the Spark session started once, before the
  rounds: its start-up is printed apart).
Prints wall seconds and records per second for each, and the median.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "spark"))

import pyarrow as pa  # noqa: E402

import sdrate_spark as driver  # noqa: E402

LISTS = ROOT / "price_lists"
CUSTOMERS = LISTS / "customers.csv"
PRICING = "2026-11-23T02:00:00+01:00"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--sdrate", default=str(ROOT / "target" / "release" / "sdrate"))
    p.add_argument("--count", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cores", type=int, default=2)
    a = p.parse_args()
    binary = str(Path(a.sdrate).resolve())
    work = Path(tempfile.mkdtemp(prefix="sdrate-spark-bench-"))
    inputs = work / "in"
    inputs.mkdir()
    subprocess.run([binary, "generate", "--count", str(a.count), "--seed", "3",
                    "-o", str(inputs / "mix.sdr")], check=True)
    subprocess.run([binary, "generate", "--count", str(a.count // 10), "--seed", "4",
                    "--sessions", "200", "-o", str(inputs / "sessions.sdr")], check=True)
    records = a.count + a.count // 10

    from pyspark.sql import SparkSession

    t = time.time()
    spark = (
        SparkSession.builder.master(f"local[{a.cores}]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(a.cores * 2))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    print(f"Spark start-up: {time.time() - t:.1f} s")

    def rate():
        out, state = work / "rate-out", work / "rate-state"
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)
        r = subprocess.run([binary, "-q", "rate", str(inputs), "--out", str(out), "--state",
                            str(state), "--pricing-time", PRICING, "--threads", str(a.cores),
                            "--price-lists", str(LISTS), "--customers", str(CUSTOMERS)])
        assert r.returncode in (0, 1), r.returncode

    def exchange():
        for f in sorted(inputs.iterdir()):
            scan = subprocess.Popen([binary, "spark", "scan"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE)
            price = subprocess.Popen(
                [binary, "spark", "price", "--duplicates", "join", "--pricing-time", PRICING,
                 "--threads", str(a.cores), "--price-lists", str(LISTS), "--customers",
                 str(CUSTOMERS)],
                stdin=scan.stdout, stdout=subprocess.DEVNULL)
            scan.stdout.close()
            batch = pa.record_batch([pa.array([str(f)])], names=["path"])
            with pa.ipc.new_stream(scan.stdin, batch.schema) as w:
                w.write_batch(batch)
            scan.stdin.close()
            assert price.wait() == 0 and scan.wait() == 0

    def spark_night():
        wh = work / "warehouse"
        shutil.rmtree(wh, ignore_errors=True)
        driver.run_night(spark, driver.Night(
            night="2026-11-23", pricing_time=PRICING, warehouse=str(wh), inputs=[str(inputs)],
            sdrate=binary, price_lists=str(LISTS), customers=str(CUSTOMERS),
            partitions=a.cores * 2))

    runs = {"sdrate rate": rate, "scan | price (no Spark)": exchange, f"Spark local[{a.cores}]": spark_night}
    took = {k: [] for k in runs}
    for r in range(a.rounds):
        for name, fn in runs.items():
            t = time.time()
            fn()
            took[name].append(time.time() - t)
            print(f"round {r + 1}: {name:28} {took[name][-1]:7.2f} s", flush=True)
    print(f"\n{records} records ({a.count} mix + {a.count // 10} session events), {a.cores} cores")
    base = statistics.median(took["sdrate rate"])
    for name, ts in took.items():
        m = statistics.median(ts)
        print(f"{name:28} median {m:7.2f} s  {records / m / 1000:8.1f} k records/s  {m / base:5.2f}x rate")
    spark.stop()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
