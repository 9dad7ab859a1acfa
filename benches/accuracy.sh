#!/usr/bin/env bash
# Accuracy of `flowscope summarize` against the ground truth of a busy-profile dataset.
#
# Usage: benches/accuracy.sh DIR [flowscope summarize args...]
#   DIR   made by `flowscope generate --profile busy --out DIR` (logs under DIR/AWSLogs,
#         truth.csv, network-interfaces.json beside them)
#   extra arguments go to both summarize runs (e.g. -j1, -j2)
# Environment: FLOWSCOPE=path/to/flowscope (default: target/release/flowscope of this tree)
#
# Runs `summarize -o json` twice on DIR/AWSLogs: from the logs alone (the inventory sits in
# DIR, outside the directory given, so it is not picked up; the script checks that no
# interface says `address_source: inventory`), and with --interfaces
# DIR/network-interfaces.json. For each run it prints:
#   judged records   data records whose protocol has ports (ICMP and others are not judged)
#   right row        Σ over true rows min(truth flows, output flows of the same interface,
#                    direction, protocol, port, action) / Σ truth flows
#   unknown          flows in rows of direction `unknown`
#   overflow         `overflow_records` of the output
#   accounting       Σ rows.flows == input.records (and input.records == the truth's records)
#   misses           the largest groups of misjudged flows, by interface role and true row kind
#   time, peak RSS   wall seconds and maximum resident set (GNU time, when present)
set -euo pipefail

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    sed -n '2,24p' "$0"
    exit 2
fi
DIR="$1"
shift
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${FLOWSCOPE:-$ROOT/target/release/flowscope}"
for f in truth.csv truth.json network-interfaces.json AWSLogs; do
    [ -e "$DIR/$f" ] || { echo "accuracy: $DIR/$f missing (generate --profile busy --out $DIR)" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "accuracy: $BIN not found (cargo build --release, or set FLOWSCOPE)" >&2; exit 2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/flowscope-accuracy.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

run() { # name, summarize args...
    local name="$1"
    shift
    local start end
    start=$(date +%s.%N)
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f '%M' -o "$WORK/$name.rss" "$BIN" summarize -o json "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" ||
            { cat "$WORK/$name.err" >&2; exit 1; }
    else
        "$BIN" summarize -o json "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" || { cat "$WORK/$name.err" >&2; exit 1; }
        echo "" >"$WORK/$name.rss"
    fi
    end=$(date +%s.%N)
    echo "$start $end" >"$WORK/$name.time"
    grep -v '^$' "$WORK/$name.err" | sed "s/^/  [$name] /" >&2 || true
}

run alone "$@" "$DIR/AWSLogs"
run inventory "$@" --interfaces "$DIR/network-interfaces.json" "$DIR/AWSLogs"

python3 - "$DIR" "$WORK" <<'EOF'
import csv, json, sys, collections

d, work = sys.argv[1], sys.argv[2]
meta = json.load(open(f"{d}/truth.json"))
role = {i["interface_id"]: i["role"] for i in meta["interfaces"]}
truth = {}
for r in csv.DictReader(open(f"{d}/truth.csv")):
    port = int(r["port"]) if r["port"] else None
    truth[(r["interface_id"], r["direction"], int(r["protocol"]), port, r["action"])] = int(r["flows"])
records = sum(truth.values())
judged = {k: v for k, v in truth.items() if k[3] is not None}
n_judged = sum(judged.values())
print(f"dataset: {d}: {meta['totals']['records']:,} records, {records:,} data records, "
      f"{n_judged:,} judged, {len(truth):,} true rows")

def kind(k):
    iface, direction, proto, port, action = k
    return f"{role.get(iface, '?')} {direction} {action}"

for name in ("alone", "inventory"):
    out = json.load(open(f"{work}/{name}.json"))
    got = collections.Counter()
    unknown = 0
    for r in out["rows"]:
        k = (r["interface_id"], r["direction"], r["protocol"], r["port"], r["action"])
        got[k] += r["flows"]
        if r["direction"] == "unknown":
            unknown += r["flows"]
    right = sum(min(v, got.get(k, 0)) for k, v in judged.items())
    misses = collections.Counter()
    for k, v in judged.items():
        m = v - min(v, got.get(k, 0))
        if m:
            misses[kind(k)] += m
    rows_flows = sum(r["flows"] for r in out["rows"])
    inp = out["input"]["records"]
    srcs = collections.Counter(i.get("address_source") for i in out.get("interfaces", []))
    t0, t1 = map(float, open(f"{work}/{name}.time").read().split())
    rss = open(f"{work}/{name}.rss").read().strip()
    label = "logs alone" if name == "alone" else "with --interfaces"
    print(f"\n{label}:")
    print(f"  right row:   {100 * right / max(n_judged, 1):.2f}% of {n_judged:,} judged records "
          f"({n_judged - right:,} misjudged)")
    print(f"  unknown:     {unknown:,} flows ({100 * unknown / max(rows_flows, 1):.2f}%) in rows of unknown direction")
    print(f"  overflow:    {out.get('overflow_records', 0):,} overflow_records")
    ok = rows_flows == inp and inp == records
    print(f"  accounting:  sum(rows.flows) {rows_flows:,} vs input.records {inp:,} vs truth {records:,}: "
          f"{'OK' if ok else 'MISMATCH'}")
    print(f"  output rows: {len(out['rows']):,}; interfaces by address_source: {dict(srcs)}")
    print(f"  time:        {t1 - t0:.2f} s wall" + (f", peak RSS {int(rss) / 1024:.1f} MiB" if rss else ""))
    if misses:
        print("  largest misses (interface role, true direction, action): " +
              "; ".join(f"{k}: {v:,}" for k, v in misses.most_common(6)))
    if name == "alone" and srcs.get("inventory"):
        print("  WARNING: the logs-alone run used an inventory; its figures are not logs-alone")
EOF
