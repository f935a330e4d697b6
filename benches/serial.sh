#!/usr/bin/env bash
# The serial share of a `rate` run, by instruction counts (valgrind's
# callgrind; no host changes them): how many of a one-thread run's
# instructions only the writer's thread can execute, whatever the number of
# threads. By Amdahl's law a serial share s caps N threads at
# 1 / (s + (1 - s) / N): 3 % allows 11.0x on 16 threads, 13 % only 5.4x.
#
#   benches/serial.sh BINARY INPUT [PRICE_LISTS]
#   benches/serial.sh target/release/sdrate .bench/gen-20000.sdr
#
# Callgrind counts inside the run engine (`Prepared::execute`: reading,
# rating, writing, publishing; not start-up) and stops counting inside the
# parallel bodies, which toggle it off on entry and on again on exit:
# per-record work (a group of records each), session pricing and its
# participation keys, ledger slices, session routing by shard,
# duplicate checks by shard, JSON lines, freeing what the threads made,
# hashing the input beside its records' work, the fault rows of faulted
# sessions, each shard's open sessions at the end of the input; and
# reading and framing the input, which with more than one thread runs
# beside both the work and the writer (a block read ahead, see
# `pipeline::blocks::drive_ahead`), so it is its own stage, not the
# writer's. What is left is the serial part. Those functions are kept out
# of line (`#[inline(never)]`) for this script to find them.
set -euo pipefail
bin=$1 input=$2 lists=${3:-price_lists}
run() {
    local out
    out=$(mktemp -d)
    valgrind --tool=callgrind --callgrind-out-file=/dev/null --collect-atstart=no \
        --toggle-collect='sdrate::pipeline::rating::Prepared::execute' "$@" \
        "$bin" -q rate "$input" --out "$out/o" --threads 1 --price-lists "$lists" \
        --customers "$lists/customers.csv" --pricing-time 2026-01-01T00:00:00Z \
        2>&1 >/dev/null | awk '/Collected/ { gsub(",", "", $4); print $4 }' || true
    rm -rf "$out"
}
all=$(run)
serial=$(run \
    --toggle-collect='sdrate::pipeline::blocks::work_group*' \
    --toggle-collect='sdrate::pipeline::stage::price_and_encode' \
    --toggle-collect='sdrate::pipeline::stage::participation_keys' \
    --toggle-collect='sdrate::pipeline::ledger::Ledger::sum*' \
    --toggle-collect='sdrate::state::jsonl_slice*' \
    --toggle-collect='sdrate::group::shards::route' \
    --toggle-collect='sdrate::pipeline::dedup::stage_keys' \
    --toggle-collect='sdrate::pipeline::dedup::stage_session_keys' \
    --toggle-collect='sdrate::pipeline::stage::discard*' \
    --toggle-collect='sdrate::pipeline::stage::faulted_events' \
    --toggle-collect='sdrate::pipeline::blocks::hash_chunk' \
    --toggle-collect='sdrate::read::Reader::next_chunk' \
    --toggle-collect='sdrate::group::shards::finish_shard')
awk -v a="$all" -v s="$serial" -v f="$input" 'BEGIN {
    printf "%s: run %.1f M instructions, serial %.1f M (%.1f %%), 16 threads at most %.1fx\n",
        f, a / 1e6, s / 1e6, 100 * s / a, 1 / (s / a + (1 - s / a) / 16)
}'
