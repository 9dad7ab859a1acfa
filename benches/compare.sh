#!/usr/bin/env bash
# End-to-end comparison for docs/performance.md (issue 4).
#
# Generates the benchmark dataset with flowscope's own generator (v2 records,
# gzip level 6; as N S3-style files with a header line, and as one single
# gzip file), then runs, alternately, RUNS times:
#   flowscope summarize -j1 / -j2 (many files, single file), flowscope
#   recommend (with the generated inventory), decompression alone
#   (libdeflate-gunzip and gzip -dc on 2 processes, and flowscope's own
#   reader via examples/inflate), Polars and DuckDB (2 threads).
# and prints the medians, the ratios against the issue's targets, and peak
# RSS (GNU time). Wall times on a shared 2-core machine are noisy: compare
# ratios from the same run, not numbers across runs.
#
# Usage: benches/compare.sh [--records N] [--files N] [--runs N]
#                           [--dir DIR] [--keep] [--no-install] [--no-scale]
#                           [--baseline BIN] [--profile retail|busy]
#   --records N   records in the dataset (default 10000000, ~1.1 GB inflated)
#   --files N     files in the many-files dataset (default 200)
#   --runs N      alternating repetitions; medians are reported (default 3)
#   --dir DIR     where to put (or reuse) the datasets (default: a temp dir,
#                 removed at exit unless --keep)
#   --no-install  do not apt-get/pip install missing tools; skip them
#   --no-scale    skip the 10x-input peak-RSS check
#   --baseline BIN  also run another flowscope binary (e.g. one built from
#                 an earlier commit) summarize -j2, alternating with the
#                 rest, and print its ratio to this build: a before/after
#                 from one run, which is the only comparison that holds on
#                 a shared machine
#   --profile busy  the busy multi-account estate (generate --profile busy:
#                 files of 50,000 records, so --files is ignored; the single
#                 file is the same records recompressed as one gzip file);
#                 default retail (the retail store)
set -euo pipefail

RECORDS=10000000
FILES=200
RUNS=3
DIR=""
KEEP=0
INSTALL=1
SCALE=1
BASELINE=""
PROFILE=retail
while [ $# -gt 0 ]; do
    case "$1" in
        --records) RECORDS="$2"; shift 2 ;;
        --files) FILES="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --dir) DIR="$2"; KEEP=1; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --no-install) INSTALL=0; shift ;;
        --no-scale) SCALE=0; shift ;;
        --baseline) BASELINE="$2"; shift 2 ;;
        --profile) PROFILE="$2"; shift 2 ;;
        -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "$DIR" ]; then
    DIR="$(mktemp -d "${TMPDIR:-/tmp}/flowscope-compare.XXXXXX")"
fi
mkdir -p "$DIR"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/flowscope-compare-work.XXXXXX")"
cleanup() {
    rm -rf "$WORK"
    if [ "$KEEP" = 0 ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT

log() { echo ">> $*" >&2; }

# ---------------------------------------------------------------- tools
have() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
    if [ "$INSTALL" = 1 ] && have apt-get && [ "$(id -u)" = 0 ]; then
        log "installing $* (apt)"
        apt-get install -y -qq "$@" >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null 2>&1; } || true
    else
        log "missing: apt-get install -y $*"
    fi
}
[ -x /usr/bin/time ] || apt_install time
[ -x /usr/bin/time ] || { echo "GNU time is required (apt-get install -y time)" >&2; exit 1; }
have libdeflate-gunzip || apt_install libdeflate-tools
PY=python3
HAVE_POLARS=0
HAVE_DUCKDB=0
if have "$PY"; then
    for m in polars duckdb; do
        if ! "$PY" -c "import $m" 2>/dev/null; then
            if [ "$INSTALL" = 1 ]; then
                log "installing $m (pip)"
                "$PY" -m pip install -q "$m" >/dev/null 2>&1 || log "pip install $m failed"
            else
                log "missing: pip install $m"
            fi
        fi
    done
    "$PY" -c "import polars" 2>/dev/null && HAVE_POLARS=1
    "$PY" -c "import duckdb" 2>/dev/null && HAVE_DUCKDB=1
fi

# ---------------------------------------------------------------- build
log "building (release)"
(cd "$ROOT" && cargo build --release --quiet --bin flowscope --example inflate)
FS="$ROOT/target/release/flowscope"
INFLATE="$ROOT/target/release/examples/inflate"

# ---------------------------------------------------------------- data
case "$PROFILE" in
    retail)
        MULTI="$DIR/multi-$RECORDS-$FILES"
        SINGLE="$DIR/single-$RECORDS"
        if [ ! -f "$MULTI/.done" ]; then
            log "generating $RECORDS records in $FILES files"
            "$FS" generate --out "$MULTI" --records "$RECORDS" --files "$FILES" --format v2 --level 6 >&2
            touch "$MULTI/.done"
        fi
        if [ ! -f "$SINGLE/.done" ]; then
            log "generating $RECORDS records in one gzip file"
            "$FS" generate --out "$SINGLE" --records "$RECORDS" --single-file --format v2 --level 6 --no-inventory >&2
            touch "$SINGLE/.done"
        fi
        ;;
    busy)
        MULTI="$DIR/busy-$RECORDS"
        SINGLE="$DIR/busy-single-$RECORDS"
        if [ ! -f "$MULTI/.done" ]; then
            log "generating $RECORDS busy-profile records (files of 50,000)"
            "$FS" generate --profile busy --out "$MULTI" --records "$RECORDS" --format v2 --level 6 >&2
            touch "$MULTI/.done"
        fi
        if [ ! -f "$SINGLE/.done" ]; then
            log "recompressing the busy records as one gzip file"
            mkdir -p "$SINGLE"
            first=1
            find "$MULTI" -name '*.log.gz' -print0 | sort -z |
                while IFS= read -r -d '' f; do
                    if [ "$first" = 1 ]; then gzip -dc "$f"; first=0; else gzip -dc "$f" | tail -n +2; fi
                done | gzip -6 > "$SINGLE/busy.log.gz"
            touch "$SINGLE/.done"
        fi
        FILES=$(find "$MULTI" -name '*.log.gz' | wc -l)
        ;;
    *) echo "unknown profile: $PROFILE (retail or busy)" >&2; exit 2 ;;
esac
SINGLE_FILE="$(find "$SINGLE" -name '*.log.gz' | head -1)"
find "$MULTI" -name '*.log.gz' -print0 | sort -z > "$WORK/files0"
INFLATED=$(gzip -dc "$SINGLE_FILE" | wc -c)
log "dataset: $(du -sh "$MULTI" | cut -f1) compressed, $INFLATED bytes inflated (single file)"

# ---------------------------------------------------------------- helpers
cat > "$WORK/bench_polars.py" <<'EOF'
# Group by interface, service port (approximated as the lower port),
# protocol and action: flows and bytes. 2 threads.
import os, sys, glob
os.environ.setdefault("POLARS_MAX_THREADS", "2")
import polars as pl
files = sorted(glob.glob(os.path.join(sys.argv[1], "**", "*.log.gz"), recursive=True))
lf = pl.scan_csv(files, separator=" ", has_header=True, null_values=["-"])
out = (lf.filter(pl.col("log-status") == "OK")
         .with_columns(pl.min_horizontal("srcport", "dstport").alias("port"))
         .group_by(["interface-id", "port", "protocol", "action"])
         .agg(pl.len().alias("flows"), pl.col("bytes").sum().alias("bytes"))
         .collect())
print("polars: groups", out.height, "flows", out["flows"].sum(), file=sys.stderr)
EOF
cat > "$WORK/bench_duckdb.py" <<'EOF'
# The same query in DuckDB, 2 threads.
import os, sys, glob
import duckdb
files = sorted(glob.glob(os.path.join(sys.argv[1], "**", "*.log.gz"), recursive=True))
con = duckdb.connect()
con.execute("SET threads TO 2")
q = """SELECT "interface-id", least(srcport, dstport) AS port, protocol, action,
              count(*) AS flows, sum(bytes) AS bytes
       FROM read_csv($files, delim=' ', header=true, nullstr='-', compression='gzip')
       WHERE "log-status" = 'OK'
       GROUP BY ALL"""
rows = con.execute(q, {"files": files}).fetchall()
print("duckdb: groups", len(rows), "flows", sum(r[4] for r in rows), file=sys.stderr)
EOF

RESULTS="$WORK/results"
: > "$RESULTS"
# measure NAME COMMAND: wall seconds, peak RSS (KiB) and CPU seconds
# (user + system, children included) of a shell command. The script names
# its Python files bench_*.py: a file named polars.py would shadow the
# module it imports.
measure() {
    local name="$1" cmd="$2"
    if ! /usr/bin/time -f "%e %M %U %S" -o "$WORK/t" bash -c "$cmd" >/dev/null 2>"$WORK/err"; then
        log "$name failed:"; tail -5 "$WORK/err" >&2
        return 0
    fi
    read -r wall rss usr sys < "$WORK/t"
    cpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    echo "$name $wall $rss $cpu" >> "$RESULTS"
    log "$(printf '%-22s %6ss %8s KiB  cpu %6ss' "$name" "$wall" "$rss" "$cpu")"
}

TOOLS=(fs_j1_multi fs_j2_multi fs_j1_single fs_j2_single fs_recommend
       libdeflate_multi libdeflate_single gzip_multi gzip_single
       inflate_j1_multi inflate_j2_multi inflate_single polars duckdb)
if [ -n "$BASELINE" ]; then TOOLS+=(base_j2_multi base_j2_single); fi
run_tool() {
    case "$1" in
        fs_j1_multi)  measure "$1" "'$FS' summarize -q -j 1 -o json '$MULTI'" ;;
        fs_j2_multi)  measure "$1" "'$FS' summarize -q -j 2 -o json '$MULTI'" ;;
        fs_j1_single) measure "$1" "'$FS' summarize -q -j 1 -o json '$SINGLE_FILE'" ;;
        fs_j2_single) measure "$1" "'$FS' summarize -q -j 2 -o json '$SINGLE_FILE'" ;;
        base_j2_multi)  measure "$1" "'$BASELINE' summarize -q -j 2 -o json '$MULTI'" ;;
        base_j2_single) measure "$1" "'$BASELINE' summarize -q -j 2 -o json '$SINGLE_FILE'" ;;
        fs_recommend) measure "$1" "'$FS' recommend -q -j 2 -o json '$MULTI'" ;;
        libdeflate_multi)
            have libdeflate-gunzip &&
                measure "$1" "xargs -0 -P2 -n 16 libdeflate-gunzip -c < '$WORK/files0' > /dev/null" ;;
        libdeflate_single)
            have libdeflate-gunzip && measure "$1" "libdeflate-gunzip -c '$SINGLE_FILE' > /dev/null" ;;
        gzip_multi)   measure "$1" "xargs -0 -P2 -n 16 gzip -dc < '$WORK/files0' > /dev/null" ;;
        gzip_single)  measure "$1" "gzip -dc '$SINGLE_FILE' > /dev/null" ;;
        inflate_j1_multi) measure "$1" "'$INFLATE' -j 1 '$MULTI'" ;;
        inflate_j2_multi) measure "$1" "'$INFLATE' -j 2 '$MULTI'" ;;
        inflate_single)   measure "$1" "'$INFLATE' '$SINGLE_FILE'" ;;
        polars) [ "$HAVE_POLARS" = 1 ] && measure "$1" "$PY '$WORK/bench_polars.py' '$MULTI'" ;;
        duckdb) [ "$HAVE_DUCKDB" = 1 ] && measure "$1" "$PY '$WORK/bench_duckdb.py' '$MULTI'" ;;
    esac
    return 0
}

# Warm the page cache once, so no run pays for the disk.
cat "$WORK/files0" | xargs -0 cat > /dev/null
cat "$SINGLE_FILE" > /dev/null
for r in $(seq 1 "$RUNS"); do
    log "run $r/$RUNS"
    for t in "${TOOLS[@]}"; do run_tool "$t"; done
done

# 10x input, same topology: the many-files dataset read 10 times through a
# directory of symlinks, and the single file streamed 10 times on stdin.
if [ "$SCALE" = 1 ]; then
    log "10x input (once)"
    mkdir -p "$WORK/x10"
    i=0
    while IFS= read -r -d '' f; do
        for k in $(seq 0 9); do ln -s "$f" "$WORK/x10/r${k}_${i}.log.gz"; done
        i=$((i + 1))
    done < "$WORK/files0"
    measure fs_j2_multi_x10 "'$FS' summarize -q -j 2 -o json '$WORK/x10'"
    measure fs_j2_stdin_x10 "for k in 0 1 2 3 4 5 6 7 8 9; do cat '$SINGLE_FILE'; done | '$FS' summarize -q -j 2 -o json -"
fi

# ---------------------------------------------------------------- report
median() { # NAME FIELD(2=wall,3=rss,4=cpu)
    awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$RESULTS" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "NA"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "NA") print "NA"; else printf "%.0f", k / 1024 }'; }
verdict() { # VALUE OP LIMIT
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { if (v == "NA") print "n/a";
        else if ((op == "le" && v <= l) || (op == "ge" && v >= l)) print "met"; else print "NOT met" }'
}

echo
echo "## flowscope vs decompression, Polars, DuckDB"
echo
echo "$RECORDS v2 records ($PROFILE profile), $INFLATED bytes inflated, gzip -6; $FILES files and one single file."
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $RUNS alternating runs, medians."
echo
echo "| command | wall s (median) | CPU s (median) | peak RSS MiB |"
echo "| --- | ---: | ---: | ---: |"
for t in "${TOOLS[@]}" fs_j2_multi_x10 fs_j2_stdin_x10; do
    w=$(median "$t" 2); [ "$w" = NA ] && continue
    echo "| $t | $w | $(median "$t" 4) | $(mib "$(median "$t" 3)") |"
done
echo
J1M=$(median fs_j1_multi 2); J2M=$(median fs_j2_multi 2)
J1S=$(median fs_j1_single 2); J2S=$(median fs_j2_single 2)
LDM=$(median libdeflate_multi 2); LDS=$(median libdeflate_single 2)
REC=$(median fs_recommend 2); POL=$(median polars 2); DUCK=$(median duckdb 2)
R1=$(ratio "$J2M" "$LDM"); R2=$(ratio "$POL" "$J2M"); R3=$(ratio "$DUCK" "$J2M")
R4=$(ratio "$J2S" "$LDS"); R5=$(ratio "$REC" "$J2M")
RSS=$(mib "$(awk '$1 ~ /^fs_/ && $1 !~ /x10/ { print $3 }' "$RESULTS" | sort -n | tail -1)")
RSSM=$(median fs_j2_multi 3); RSSX=$(awk '$1 == "fs_j2_multi_x10" { print $3 }' "$RESULTS" | tail -1)
RSSS=$(median fs_j2_single 3); RSSSX=$(awk '$1 == "fs_j2_stdin_x10" { print $3 }' "$RESULTS" | tail -1)
GROW=$(ratio "${RSSX:-NA}" "$RSSM"); GROWS=$(ratio "${RSSSX:-NA}" "$RSSS")
echo "| target | measured | limit | |"
echo "| --- | ---: | ---: | --- |"
echo "| many files: summarize -j2 / libdeflate-gunzip x2 | $R1 | <= 1.6 | $(verdict "$R1" le 1.6) |"
echo "| many files: Polars / summarize -j2 | $R2 | >= 4 | $(verdict "$R2" ge 4) |"
echo "| many files: DuckDB / summarize -j2 | $R3 | (info) | |"
echo "| one file: summarize -j2 / libdeflate-gunzip | $R4 | <= 1.5 | $(verdict "$R4" le 1.5) |"
echo "| recommend / summarize -j2 | $R5 | <= 1.3 | $(verdict "$R5" le 1.3) |"
echo "| peak RSS (any flowscope run), MiB | $RSS | <= 200 | $(verdict "$RSS" le 200) |"
echo "| peak RSS 10x / 1x, many files | $GROW | <= 1.10 | $(verdict "$GROW" le 1.10) |"
echo "| peak RSS 10x / 1x, one stream | $GROWS | <= 1.10 | $(verdict "$GROWS" le 1.10) |"
echo "| summarize -j1 / -j2, many files | $(ratio "$J1M" "$J2M") | (scaling) | |"
echo "| summarize -j1 / -j2, one file | $(ratio "$J1S" "$J2S") | (scaling) | |"
echo "| flowscope inflate alone / libdeflate, one file | $(ratio "$(median inflate_single 2)" "$LDS") | (info) | |"
echo "| gzip -dc / libdeflate, one file | $(ratio "$(median gzip_single 2)" "$LDS") | (info) | |"
if [ -n "$BASELINE" ]; then
    echo "| baseline / this build, summarize -j2, many files | $(ratio "$(median base_j2_multi 2)" "$J2M") | (before/after) | |"
    echo "| baseline / this build, summarize -j2, one file | $(ratio "$(median base_j2_single 2)" "$J2S") | (before/after) | |"
fi
echo
echo "CPU-time ratios (less sensitive to other load on a shared machine):"
echo "summarize -j2 / libdeflate x2, many files: $(ratio "$(median fs_j2_multi 4)" "$(median libdeflate_multi 4)");" \
     "summarize -j2 / libdeflate, one file: $(ratio "$(median fs_j2_single 4)" "$(median libdeflate_single 4)");" \
     "Polars / summarize -j2: $(ratio "$(median polars 4)" "$(median fs_j2_multi 4)");" \
     "recommend / summarize: $(ratio "$(median fs_recommend 4)" "$(median fs_j2_multi 4)")"
