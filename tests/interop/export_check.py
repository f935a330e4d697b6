#!/usr/bin/env python3
"""The Parquet export read back by an independent reader (pyarrow).

sdrate writes its Parquet files with the Rust parquet crate; pyarrow is the
C++ implementation. This check runs the README's main job with
`--export parquet`, reads priced-usage.parquet and participations.parquet
with pyarrow, and checks:

  a. the schema: every column the docs list is there; money columns are
     DECIMAL(38, 18), start_of_use a UTC timestamp, a usage module's day a
     date, items a list of strings;
  b. the per-currency sum of individual_price over both files equals
     summary.json's totals (over marketing companies), as exact decimals;
  c. priced-usage.parquet has one row of status "fault" per faulted record,
     as many as summary.json's `faulted`, each with a cause and no price;
  d. the manifest lists both files with their sizes.

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

MONEY = pa.decimal128(38, 18)
UTC = pa.timestamp("us", tz="UTC")
ITEMS = pa.list_(pa.string())

# The columns docs/operations.md lists, with their Arrow types.
COLUMNS = {
    "priced-usage.parquet": {
        "sdr_identifier": pa.uint32(), "producer": pa.string(), "customer": pa.string(),
        "marketing_company": pa.string(), "customer_group": pa.string(),
        "service": pa.string(), "items": ITEMS, "start_of_use": UTC, "day": pa.date32(),
        "seconds": pa.uint64(), "events": pa.uint64(), "units": pa.uint64(),
        "price_list": pa.string(), "revision": pa.uint16(), "currency": pa.string(),
        "vat_percent": MONEY, "basic_price": MONEY, "individual_price": MONEY,
        "status": pa.string(), "fault_cause": pa.string(), "fault_detail": pa.string(),
        "file": pa.string(), "offset": pa.uint64(),
    },
    "participations.parquet": {
        "session_identifier": pa.string(), "participant": pa.string(), "role": pa.string(),
        "customer": pa.string(), "marketing_company": pa.string(),
        "customer_group": pa.string(), "service": pa.string(), "items": ITEMS,
        "start_of_use": UTC, "seconds": pa.uint64(), "price_list": pa.string(),
        "revision": pa.uint16(), "currency": pa.string(), "vat_percent": MONEY,
        "basic_price": MONEY, "individual_price": MONEY, "status": pa.string(),
    },
}


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
        faults = 0
        for name, columns in COLUMNS.items():
            table = pq.read_table(os.path.join(out, name))
            rows[name] = table.num_rows
            names = table.schema.names
            if names != list(columns):
                fail(f"{name}: columns {names}, the docs list {list(columns)}")
            for col, want_type in columns.items():
                t = table.schema.field(col).type
                # The list's item field name is the writer's choice.
                same = t.equals(want_type) if not pa.types.is_list(t) else (
                    pa.types.is_list(want_type) and t.value_type == want_type.value_type)
                if not same:
                    fail(f"{name}: {col} is {t}, not {want_type}")
            for r in table.select(["status", "currency", "individual_price",
                                   *(["fault_cause"] if "fault_cause" in columns else [])]
                                  ).to_pylist():
                if r["status"] == "fault":
                    faults += 1
                    if r["individual_price"] is not None or not r.get("fault_cause"):
                        fail(f"{name}: a fault row with a price or without a cause: {r}")
                    continue
                if r["status"] != "priced":
                    fail(f"{name}: status {r['status']!r}")
                cur = r["currency"]
                got[cur] = got.get(cur, decimal.Decimal(0)) + r["individual_price"]
        if faults != summary["faulted"]:
            fail(f"{faults} fault rows, summary.json counts {summary['faulted']} faulted records")
        if got != want:
            fail(f"individual totals {got} differ from summary.json's {want}")
        with open(os.path.join(out, "manifest.json")) as f:
            listed = {e["path"]: e["size"] for e in json.load(f).get("exports", [])}
        for name in rows:
            size = os.path.getsize(os.path.join(out, name))
            if listed.get(name) != size:
                fail(f"manifest lists {name} as {listed.get(name)}, the file has {size} bytes")
        print(f"export_check: {rows} rows, {faults} faults; totals {sorted(got.items())} "
              "agree with summary.json")


if __name__ == "__main__":
    main()
