#!/bin/sh
# A/B of two builds in alternating processes (one build per process: in one
# process the second build's code shares msgpackr and fs-ext call sites with
# the first and measures slower even when identical). Each run reports its
# dbm cycles against the floors measured in the same process; compare those
# ratios between the builds.
#   sh bench/profile/ab.sh A_DIST B_DIST [runs]    (dist directories; env as for dbm-cycles.js)
a=$1; b=$2; runs=${3:-3}
dir=$(dirname "$0")
i=0
while [ "$i" -lt "$runs" ]; do
  for build in "$a" "$b"; do
    echo "== $build"
    DBM_A="$build/dbm/index.js" node "$dir/dbm-cycles.js" pairs | grep -v '^small files'
  done
  i=$((i + 1))
done
