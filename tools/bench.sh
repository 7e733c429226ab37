#!/usr/bin/env bash
# The engine benchmarks: engine_bench (gates, changes, recovery on 1 M and
# 10 M consents; the 10 M load takes about a minute), then mo_bench (MOs).
# Google Benchmark flags pass through to both, e.g.
#   bash tools/bench.sh --benchmark_filter=/1000000 --benchmark_repetitions=3
# The server against Redis: bash bench/compare_redis.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target engine_bench mo_bench >/dev/null
build/bench/engine_bench "$@"
build/bench/mo_bench "$@"
