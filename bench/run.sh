#!/usr/bin/env bash
# Runs every benchmark. Benchmarks print ratios and costs; they never fail the build.
set -eu
cd "$(dirname "$0")/.."
build/bench/format_bench
echo
python3 bench/conns_storm.py "$@"
echo
python3 bench/latency_bench.py
echo
python3 bench/flows_bench.py "$@"
echo
python3 bench/drops_flood.py
echo
python3 bench/dns_flood.py
echo
python3 bench/serve_bench.py
echo
python3 bench/block_bench.py
echo
python3 bench/http_bench.py
