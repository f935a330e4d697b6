#!/bin/sh
# Seeds the git-ignored corpora in fuzz/corpus/:
#   reader       generated records, one per file, in definite and indefinite
#                form, a small multi-record file, and the SDR fixtures;
#   stream       the same behind a header (max record, block size, repeats,
#                prefix length, pieces);
#   rate         the same behind a kind byte (0: SDR file), and the event
#                log fixtures (2: CSV, 3: JSON lines);
#   events       the event log fixtures behind a format byte;
#   price_lists  every shipped price list, profile file and (the head of)
#                the customer registry, behind a line naming it.
set -eu
cd "$(dirname "$0")/.."
corpus=fuzz/corpus
mkdir -p "$corpus/reader" "$corpus/stream" "$corpus/rate" "$corpus/events" "$corpus/price_lists"
cargo build --release --quiet --bin sdrate
sdrate=target/release/sdrate
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

reader=$corpus/reader
for seed in 1 2 3 4 5 6 7 8; do
    "$sdrate" generate --count 6 --seed "$seed" -o "$tmp/gen.sdr"
    # One file per record, split on the records' own framing.
    "$sdrate" inspect "$tmp/gen.sdr" > "$tmp/gen.jsonl"
    n=0
    while IFS= read -r line; do
        n=$((n + 1))
        printf '%s\n' "$line" > "$tmp/one.jsonl"
        "$sdrate" encode "$tmp/one.jsonl" -o "$reader/s$seed-r$n.sdr"
        "$sdrate" encode --indefinite "$tmp/one.jsonl" -o "$reader/s$seed-r$n-indef.sdr"
    done < "$tmp/gen.jsonl"
done
"$sdrate" generate --count 3 --seed 99 -o "$reader/three.sdr"
# Checked-in fixtures cover hand-written edge cases.
find fixtures -name '*.sdr' -size -64k | while IFS= read -r f; do
    cp "$f" "$reader/fixture-$(echo "$f" | tr '/' '_')"
done

# The reader's inputs for the stream and rate targets, behind their
# headers: stream reads with a 1 KiB maximum record, 4 KiB blocks and
# reads of 7, 1 and 64 bytes with one interrupted; also in one piece with
# a 9 KiB maximum and 1-byte blocks.
for f in "$reader"/*; do
    b=$(basename "$f")
    { printf '\000\020\000\000\004\007\001\000\100'; cat "$f"; } > "$corpus/stream/$b"
    { printf '\200\000\000\000\000'; cat "$f"; } > "$corpus/stream/one-$b"
    { printf '\000'; cat "$f"; } > "$corpus/rate/$b"
done
# A run of zeros longer than the reader's padding step (64 KiB), between
# two records.
{ printf '\000\000\000\000\000'; cat "$reader/s1-r1.sdr"; head -c 70000 /dev/zero; cat "$reader/s1-r2.sdr"; } \
    > "$corpus/stream/padding"
# The fixtures' records, repeated to 40 times their size.
{ printf '\000\010\047\000\000'; cat fixtures/vpn.sdr; } > "$corpus/stream/repeated-vpn"

for f in fixtures/*-events.csv; do
    b=$(basename "$f")
    { printf '\000'; cat "$f"; } > "$corpus/events/$b"
    { printf '\006\005\001\040'; cat "$f"; } > "$corpus/events/pieces-$b"
    { printf '\002'; cat "$f"; } > "$corpus/rate/$b"
done
for f in fixtures/*-events.jsonl; do
    b=$(basename "$f")
    { printf '\001'; cat "$f"; } > "$corpus/events/$b"
    { printf '\007\005\001\040'; cat "$f"; } > "$corpus/events/pieces-$b"
    { printf '\003'; cat "$f"; } > "$corpus/rate/$b"
done

find price_lists -name '*.toml' | while IFS= read -r f; do
    name=${f#price_lists/}
    { printf '%s\n' "$name"; cat "$f"; } > "$corpus/price_lists/$(echo "$name" | tr '/' '_')"
done
{ printf 'customers.csv\n'; head -n 40 price_lists/customers.csv; } > "$corpus/price_lists/customers.csv"

for t in reader stream rate events price_lists; do
    echo "$(ls "$corpus/$t" | wc -l) files in $corpus/$t"
done
