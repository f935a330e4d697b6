#!/usr/bin/env bash
# Simulates N nightly production runs on one state directory and prints, per
# night: peak RSS, wall and CPU time, and the duplicate index's size on disk.
# Each night gets its own generated input (its own seed and day, so its own
# SDR identities and times of origin) and a fixed pricing time (the next
# morning), as a cron run would; outputs are removed after each night so
# only the state directory grows.
#
#   benches/nights.sh [NIGHTS] [RECORDS] [SDRATE] [WORKDIR]
#
# defaults: 30 nights of 2,000,000 records, target/release/sdrate, .bench/nights
set -euo pipefail
NIGHTS=${1:-30}
COUNT=${2:-2000000}
SDRATE=${3:-target/release/sdrate}
W=${4:-.bench/nights}
rm -rf "$W"
mkdir -p "$W/spool"
echo "night records peak_rss_kb wall_s user_s sys_s index_bytes state_bytes"
for n in $(seq 1 "$NIGHTS"); do
  day=$(date -u -d "2026-11-01 + $((n - 1)) days" +%F)
  next=$(date -u -d "$day + 1 day" +%F)
  in="$W/spool/night-$n.sdr"
  "$SDRATE" -q generate --count "$COUNT" --seed "$n" --start "${day}T00:00:00+00:00" -o "$in"
  rc=0
  /usr/bin/time -o "$W/time" -f "%M %e %U %S" "$SDRATE" -q rate "$in" \
    --state "$W/state" --out "$W/out-$n" --pricing-time "${next}T02:00:00Z" || rc=$?
  # Exit 1: some records faulted (the generated mix has a few); more is an error.
  [ "$rc" -le 1 ] || { echo "night $n: exit $rc" >&2; exit 1; }
  read -r rss wall user sys < <(tail -1 "$W/time")
  index=$(du -cb "$W/state"/duplicates* 2>/dev/null | tail -1 | cut -f1)
  state=$(du -sb "$W/state" | cut -f1)
  echo "$n $COUNT $rss $wall $user $sys $index $state"
  rm -rf "$W/out-$n" "$in"
done
