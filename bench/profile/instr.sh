#!/bin/sh
# Instructions (user space, valgrind callgrind) per operation of
# bench/profile/dbm-cycles.js: the difference between a run of N1 and N2
# operations, divided by N2 - N1, so start-up and fixtures cancel out.
# Repeatable under load, unlike timings (kernel time is not counted).
#   sh bench/profile/instr.sh OP [N1] [N2]      (env as for dbm-cycles.js)
op=$1; n1=${2:-1000}; n2=${3:-3000}
dir=$(dirname "$0")
run() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded "$dir/dbm-cycles.js" count "$op" "$1" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
a=$(run "$n1"); b=$(run "$n2")
echo "$op: $(( (b - a) / (n2 - n1) )) instructions/op ($a, $b)"
