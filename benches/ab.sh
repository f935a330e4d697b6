#!/usr/bin/env bash
# Binaries compared interleaved on one input, the only fair wall-clock
# comparison on a shared host: each round runs every binary once, in turn,
# so a slow minute slows them all alike. Prints one line per binary: the
# fastest and the median wall seconds, and the median user+system seconds.
#
#   benches/ab.sh INPUT THREADS ROUNDS LABEL=BINARY[:PRICE_LISTS] ...
#   benches/ab.sh .bench/gen-1000000.sdr 1 5 \
#       base=/tmp/sdrate-769d9a0:/tmp/base/price_lists now=target/release/sdrate
#
# A binary of an older commit reads the price lists of its own commit
# (PRICE_LISTS; default price_lists). Needs GNU time (/usr/bin/time).
set -euo pipefail
input=$1 threads=$2 rounds=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for ((r = 0; r < rounds; r++)); do
    for spec in "$@"; do
        label=${spec%%=*} rest=${spec#*=}
        bin=${rest%%:*} lists=price_lists
        [[ $rest == *:* ]] && lists=${rest#*:}
        rm -rf "$work/out"
        /usr/bin/time -f '%e %U %S' -o "$work/time" "$bin" -q rate "$input" \
            --out "$work/out" --threads "$threads" --price-lists "$lists" \
            --customers "$lists/customers.csv" \
            --pricing-time 2026-01-01T00:00:00Z || [[ $? -eq 1 ]]
        read -r wall user sys < <(tail -n 1 "$work/time")
        echo "$label $wall $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" >> "$work/times"
    done
done
for spec in "$@"; do
    label=${spec%%=*}
    walls=$(awk -v l="$label" '$1 == l { print $2 }' "$work/times" | sort -n)
    cpus=$(awk -v l="$label" '$1 == l { print $3 }' "$work/times" | sort -n)
    n=$(wc -l <<< "$walls")
    mid=$(((n + 1) / 2))
    printf '%-8s threads %d  fastest %s s  median %s s  median cpu %s s  (%d runs)\n' \
        "$label" "$threads" "$(head -1 <<< "$walls")" "$(sed -n "${mid}p" <<< "$walls")" \
        "$(sed -n "${mid}p" <<< "$cpus")" "$n"
done
