#!/usr/bin/env bash
# The customer registry at size: `sdrate rate fixtures/vpn.sdr` (a handful
# of SDRs) with the shipped price lists and a generated registry of COUNT
# customers (default 3,000,000), so that loading the registry is nearly all
# the run does. Prints one line per registry: its rows, wall seconds, peak
# resident memory, and the wall seconds over the run with the shipped
# registry of 1,000 customers (the registry's load and hash).
#
#   benches/customers.sh [COUNT]
#   SDRATE=/tmp/sdrate-before benches/customers.sh   # another binary
#
# Registries (written once into .bench/, git-ignored):
#   plain  COUNT rows customer_id,marketing_company,group: the shipped
#          customers first (so the SDRs price), then X0000001... spread over
#          the three shipped companies and 40 groups; loads with any version;
#   dated  the same customers, every tenth of the generated ones moving
#          group on 2026-03-15 (two rows with valid_from/valid_to): COUNT
#          customers, COUNT * 1.1 rows; needs a version that knows dating.
#
# Each registry runs REPEAT times (default 3), the fastest reported. Needs
# GNU time (/usr/bin/time) for peak memory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

count=${1:-3000000}
repeat=${REPEAT:-3}
sdrate=${SDRATE:-target/release/sdrate}
work=${BENCH_DIR:-.bench}

if [[ ! -x $sdrate ]]; then
    cargo build --release --quiet
fi
mkdir -p "$work"

shipped=price_lists/customers.csv
plain=$work/customers-$count.csv
dated=$work/customers-$count-dated.csv
have=$(($(wc -l < "$shipped") - 1))
if [[ ! -s $plain ]]; then
    { cat "$shipped"
      awk -v n=$((count - have)) 'BEGIN {
          split("publicom foretag megacom", co, " ")
          for (i = 1; i <= n; i++) {
              g = i % 5 == 0 ? "" : "g" (i % 40)
              printf "X%07d,%s,%s\n", i, co[i % 3 + 1], g
          }
      }'
    } > "$plain"
fi
if [[ ! -s $dated ]]; then
    { echo "customer_id,marketing_company,group,valid_from,valid_to"
      tail -n +2 "$shipped" | sed 's/$/,,/'
      awk -v n=$((count - have)) 'BEGIN {
          split("publicom foretag megacom", co, " ")
          for (i = 1; i <= n; i++) {
              g = i % 5 == 0 ? "" : "g" (i % 40)
              c = co[i % 3 + 1]
              if (i % 10 == 0) {
                  printf "X%07d,%s,%s,,2026-03-15\n", i, c, g
                  printf "X%07d,%s,g%d,2026-03-15,\n", i, c, (i + 1) % 40
              } else {
                  printf "X%07d,%s,%s,,\n", i, c, g
              }
          }
      }'
    } > "$dated"
fi

# run REGISTRY: "wall_s peak_kib", the fastest of REPEAT runs.
run() {
    local best=""
    for _ in $(seq "$repeat"); do
        rm -rf "$work/out-customers"
        /usr/bin/time -f '%e %M' -o "$work/time.txt" \
            "$sdrate" -q rate fixtures/vpn.sdr --price-lists price_lists \
            --customers "$1" --out "$work/out-customers" \
            2>"$work/stderr.txt" || { cat "$work/stderr.txt" >&2; return 1; }
        read -r wall rss < <(tail -n 1 "$work/time.txt")
        if [[ -z $best ]] || awk -v a="$wall" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then
            best="$wall $rss"
        fi
    done
    echo "$best"
}

read -r base_wall base_rss < <(run "$shipped")
printf '%-8s %9s %8s %10s %8s\n' registry rows wall_s peak_mib load_s
line() {
    awk -v l="$1" -v rows="$2" -v wall="$3" -v rss="$4" -v base="$base_wall" 'BEGIN {
        printf "%-8s %9d %8.2f %10.1f %8.2f\n", l, rows, wall, rss / 1024, wall - base
    }'
}
line shipped "$have" "$base_wall" "$base_rss"
read -r wall rss < <(run "$plain")
line plain $(($(wc -l < "$plain") - 1)) "$wall" "$rss"
if read -r wall rss < <(run "$dated" 2>/dev/null); then
    line dated $(($(wc -l < "$dated") - 1)) "$wall" "$rss"
else
    echo "dated: this binary does not load a registry with valid_from/valid_to"
fi
