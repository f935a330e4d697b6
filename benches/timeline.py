#!/usr/bin/env python3
"""Where the threads of a `rate` run wait: a timeline from `perf script`.

    perf record -e cpu-clock -F 1000 --call-graph dwarf,32768 -o P.data \\
        BIN -q rate INPUT --out /dev/shm/o --threads 2 ...
    perf script -i P.data -F tid,time,ip,sym | benches/timeline.py

Each sample is named by the innermost engine phase on its stack (PHASES,
first match from the leaf up). In 1 ms slots, a thread without a sample was
off the CPU; for every slot in which the second busiest thread was off the
CPU or in rayon's idle loop, what the busiest thread was doing says what
the second one waited for. Prints each thread's busy share and that table.
"""
import collections
import signal
import sys

# Quiet when piped into `head`.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)

PHASES = [
    ("Spilled::put", "moving sessions to disk"),
    ("faulted_events", "fault rows (threads)"),
    ("FaultBatch", "fault rows (writer)"),
    ("price_and_encode", "pricing sessions"),
    ("participation_keys", "pricing sessions"),
    ("SessionStage::file", "filing priced sessions"),
    ("Ledger", "summing the ledger"),
    ("discard", "freeing (discard)"),
    ("shards::route", "routing"),
    ("check_block", "duplicate check"),
    ("work_tagged", "rating records"),
    ("hash_chunk", "hashing the input"),
    ("next_chunk", "reading"),
    ("write_block", "the block's records (write_block)"),
    ("price_ready", "price_ready, other"),
    ("SessionStage::finish", "end of run"),
    ("wait_until_cold", "idle (rayon)"),
]


def phase(stack):
    for frame in stack:
        for key, name in PHASES:
            if key in frame:
                return name
    return "other"


def samples(lines):
    head, stack = None, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if head:
                yield head, stack
            head, stack = None, []
        elif head is None:
            parts = line.split()
            head = (int(parts[0]), float(parts[1].rstrip(":")))
        else:
            stack.append(line)
    if head:
        yield head, stack


slots = collections.defaultdict(dict)  # slot -> tid -> phase
counts = collections.Counter()
t0 = None
for (tid, t), stack in samples(sys.stdin):
    t0 = t if t0 is None else min(t0, t)
    slots[int(t * 1000)][tid] = phase(stack)
    counts[tid] += 1
first, last = min(slots), max(slots)
span = last - first + 1
threads = [tid for tid, _ in counts.most_common(2)]
print(f"{span} slots of 1 ms")
for tid in threads:
    busy = sum(1 for s in slots.values() if s.get(tid, "idle (rayon)") != "idle (rayon)")
    print(f"thread {tid}: busy {busy} slots ({100 * busy / span:.1f} %)")
if len(threads) == 2:
    a, b = threads
    waits = collections.Counter()
    for s in range(first, last + 1):
        here = slots.get(s, {})
        if here.get(b, "idle (rayon)") == "idle (rayon)":
            waits[here.get(a, "off the CPU")] += 1
    print(f"\nslots in which thread {b} waited ({sum(waits.values())}), by what thread {a} did:")
    for name, n in waits.most_common():
        print(f"  {n:6d}  {name}")
