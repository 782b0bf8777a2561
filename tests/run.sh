#!/usr/bin/env bash
# Runs the unit tests (pure C, no root) and the integration tests (root, real
# BPF, network namespaces) and ends with one line: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
what=${1:-all}
passed=0
failed=0

tally() {  # reads a component's output, echoes it, adds its final counts
  local out=$1 line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' <<<"$out" | tail -n 1)
  if [ -z "$line" ]; then
    echo "$out"
    echo "FAIL $2: no result line"
    failed=$((failed + 1))
    return
  fi
  grep -vE '^[0-9]+ passed, [0-9]+ failed$' <<<"$out"
  passed=$((passed + ${line%% passed*}))
  line=${line#*, }
  failed=$((failed + ${line%% failed*}))
}

if [ "$what" = all ] || [ "$what" = unit ]; then
  echo "== unit tests"
  for t in build/tests/test_*; do
    tally "$("$t" 2>&1)" "$t"
  done
fi
if [ "$what" = all ] || [ "$what" = fuzz ]; then
  echo "== fuzz targets (seed replay, then ${FUZZ_SECONDS:-15}s each)"
  tally "$(tests/fuzz/run.sh 2>&1)" fuzz
fi
if [ "$what" = all ] || [ "$what" = integration ]; then
  echo "== integration tests"
  tally "$(python3 tests/integration/run.py 2>&1)" integration
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
