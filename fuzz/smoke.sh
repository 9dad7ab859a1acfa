#!/usr/bin/env bash
# Fuzz smoke run: installs cargo-fuzz if missing, builds the targets and
# runs each for ~15 s (60 s in all). Stable toolchain: --sanitizer none
# (AddressSanitizer needs nightly's -Z flags); Rust's own checks (bounds,
# overflow in debug assertions below) still turn bugs into crashes.
# Usage: fuzz/smoke.sh [seconds-per-target]
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-15}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
# -O: optimised; debug assertions (overflow checks) stay on.
flags=(-O --sanitizer none --debug-assertions)
cargo fuzz build "${flags[@]}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for t in parse_line format reader inventory; do
    echo "== fuzz $t (${secs}s)"
    if ! cargo fuzz run "${flags[@]}" "$t" -- -max_total_time="$secs" -max_len=4096 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz $t: crash (see fuzz/artifacts/$t/; add it to tests/regression.rs)" >&2
        exit 1
    fi
    grep -E "^Done" "$log" || true
done
