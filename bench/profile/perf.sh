#!/bin/sh
# Sampling profile with Linux perf (software clock: works in a VM without
# hardware counters) of one dbm-cycles.js operation in a loop; V8 writes
# /tmp/perf-PID.map (--perf-basic-prof) so JIT-compiled JS and wasm
# functions have names. Prints self time per symbol.
#   sh bench/profile/perf.sh OP [seconds] [rows]     (env as for dbm-cycles.js)
op=$1; secs=${2:-10}; rows=${3:-50}
dir=$(dirname "$0")
out=$(mktemp /tmp/dbm-perf.XXXXXX)
perf record -q -e cpu-clock -F 10000 -o "$out" node --perf-basic-prof "$dir/dbm-cycles.js" loop "$op" "$secs" >/dev/null 2>&1
perf report -i "$out" --no-children --sort symbol 2>/dev/null | grep -v '^#' | grep -v '^$' | sed -E 's/ +- +- *$//; s/ {2,}/ /g; s| file:///[^ ]*/dist/| dist/|' | head -n "$rows"
rm -f "$out"
