#!/usr/bin/env bash
# Fuzz targets under `make test`: replay each seed corpus (every input must
# pass), then fuzz for a bounded time (FUZZ_SECONDS, default 15). Prints
# PASS/FAIL lines and "N passed, N failed". A longer run: docs/dns.md.
set -u
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-15}
passed=0
failed=0
for bin in build/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=${bin##*/fuzz_}
  seeds=tests/fuzz/corpus/$name
  log=$(mktemp)
  if "$bin" -runs=0 "$seeds" >"$log" 2>&1; then
    echo "PASS fuzz $name: $(ls "$seeds" | wc -l) seeds replayed"
    passed=$((passed + 1))
  else
    echo "FAIL fuzz $name: seed replay"; tail -n 30 "$log"
    failed=$((failed + 1))
  fi
  work=$(mktemp -d)
  if "$bin" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
       "$work" "$seeds" >"$log" 2>&1; then
    echo "PASS fuzz $name: ${seconds}s, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs"
    passed=$((passed + 1))
  else
    echo "FAIL fuzz $name: crash (reproducer in the log below)"; grep -A 30 'ERROR\|SUMMARY' "$log" | head -n 40
    failed=$((failed + 1))
  fi
  rm -rf "$work" "$log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
