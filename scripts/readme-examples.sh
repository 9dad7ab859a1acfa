#!/usr/bin/env bash
# Regenerate the example outputs in README.md from the current binary, so
# they cannot drift from what flowscope prints.
#
# An example is a fenced block whose first line is `$ <command>`, right after
# one or more marker lines, one per command shown in the block:
#
#   <!-- example: flowscope summarize sample-logs/retail-store -n 5 | head=12 -->
#   ```
#   $ flowscope summarize sample-logs/retail-store -n 5
#   ...output...
#   ```
#
# The block's content is replaced by `$ command` and the command's real stdout
# for each marker, in order. Trimming, after the last ` | ` of the marker:
#   head=N         keep the first N lines, then `…` if lines were cut
#   head=N tail=M  keep the first N and the last M lines, `…` between them
# (no trim: the whole output). Commands run from the repository root with
# bash -o pipefail, `flowscope` on PATH resolving to the binary under test;
# stderr is discarded and a non-zero exit fails the script. Keep per-run
# values (timings, temporary paths) out of the examples.
#
# Usage (from anywhere; it works in the repository root):
#   scripts/readme-examples.sh            build the release binary, rewrite README.md
#   scripts/readme-examples.sh --check    exit 1 with a diff if README.md is stale
#   FLOWSCOPE_BIN=path/to/flowscope scripts/readme-examples.sh [--check]
#                                         use that binary, do not build
#   --readme FILE                         check or rewrite FILE instead of README.md
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

check=0
readme=README.md
while [ $# -gt 0 ]; do
    case "$1" in
        --check) check=1 ;;
        --readme) readme=${2:?--readme needs a file}; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "readme-examples: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

bin=${FLOWSCOPE_BIN:-}
if [ -z "$bin" ]; then
    cargo build --release --locked --quiet
    bin="${CARGO_TARGET_DIR:-$root/target}/release/flowscope"
fi
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
[ -x "$bin" ] || { echo "readme-examples: no executable at $bin" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin"
ln -s "$bin" "$work/bin/flowscope"

# run SPEC: print `$ command` and its trimmed output.
run() {
    local spec=$1 cmd trim head=0 tail=0 out n
    cmd=$spec
    trim=
    if [[ $spec == *' | '* ]]; then
        trim=${spec##* | }
        if [[ $trim =~ ^(head=[0-9]+)?( ?tail=[0-9]+)?$ ]] && [ -n "$trim" ]; then
            cmd=${spec% | *}
        else
            trim=
        fi
    fi
    for t in $trim; do
        case "$t" in head=*) head=${t#head=} ;; tail=*) tail=${t#tail=} ;; esac
    done
    printf '$ %s\n' "$cmd"
    if ! PATH="$work/bin:$PATH" NO_COLOR=1 bash -o pipefail -c "$cmd" >"$work/out" 2>"$work/err"; then
        echo "readme-examples: failed: $cmd" >&2
        sed 's/^/  /' "$work/err" >&2
        return 1
    fi
    n=$(wc -l <"$work/out")
    if [ -z "$trim" ] || [ "$n" -le $((head + tail)) ]; then
        cat "$work/out"
    else
        head -n "$head" "$work/out"
        echo '…'
        if [ "$tail" -gt 0 ]; then tail -n "$tail" "$work/out"; fi
    fi
}

new="$work/README.md"
specs=()
lineno=0
examples=0
in_block=0
{
    while IFS= read -r line || [ -n "$line" ]; do
        lineno=$((lineno + 1))
        if [ "$in_block" = 1 ]; then
            # Inside a fence that is not an example: copy it as it is.
            printf '%s\n' "$line"
            [[ $line == '```'* ]] && in_block=0
            continue
        fi
        if [[ $line =~ ^'<!-- example: '(.*)' -->'$ ]]; then
            specs+=("${BASH_REMATCH[1]}")
            printf '%s\n' "$line"
            continue
        fi
        if [[ $line == '```'* ]]; then
            printf '%s\n' "$line"
            IFS= read -r first || first=
            lineno=$((lineno + 1))
            if [ ${#specs[@]} -gt 0 ]; then
                # An example: drop the old content up to the closing fence.
                [[ $first == '```' ]] || while IFS= read -r old; do
                    lineno=$((lineno + 1))
                    [[ $old == '```' ]] && break
                done
                for s in "${specs[@]}"; do run "$s"; examples=$((examples + 1)); done
                echo '```'
                specs=()
            else
                if [[ $first == '$ flowscope'* ]]; then
                    echo "readme-examples: $readme:$lineno: example without a <!-- example: ... --> marker" >&2
                    exit 1
                fi
                printf '%s\n' "$first"
                [[ $first == '```'* ]] || in_block=1
            fi
            continue
        fi
        if [ ${#specs[@]} -gt 0 ]; then
            echo "readme-examples: $readme:$lineno: example marker not followed by a fenced block" >&2
            exit 1
        fi
        printf '%s\n' "$line"
    done <"$readme"
} >"$new"

if [ "$examples" = 0 ]; then
    echo "readme-examples: no examples found in $readme" >&2
    exit 1
fi

if cmp -s "$readme" "$new"; then
    echo "readme-examples: $examples examples in $readme are up to date" >&2
    exit 0
fi
if [ "$check" = 1 ]; then
    diff -u "$readme" "$new" --label "$readme" --label "$readme (current binary)" || true
    echo "readme-examples: $readme is stale: run scripts/readme-examples.sh" >&2
    exit 1
fi
cp "$new" "$readme"
echo "readme-examples: $examples examples in $readme regenerated" >&2
