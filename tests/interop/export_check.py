#!/usr/bin/env python3
"""The Parquet export read back by an independent reader (pyarrow).

sdrate writes its Parquet files with the Rust parquet crate; pyarrow is the
C++ implementation. This check runs the README's main job with
`--export parquet`, reads priced-usage.parquet and participations.parquet
with pyarrow, and checks:

  a. the schema: money columns are DECIMAL(38, 18), start_of_use of a usage
     module a date and of a participation a UTC timestamp;
  b. the per-currency sum of individual_price over both files equals
     summary.json's totals (over marketing companies), as exact decimals;
  c. the manifest lists both files with their sizes.

Usage: python3 tests/interop/export_check.py --sdrate target/release/sdrate
Exit status 0 when everything agrees, 1 on any disagreement, 2 when the
check cannot run.
"""

import argparse
import decimal
import json
import os
import subprocess
import sys
import tempfile

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as e:  # pragma: no cover
    print(f"export_check: cannot import pyarrow: {e}", file=sys.stderr)
    sys.exit(2)

PRICING_TIME = "2026-11-22T02:00:00+01:00"


def fail(msg):
    print(f"export_check: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sdrate", required=True)
    args = ap.parse_args()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        r = subprocess.run(
            [os.path.abspath(args.sdrate), "-q", "rate", "fixtures/", "--out", out,
             "--pricing-time", PRICING_TIME, "--export", "parquet"],
            cwd=root, capture_output=True, text=True,
        )
        # 1: the run has faults (the fixtures have some on purpose).
        if r.returncode not in (0, 1):
            print(r.stderr, file=sys.stderr)
            sys.exit(2)
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
        want = {}
        for currency, companies in summary["totals"].items():
            for m in companies.values():
                want[currency] = want.get(currency, decimal.Decimal(0)) + decimal.Decimal(
                    m["individual"])
        got = {}
        rows = {}
        for name in ("priced-usage.parquet", "participations.parquet"):
            table = pq.read_table(os.path.join(out, name))
            rows[name] = table.num_rows
            for col in ("basic_price", "individual_price"):
                t = table.schema.field(col).type
                if t != pa.decimal128(38, 18):
                    fail(f"{name}: {col} is {t}, not decimal128(38, 18)")
            start = table.schema.field("start_of_use").type
            if name.startswith("priced-usage") and start != pa.date32():
                fail(f"{name}: start_of_use is {start}, not date32")
            if name.startswith("participations") and start != pa.timestamp("us", tz="UTC"):
                fail(f"{name}: start_of_use is {start}, not timestamp[us, UTC]")
            for cur, price in zip(table.column("currency").to_pylist(),
                                  table.column("individual_price").to_pylist()):
                got[cur] = got.get(cur, decimal.Decimal(0)) + price
        if got != want:
            fail(f"individual totals {got} differ from summary.json's {want}")
        with open(os.path.join(out, "manifest.json")) as f:
            listed = {e["path"]: e["size"] for e in json.load(f).get("exports", [])}
        for name in rows:
            size = os.path.getsize(os.path.join(out, name))
            if listed.get(name) != size:
                fail(f"manifest lists {name} as {listed.get(name)}, the file has {size} bytes")
        print(f"export_check: {rows} rows; totals {sorted(got.items())} agree with summary.json")


if __name__ == "__main__":
    main()
