#!/usr/bin/env bash
# Runs every benchmark. Benchmarks print ratios; they never fail the build.
set -eu
cd "$(dirname "$0")/.."
python3 bench/conns_storm.py "$@"
