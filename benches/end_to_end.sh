#!/usr/bin/env bash
# End-to-end rating benchmark: `sdrate generate` then `sdrate rate` with the
# shipped price lists, at several input sizes and thread counts. Prints one
# line per run: records, threads, wall seconds, CPU seconds, SDRs per second
# (wall), SDRs per second per CPU second, and peak resident memory.
#
#   benches/end_to_end.sh [SIZES] [THREADS] [OPEN_SESSIONS]
#   benches/end_to_end.sh "100000 1000000" "1 2" "1000 10000"
#
# With OPEN_SESSIONS, a second table rates inputs of multi-party session
# events only (`sdrate generate --sessions OPEN`: that many sessions open at
# once, their events interleaved), in events per second: peak memory should
# follow the number of open sessions, not the input size.
#
# Uses target/release/sdrate (built if missing, or SDRATE=path) and writes
# into .bench/ (git-ignored). Each configuration runs REPEAT times (default 3)
# and the fastest run is reported, the usual way to filter out noise from
# other processes. Needs GNU time (/usr/bin/time) for peak memory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sizes=${1:-"100000 1000000"}
threads=${2:-"1 2"}
open_sessions=${3:-}
repeat=${REPEAT:-3}
sdrate=${SDRATE:-target/release/sdrate}
work=${BENCH_DIR:-.bench}

if [[ ! -x $sdrate ]]; then
    cargo build --release --quiet
fi
mkdir -p "$work"

# bench LABEL INPUT THREADS: the fastest of REPEAT runs, one table line.
bench() {
    local label=$1 n=$2 input=$3 t=$4 best=""
    for _ in $(seq "$repeat"); do
        rm -rf "$work/out"
        # Exit code 1 means "finished with faults": the generated mix
        # carries a realistic share of them on purpose.
        /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" \
            "$sdrate" rate "$input" --out "$work/out" --threads "$t" \
            2>"$work/stderr.txt" || [[ $? -eq 1 ]]
        read -r wall user sys rss < <(tail -n 1 "$work/time.txt")
        if [[ -z $best ]] || awk -v a="$wall" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then
            best="$wall $user $sys $rss"
        fi
    done
    read -r wall user sys rss <<< "$best"
    awk -v l="$label" -v n="$n" -v t="$t" -v wall="$wall" -v user="$user" -v sys="$sys" -v rss="$rss" 'BEGIN {
        cpu = user + sys
        printf "%-9s %-9d %-7d %8.2f %8.2f %12.0f %14.0f %10.1f\n", l, n, t, wall, cpu, n / wall, n / cpu, rss / 1024
    }'
}

printf '%-9s %-9s %-7s %8s %8s %12s %14s %10s\n' input records threads wall_s cpu_s per_s per_cpu_s peak_mib
for n in $sizes; do
    input=$work/gen-$n.sdr
    if [[ ! -s $input ]]; then
        "$sdrate" generate --count "$n" --seed 1 -o "$input"
    fi
    for t in $threads; do
        bench mix "$n" "$input" "$t"
    done
done
for open in $open_sessions; do
    for n in $sizes; do
        input=$work/sessions-$open-$n.sdr
        if [[ ! -s $input ]]; then
            "$sdrate" generate --count "$n" --seed 1 --sessions "$open" -o "$input"
        fi
        for t in $threads; do
            bench "open=$open" "$n" "$input" "$t"
        done
    done
done
