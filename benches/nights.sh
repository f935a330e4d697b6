#!/usr/bin/env bash
# Nightly runs on one state directory: what the duplicate index costs as
# history grows. Night k rates COUNT SDRs generated from day k
# (`sdrate generate --start`, seed k, so every night has its own SDRs),
# with --pricing-time the next morning at 02:00 UTC+1 and the default
# 90-day window. Prints one line per night: wall and CPU seconds, peak
# resident memory, the index's size on disk and its files, and the files
# the night wrote (changed since the night before).
#
#   benches/nights.sh [NIGHTS] [COUNT]
#   benches/nights.sh 10 200000
#
# Uses target/release/sdrate (built if missing, or SDRATE=path; an older
# build with a single duplicates.idx works too, for comparison) and writes
# into .bench/nights (git-ignored). Needs GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

nights=${1:-10}
count=${2:-200000}
sdrate=${SDRATE:-target/release/sdrate}
work=${BENCH_DIR:-.bench}/nights

if [[ ! -x $sdrate ]]; then
    cargo build --release --quiet
fi
rm -rf "$work"
mkdir -p "$work/state" "$work/in"

# The index: the day files, or an older version's single file.
index_files() {
    { find "$work/state/duplicates" -name '*.idx' 2>/dev/null; ls "$work/state/duplicates.idx" 2>/dev/null; } || true
}

printf '%-5s %-9s %8s %8s %9s %10s %6s %14s\n' night records wall_s cpu_s peak_mib index_mib files written_mib
prev_sums=""
for k in $(seq 1 "$nights"); do
    day=$(date -u -d "2026-09-01 + $((k - 1)) days" +%Y-%m-%d)
    next=$(date -u -d "$day + 1 day" +%Y-%m-%d)
    input=$work/in/night-$k.sdr
    "$sdrate" generate --count "$count" --seed "$k" --start "${day}T00:00:00+01:00" -o "$input"
    # Exit code 1 means "finished with faults": the generated mix carries
    # a realistic share of them on purpose.
    /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" \
        "$sdrate" rate "$input" --out "$work/out-$k" --state "$work/state" \
        --pricing-time "${next}T02:00:00+01:00" 2>"$work/stderr.txt" || [[ $? -eq 1 ]]
    read -r wall user sys rss < <(tail -n 1 "$work/time.txt")
    mapfile -t files < <(index_files)
    bytes=0
    sums=""
    for f in "${files[@]}"; do
        bytes=$((bytes + $(stat -c %s "$f")))
        sums+="$(basename "$f") $(stat -c '%i %s' "$f")"$'\n'
    done
    # Written tonight: files that are new or replaced (another inode).
    written=0
    while read -r name ino size; do
        [[ -z $name ]] && continue
        grep -qxF "$name $ino $size" <<< "$prev_sums" || written=$((written + size))
    done <<< "$sums"
    prev_sums=$sums
    rm -rf "$work/out-$k" "$input"
    awk -v k="$k" -v n="$count" -v wall="$wall" -v user="$user" -v sys="$sys" -v rss="$rss" \
        -v b="$bytes" -v f="${#files[@]}" -v w="$written" 'BEGIN {
        printf "%-5d %-9d %8.2f %8.2f %9.1f %10.1f %6d %14.1f\n", k, n, wall, user + sys, rss / 1024, b / 1048576, f, w / 1048576
    }'
done
