#!/bin/sh
# Runs every command on every sample with two flowscope binaries and
# compares what they write: stdout byte for byte, the exit status, and
# stderr. For a change that must not change behaviour (a refactoring):
#
#   cargo build --release && cp target/release/flowscope /tmp/new
#   git stash; cargo build --release; cp target/release/flowscope /tmp/old; git stash pop
#   scripts/compare-outputs.sh /tmp/old /tmp/new
#
# Samples: sample-logs/* (VPC, incident, Parquet), tests/data/{tgw,real,
# cloudwatch,inputs}, and `generate`'s own output (retail store in every
# format, busy estate) made by each binary with fixed seeds. Commands:
# summarize, recommend (json, table, cli, terraform), query, top (every
# --by), scans, each as JSON and most as tables too.
#
# Exit status 0 when every output is identical, 1 otherwise (the
# differing runs are listed, and their outputs kept in the work folder).

set -u
old=${1:?usage: compare-outputs.sh OLD_BINARY NEW_BINARY [WORK_DIR]}
new=${2:?usage: compare-outputs.sh OLD_BINARY NEW_BINARY [WORK_DIR]}
work=${3:-$(mktemp -d)}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work/old" "$work/new"

runs=0
differ=0

# run NAME ARGS...: both binaries, from the repository root.
run() {
    name=$1
    shift
    runs=$((runs + 1))
    for side in old new; do
        if [ $side = old ]; then bin=$old; else bin=$new; fi
        (cd "$root" && "$bin" --color never "$@" >"$work/$side/$name.out" 2>"$work/$side/$name.err"
            echo $? >"$work/$side/$name.status")
    done
    for part in out status err; do
        if ! cmp -s "$work/old/$name.$part" "$work/new/$name.$part"; then
            echo "DIFFERS ($part): $name: flowscope $*"
            differ=$((differ + 1))
        fi
    done
}

# Generated data, made by each binary (the generator is part of what is
# compared), then read by the new binary's commands below.
gen() {
    name=$1
    shift
    for side in old new; do
        if [ $side = old ]; then bin=$old; else bin=$new; fi
        rm -rf "$work/gen-$side-$name"
        "$bin" generate --out "$work/gen-$side-$name" "$@" >/dev/null 2>&1
    done
    runs=$((runs + 1))
    if ! diff -r "$work/gen-old-$name" "$work/gen-new-$name" >/dev/null; then
        echo "DIFFERS: generate $name: flowscope generate $*"
        differ=$((differ + 1))
    fi
}

gen v2 --records 20000 --files 4 --seed 7 --format v2 --hours 3
gen v5 --records 20000 --files 4 --seed 8 --format v5 --hours 3 --incidents
gen mixed --records 20000 --files 4 --seed 9 --format mixed --hours 30
gen parquet --records 20000 --files 2 --seed 10 --file-format parquet
gen busy --profile busy --records 50000 --files 2 --seed 11

samples="sample-logs/retail-store sample-logs/incident sample-logs/incident-parquet
tests/data/tgw tests/data/real tests/data/cloudwatch tests/data/inputs
$work/gen-old-v2 $work/gen-old-v5 $work/gen-old-mixed $work/gen-old-parquet $work/gen-old-busy"

for s in $samples; do
    k=$(echo "$s" | sed "s|$work/||; s|[/.]|_|g")
    run "$k.summarize.json" summarize -o json "$s"
    run "$k.summarize.table" summarize --wide "$s"
    run "$k.summarize.csv" summarize -o csv "$s"
    run "$k.recommend.json" recommend -o json "$s"
    run "$k.recommend.table" recommend --wide "$s"
    run "$k.recommend.cli" recommend -o cli "$s"
    run "$k.recommend.terraform" recommend -o terraform "$s"
    run "$k.query.json" query -o json --action reject -n 500 --sort start "$s"
    run "$k.query.port" query -o json --port 443 -n 500 --sort start "$s"
    for by in src dst eni port pair; do
        run "$k.top.$by.json" top -o json --by "$by" "$s"
    done
    run "$k.top.port.bytes" top --wide --by port --metric bytes --bucket 1h "$s"
    run "$k.scans.json" scans -o json "$s"
    run "$k.scans.table" scans --wide "$s"
done
# The Parquet copy of the incident holds no inventory: the JSON one's.
run parquet.recommend.json recommend -o json --groups sample-logs/incident \
    --interfaces sample-logs/incident sample-logs/incident-parquet

echo "$runs runs, $differ differences (outputs in $work)"
[ "$differ" -eq 0 ]
