#!/usr/bin/env python3
"""sdrate on Apache Spark: one night of rating, identical to `sdrate rate --state`.

Run with spark-submit (docs/spark.md):

    spark-submit --files target/release/sdrate spark/sdrate_spark.py \\
        --night 2026-11-22 --pricing-time 2026-11-22T02:00:00+01:00 \\
        --warehouse /data/sdrate --price-lists /data/price_lists \\
        --customers /data/price_lists/customers.csv /data/incoming/2026-11-22

Spark lists nothing itself: `sdrate spark list` gives the input files in
`rate`'s order (which copy of an SDR comes first depends on it). Then:

1. stage one, one task per input file: `sdrate spark scan | sdrate spark
   price --duplicates join` decodes and prices every self-contained record
   where it was read; session rows pass through with their keys;
2. duplicates: the night's priced SDRs are joined with the keys billed on
   earlier nights (the `billed_keys` table) and among themselves; the first
   copy in input order is billed, the others are duplicates, as the
   one-machine index decides;
3. sessions: the night's session rows and the events carried from the night
   before (`pending_events`) are repartitioned by session id, sorted by
   session and arrival, and priced by `sdrate spark price --grouped`; a
   session with a participation billed on an earlier night is a duplicate;
4. the tables are written as Parquet under the night's work directory and,
   once all are written, each is moved into place as `TABLE/night=NIGHT`
   (through Hadoop's FileSystem API: local, HDFS or an object store): a
   rerun of a night replaces that night's directories and reads only
   earlier nights, so it never adds to itself.

sdrate never reads the clock here (`--pricing-time` is required), so a task
Spark retries writes the same bytes. Nothing in this file prices: it moves
rows between sdrate processes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Iterator, List, Optional

import pyarrow as pa

# The tables a night writes, each partitioned by `night`.
TABLES = (
    "priced",  # priced SDRs, answers to price requests, SDRs passed on unpriced
    "participations",  # priced participations of multi-party sessions
    "sessions",  # one row per session priced (or found a duplicate)
    "faults",  # everything kept for recycling
    "duplicates",  # SDRs, sessions and events not billed again
    "late_events",  # events after the end of their priced session
    "pending_events",  # events of sessions still open, read by the next night
    "billed_keys",  # duplicate keys of what the night billed
)

@dataclass
class Night:
    """What one night's run is given."""

    night: str
    pricing_time: str
    warehouse: str
    inputs: List[str]
    # None: the binary shipped with `--files`, else `sdrate` on PATH,
    # looked up where the process runs (driver or executor).
    sdrate: Optional[str] = None
    price_lists: Optional[str] = None
    customers: Optional[str] = None
    partitions: int = 8
    duplicate_window: Optional[int] = None
    future_tolerance: Optional[int] = None
    task_threads: int = 1
    # The responsibility tag of billed SDRs (`rate --system-identity`).
    system_identity: Optional[str] = None
    # Tests only: kill sdrate in the first attempt of every N-th task (by
    # partition id) after its first batch, leaving a file in kill_marks.
    kill_first_attempt_every: Optional[int] = None
    kill_marks: Optional[str] = None

    def binary(self) -> str:
        return self.sdrate or _shipped_binary()

    def tariff_args(self) -> List[str]:
        args = ["--pricing-time", self.pricing_time, "--threads", str(self.task_threads)]
        if self.price_lists:
            args += ["--price-lists", self.price_lists]
        if self.customers:
            args += ["--customers", self.customers]
        if self.duplicate_window is not None:
            args += ["--duplicate-window", str(self.duplicate_window)]
        if self.future_tolerance is not None:
            args += ["--future-tolerance", str(self.future_tolerance)]
        return args


# --- schemas --------------------------------------------------------------


def _spark_types():
    from pyspark.sql import types as T

    return T


def price_schema():
    """`sdrate spark price` output plus the input order (docs/spark.md)."""
    T = _spark_types()
    s, i, b = T.StringType(), T.LongType(), T.BinaryType()
    cols = [
        ("source_file", s), ("offset", i), ("record_kind", s), ("session_id", s),
        ("sequence_number", i), ("duplicate_key", b), ("time_of_origin", s),
        ("event_seconds", i), ("outcome", s), ("priced", b), ("fault_cause", s),
        ("fault_detail", s), ("producer", s), ("sdr_identifier", i), ("customer", s),
        ("marketing_company", s), ("currency", s), ("basic_price", s),
        ("individual_price", s), ("input_order", i),
    ]
    return T.StructType([T.StructField(n, t, True) for n, t in cols])


def session_schema():
    """`sdrate spark price --grouped` output (docs/spark.md)."""
    T = _spark_types()
    s, i, b = T.StringType(), T.LongType(), T.BinaryType()
    cols = [
        ("session_id", s), ("outcome", s), ("source_file", s), ("offset", i),
        ("record_kind", s), ("sequence_number", i), ("time_of_origin", s),
        ("event_seconds", i), ("event_index", i), ("position", i), ("raw", b),
        ("priced", b), ("fault_cause", s), ("fault_detail", s), ("duplicate_key", b),
        ("events", i), ("participant", s), ("service", s), ("start_of_use", s),
        ("customer", s), ("customer_group", s), ("marketing_company", s),
        ("currency", s), ("basic_price", s), ("individual_price", s),
        ("vat_percent", s), ("price_list", s), ("revision", i),
    ]
    return T.StructType([T.StructField(n, t, True) for n, t in cols])


# The columns of a session row sent to grouped pricing.
SESSION_INPUT = [
    "source_file", "offset", "record_kind", "session_id", "sequence_number",
    "time_of_origin", "event_seconds", "event_index", "raw", "input_order", "position",
]


# --- the sdrate processes -------------------------------------------------


def _should_kill(night: Night) -> bool:
    if not night.kill_first_attempt_every:
        return False
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is None or ctx.attemptNumber() != 0:
        return False
    if ctx.partitionId() % night.kill_first_attempt_every != 0:
        return False
    if night.kill_marks:
        name = f"stage{ctx.stageId()}-task{ctx.partitionId()}"
        open(os.path.join(night.kill_marks, name), "w").close()
    return True


def _failed(what: str, proc: subprocess.Popen, err) -> RuntimeError:
    err.seek(0)
    text = err.read().decode("utf-8", "replace")[-4000:]
    return RuntimeError(f"{what} exited with {proc.returncode}: {text}")


def _finish(what: str, procs, errs, killed: bool) -> None:
    for proc, err in zip(procs, errs):
        proc.wait()
        if proc.returncode != 0 or killed:
            raise _failed(what, proc, err)


def scan_and_price(night: Night):
    """The function of stage one: batches of (input_order, path) in, the
    priced rows of each file out (scan piped into price)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        price_args = [night.binary(), "spark", "price", "--duplicates", "join"]
        price_args += night.tariff_args()
        if night.system_identity:
            price_args += ["--system-identity", night.system_identity]
        kill = _should_kill(night)
        for batch in batches:
            orders = batch.column("input_order").to_pylist()
            paths = batch.column("path").to_pylist()
            for order, path in zip(orders, paths):
                yield from _scan_price_one(night, price_args, order, path, kill)

    return run


def _scan_price_one(night, price_args, order, path, kill) -> Iterator[pa.RecordBatch]:
    with tempfile.TemporaryFile() as scan_err, tempfile.TemporaryFile() as price_err:
        scan = subprocess.Popen(
            [night.binary(), "spark", "scan"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=scan_err,
        )
        price = subprocess.Popen(
            price_args, stdin=scan.stdout, stdout=subprocess.PIPE, stderr=price_err
        )
        scan.stdout.close()  # price holds it now
        paths = pa.record_batch([pa.array([path], pa.string())], names=["path"])
        with pa.ipc.new_stream(scan.stdin, paths.schema) as w:
            w.write_batch(paths)
        scan.stdin.close()
        killed = False
        try:
            reader = pa.ipc.open_stream(price.stdout)
            for out in reader:
                n = out.num_rows
                yield out.append_column("input_order", pa.array([order] * n, pa.int64()))
                if kill and not killed:
                    price.send_signal(signal.SIGKILL)
                    killed = True
        except pa.ArrowInvalid as e:
            price.wait()
            raise _failed(f"sdrate spark price ({path})", price, price_err) from e
        finally:
            price.stdout.close()
        _finish(f"sdrate spark scan|price ({path})", [scan, price], [scan_err, price_err], killed)


def grouped_price(night: Night, newest: Optional[int]):
    """The function of the session stage: one partition of session rows,
    gathered and sorted, through one `sdrate spark price --grouped`."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        args = [night.binary(), "spark", "price", "--grouped", "--duplicates", "join"]
        args += night.tariff_args()
        if newest is not None:
            args += ["--newest-event", str(newest)]
        kill = _should_kill(night)
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
            failure = []

            def feed():
                # A thread of its own: sdrate answers while it reads, and
                # a pipe holds only so much.
                try:
                    writer = None
                    for b in batches:
                        if writer is None:
                            writer = pa.ipc.new_stream(proc.stdin, b.schema)
                        writer.write_batch(b)
                    if writer is None:
                        writer = pa.ipc.new_stream(proc.stdin, _empty_session_input())
                    writer.close()
                except BrokenPipeError:
                    pass  # sdrate stopped reading: its exit status says why
                except BaseException as e:  # noqa: BLE001 - re-raised below
                    failure.append(e)
                finally:
                    try:
                        proc.stdin.close()
                    except BrokenPipeError:
                        pass

            feeder = threading.Thread(target=feed, daemon=True)
            feeder.start()
            killed = False
            try:
                for out in pa.ipc.open_stream(proc.stdout):
                    yield out
                    if kill and not killed:
                        proc.send_signal(signal.SIGKILL)
                        killed = True
            except pa.ArrowInvalid as e:
                proc.wait()
                raise _failed("sdrate spark price --grouped", proc, err) from e
            finally:
                proc.stdout.close()
            feeder.join()
            if failure:
                raise failure[0]
            _finish("sdrate spark price --grouped", [proc], [err], killed)

    return run


def _empty_session_input() -> pa.Schema:
    return pa.schema([
        ("source_file", pa.string()), ("offset", pa.int64()), ("record_kind", pa.string()),
        ("session_id", pa.string()), ("raw", pa.binary()), ("event_index", pa.int64()),
    ])


def list_inputs(night: Night) -> List[str]:
    """The input files in `rate`'s order, as sdrate itself lists them."""
    out = subprocess.run(
        [night.binary(), "spark", "list", *night.inputs], check=True, stdout=subprocess.PIPE
    )
    return [line for line in out.stdout.decode("utf-8").split("\n") if line]


# --- one night ------------------------------------------------------------


def _table(warehouse: str, name: str) -> str:
    return f"{warehouse.rstrip('/')}/{name}"


class Store:
    """The warehouse through Hadoop's FileSystem API, so that it can be a
    local directory, HDFS or an object store alike."""

    def __init__(self, spark, root: str):
        self._jvm = spark._jvm
        self._conf = spark._jsc.hadoopConfiguration()
        self.root = root.rstrip("/")

    def _path(self, path: str):
        return self._jvm.org.apache.hadoop.fs.Path(path)

    def _fs(self, path: str):
        return self._path(path).getFileSystem(self._conf)

    def exists(self, path: str) -> bool:
        return self._fs(path).exists(self._path(path))

    def names(self, path: str) -> List[str]:
        if not self.exists(path):
            return []
        return [st.getPath().getName() for st in self._fs(path).listStatus(self._path(path))]

    def delete(self, path: str) -> None:
        self._fs(path).delete(self._path(path), True)

    def rename(self, src: str, dst: str) -> None:
        fs = self._fs(src)
        fs.mkdirs(self._path(dst).getParent())
        if not fs.rename(self._path(src), self._path(dst)):
            raise RuntimeError(f"cannot rename {src} to {dst}")

    def write_text(self, path: str, text: str) -> None:
        out = self._fs(path).create(self._path(path), True)
        try:
            out.write(bytearray(text.encode("utf-8")))
        finally:
            out.close()


def _earlier(spark, store: Store, name: str, night: str):
    """The rows of a table from nights before `night` (None if none)."""
    from pyspark.sql import functions as F

    path = _table(store.root, name)
    if not any(n.startswith("night=") for n in store.names(path)):
        return None
    return spark.read.parquet(path).where(F.col("night") < F.lit(night))


def _stage(df, staged: str, name: str) -> None:
    """Writes a table of the night under the night's work directory (an
    empty one too: a rerun that finds nothing must replace the first run's
    rows)."""
    df.write.mode("overwrite").parquet(f"{staged}/{name}")


def _publish(store: Store, staged: str, night: str) -> None:
    """Moves each staged table into place as its `night=` directory, once
    every table is written: a night that fails part way leaves the last
    complete one (the next night reads from it). The old directory is
    moved aside before the new one moves in, then removed."""
    for name in TABLES:
        final = f"{_table(store.root, name)}/night={night}"
        aside = f"{_table(store.root, name)}/_replaced-night={night}"
        if store.exists(aside):
            store.delete(aside)
        if store.exists(final):
            store.rename(final, aside)
        store.rename(f"{staged}/{name}", final)
        if store.exists(aside):
            store.delete(aside)


_shipped = False


def _ship_module(spark) -> None:
    """The Python workers import this module to run the task functions."""
    global _shipped
    if not _shipped and __name__ != "__main__":
        spark.sparkContext.addPyFile(os.path.abspath(__file__))
    _shipped = True


def run_night(spark, night: Night) -> dict:
    """Rates one night; returns its counts (also written to
    WAREHOUSE/_runs/NIGHT.json)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    store = Store(spark, night.warehouse)
    began = time.time()
    phases = {}

    def phase(name):
        phases[name] = round(time.time() - began - sum(phases.values()), 3)

    # `night=2026-11-22` stays text, compared as text.
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    _ship_module(spark)
    work = f"{store.root}/_work/night={night.night}"
    staged = f"{work}/tables"
    files = list_inputs(night)

    # Stage one: scan and price, a task per file.
    paths = spark.createDataFrame(
        [(i, p) for i, p in enumerate(files)],
        T.StructType([
            T.StructField("input_order", T.LongType()), T.StructField("path", T.StringType())
        ]),
    ).repartition(max(1, min(len(files), night.partitions)))
    rows = paths.mapInArrow(scan_and_price(night), price_schema())
    rows.write.mode("overwrite").parquet(f"{work}/rows")
    rows = spark.read.parquet(f"{work}/rows")
    phase("scan_and_price")

    # Duplicates: billed on an earlier night, or an earlier copy tonight.
    earlier_keys = _earlier(spark, store, "billed_keys", night.night)
    billed = rows.where(F.col("outcome") == "priced")
    if earlier_keys is not None:
        seen = earlier_keys.select("duplicate_key").distinct().withColumn("billed_before", F.lit(True))
        billed = billed.join(seen, "duplicate_key", "left")
    else:
        billed = billed.withColumn("billed_before", F.lit(None).cast("boolean"))
    first = Window.partitionBy("duplicate_key").orderBy("input_order", "offset")
    billed = billed.withColumn(
        "outcome",
        F.when(
            F.col("billed_before").isNotNull() | (F.row_number().over(first) > 1), F.lit("duplicate")
        ).otherwise(F.lit("priced")),
    ).drop("billed_before")
    record_cols = [c for c in rows.columns if c != "priced"] + ["priced"]
    records = rows.where(~F.col("outcome").isin("priced", "sessionEvent")).select(record_cols)
    records = records.unionByName(billed.select(record_cols))
    records.write.mode("overwrite").parquet(f"{work}/records")
    records = spark.read.parquet(f"{work}/records")
    phase("duplicates")

    # Sessions: tonight's session rows and the events carried in.
    # A session-event SDR without a session event of its own (a
    # participation summary) is archived by `rate` and adds no event.
    session_rows = rows.where(
        (F.col("outcome") == "sessionEvent") & F.col("session_id").isNotNull()
    ).select(
        "source_file", "offset", "record_kind", "session_id", "sequence_number",
        "time_of_origin", "event_seconds", F.lit(None).cast("long").alias("event_index"),
        F.col("priced").alias("raw"), "input_order", F.lit(None).cast("long").alias("position"),
    )
    carried_in = 0
    pending_before = _earlier(spark, store, "pending_events", night.night)
    if pending_before is not None:
        last = pending_before.agg(F.max("night")).first()[0]
        if last is not None:
            carried = pending_before.where(F.col("night") == F.lit(last)).select(
                "source_file", "offset", "record_kind", "session_id", "sequence_number",
                "time_of_origin", "event_seconds", "event_index", "raw",
                F.lit(-1).cast("long").alias("input_order"), "position",
            )
            carried_in = carried.count()
            session_rows = carried.unionByName(session_rows)
    newest = session_rows.agg(F.max("event_seconds")).first()[0]
    gathered = session_rows.repartition(night.partitions, "session_id").sortWithinPartitions(
        "session_id", "input_order", "position", "offset"
    )
    sessions = gathered.select(SESSION_INPUT).mapInArrow(
        grouped_price(night, newest), session_schema()
    )
    sessions.write.mode("overwrite").parquet(f"{work}/sessions")
    sessions = spark.read.parquet(f"{work}/sessions")

    # A session is a duplicate when any participation was billed before.
    session_key = ["session_id", "time_of_origin"]
    parts = sessions.where(F.col("outcome") == "participation")
    if earlier_keys is not None:
        dup_sessions = (
            parts.join(earlier_keys.select("duplicate_key").distinct(), "duplicate_key", "inner")
            .select(*session_key).distinct().withColumn("dup", F.lit(True))
        )
        sessions = sessions.join(dup_sessions, session_key, "left")
    else:
        sessions = sessions.withColumn("dup", F.lit(None).cast("boolean"))
    sessions = sessions.withColumn(
        "outcome",
        F.when(F.col("dup").isNotNull() & (F.col("outcome") == "participation"), F.lit("duplicateParticipation"))
        .when(F.col("dup").isNotNull() & (F.col("outcome") == "sessionPriced"), F.lit("duplicateSession"))
        .otherwise(F.col("outcome")),
    ).drop("dup")
    sessions.write.mode("overwrite").parquet(f"{work}/sessions-resolved")
    sessions = spark.read.parquet(f"{work}/sessions-resolved")
    phase("sessions")

    # The tables.
    outcome = F.col("outcome")
    _stage(records.where(outcome.isin("priced", "priceRequest", "notPriced")), staged, "priced")
    _stage(sessions.where(outcome == "participation"), staged, "participations")
    _stage(
        sessions.where(outcome.isin("sessionPriced", "duplicateSession")).select(
            "session_id", "outcome", "time_of_origin", "events"
        ),
        staged, "sessions",
    )
    fault_cols = ["source_file", "offset", "record_kind", "session_id", "outcome", "fault_cause", "fault_detail", "priced"]
    _stage(
        records.where(outcome.isin("fault", "badEventRow")).select(fault_cols)
        .withColumn("stage", F.lit("records"))
        .unionByName(
            sessions.where(outcome.isin("fault", "badEventRow")).select(fault_cols)
            .withColumn("stage", F.lit("sessions"))
        ),
        staged, "faults",
    )
    dup_cols = ["source_file", "offset", "session_id", "outcome", "duplicate_key", "time_of_origin", "priced"]
    _stage(
        records.where(outcome == "duplicate").select(dup_cols).unionByName(
            sessions.where(outcome.isin("duplicateEvent", "duplicateParticipation")).select(dup_cols)
        ),
        staged, "duplicates",
    )
    _stage(sessions.where(outcome == "lateEvent"), staged, "late_events")
    _stage(
        sessions.where(outcome == "pending").select(
            "session_id", "source_file", "offset", "record_kind", "sequence_number",
            "time_of_origin", "event_seconds", "event_index", "position", "raw",
        ),
        staged, "pending_events",
    )
    _stage(
        records.where(outcome == "priced").select("duplicate_key", "time_of_origin").unionByName(
            sessions.where(outcome == "participation").select("duplicate_key", "time_of_origin")
        ),
        staged, "billed_keys",
    )
    phase("tables")
    _publish(store, staged, night.night)
    counts = night_counts(spark, night.warehouse, night.night)
    phase("counts")
    counts["seconds"] = phases
    counts["events_carried_in"] = carried_in
    counts["inputs"] = len(files)
    store.write_text(
        f"{store.root}/_runs/{night.night}.json", json.dumps(counts, indent=2, sort_keys=True)
    )
    store.delete(work)
    return counts


def night_counts(spark, warehouse: str, night: str) -> dict:
    """summary.json's counts of one night, from its tables."""
    from pyspark.sql import functions as F

    def table(name):
        return spark.read.parquet(_table(warehouse, name)).where(F.col("night") == F.lit(night))

    by = lambda df, col: {r[0]: r[1] for r in df.groupBy(col).count().collect()}  # noqa: E731
    priced = by(table("priced"), "outcome")
    sessions = table("sessions")
    s_by = by(sessions, "outcome")
    dups = by(table("duplicates"), "outcome")
    faults = table("faults")
    events_in_dup = sessions.where(F.col("outcome") == "duplicateSession").agg(F.sum("events")).first()[0]
    events_priced = sessions.where(F.col("outcome") == "sessionPriced").agg(F.sum("events")).first()[0]
    pending = table("pending_events")
    return {
        "priced": priced.get("priced", 0),
        "price_requests": priced.get("priceRequest", 0),
        "not_priced": priced.get("notPriced", 0),
        "duplicates": dups.get("duplicate", 0),
        # As summary.json counts them: records; events and bad rows are
        # counted by cause only.
        "faulted": faults.where((F.col("stage") == "records") & (F.col("outcome") == "fault")).count(),
        "faults_by_cause": by(faults, "fault_cause"),
        "sessions_priced": s_by.get("sessionPriced", 0),
        "duplicate_sessions": s_by.get("duplicateSession", 0),
        "participations": table("participations").count(),
        "events_priced": events_priced or 0,
        "duplicate_events": dups.get("duplicateEvent", 0) + (events_in_dup or 0),
        "late_events": table("late_events").count(),
        "sessions_pending": pending.select("session_id").distinct().count(),
        "events_pending": pending.count(),
    }


# --- command line -----------------------------------------------------------


def parse_args(argv: List[str]) -> Night:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("inputs", nargs="+", help="SDR files, event logs and directories of them")
    p.add_argument("--night", required=True, help="the night's label, e.g. 2026-11-22 (sorts as text)")
    p.add_argument("--pricing-time", required=True, help="RFC 3339; the clock is never read")
    p.add_argument("--warehouse", required=True, help="directory of the tables")
    p.add_argument("--sdrate", help="the sdrate binary (default: shipped with --files, else on PATH)")
    p.add_argument("--price-lists")
    p.add_argument("--customers")
    p.add_argument("--partitions", type=int, default=200, help="shuffle partitions of the session stage")
    p.add_argument("--duplicate-window", type=int)
    p.add_argument("--future-tolerance", type=int)
    p.add_argument("--task-threads", type=int, default=1, help="sdrate threads per task (match spark.task.cpus)")
    p.add_argument("--system-identity", help="tag billed SDRs as `rate --system-identity` does")
    a = p.parse_args(argv)
    return Night(
        night=a.night, pricing_time=a.pricing_time, warehouse=a.warehouse, inputs=a.inputs,
        sdrate=a.sdrate, price_lists=a.price_lists, customers=a.customers,
        partitions=a.partitions, duplicate_window=a.duplicate_window,
        future_tolerance=a.future_tolerance, task_threads=a.task_threads,
        system_identity=a.system_identity,
    )


def _shipped_binary() -> str:
    try:
        from pyspark import SparkFiles

        path = SparkFiles.get("sdrate")
        if os.path.exists(path):
            return path
    except Exception:  # noqa: BLE001 - no SparkContext yet: use PATH
        pass
    return shutil.which("sdrate") or "sdrate"


def main(argv: List[str]) -> int:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("sdrate").getOrCreate()
    night = parse_args(argv)
    counts = run_night(spark, night)
    print(json.dumps(counts, indent=2, sort_keys=True))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
