#!/usr/bin/env bash
# The run command. Until the server exists it builds the engine and runs the
# engine benchmark (1 M and 10 M consents); pass Google Benchmark flags to
# narrow it, e.g. bash tools/run.sh --benchmark_filter=/1000000
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target engine_bench
exec build/bench/engine_bench "$@"
