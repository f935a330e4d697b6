#!/bin/sh
# Seeds fuzz/corpus/reader (git-ignored) with generated records, one per
# file, in definite and indefinite form, plus a small multi-record file.
set -eu
cd "$(dirname "$0")/.."
corpus=fuzz/corpus/reader
mkdir -p "$corpus"
cargo build --release --quiet --bin sdrate
sdrate=target/release/sdrate
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for seed in 1 2 3 4 5 6 7 8; do
    "$sdrate" generate --count 6 --seed "$seed" -o "$tmp/gen.sdr"
    # One file per record, split on the records' own framing.
    "$sdrate" inspect "$tmp/gen.sdr" > "$tmp/gen.jsonl"
    n=0
    while IFS= read -r line; do
        n=$((n + 1))
        printf '%s\n' "$line" > "$tmp/one.jsonl"
        "$sdrate" encode "$tmp/one.jsonl" -o "$corpus/s$seed-r$n.sdr"
        "$sdrate" encode --indefinite "$tmp/one.jsonl" -o "$corpus/s$seed-r$n-indef.sdr"
    done < "$tmp/gen.jsonl"
done
"$sdrate" generate --count 3 --seed 99 -o "$corpus/three.sdr"
# Checked-in fixtures, when present, cover hand-written edge cases.
if [ -d fixtures ]; then
    find fixtures -name '*.sdr' -size -64k | while IFS= read -r f; do
        cp "$f" "$corpus/fixture-$(echo "$f" | tr '/' '_')"
    done
fi
echo "$(ls "$corpus" | wc -l) files in $corpus"
