#!/usr/bin/env bash
# The test command: install the build dependencies, then build and run every
# cmocka test twice, once with -Werror and once under ASan+UBSan, then run
# each libFuzzer target for a short while on its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMTGATE_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMTGATE_WERROR=ON \
	-DMTGATE_SANITIZE=ON -DMTGATE_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest --test-dir build-asan --output-on-failure -j"$jobs"

# Fuzz smoke: each target runs FUZZ_SECONDS (20 by default) from its corpus;
# a crash, leak or sanitizer report fails the run.
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DMTGATE_WERROR=ON -DMTGATE_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs"
for f in build-fuzz/fuzz/fuzz_*; do
	name=$(basename "$f")
	work=$(mktemp -d)
	cp -r "tests/fuzz/corpus/${name#fuzz_}/." "$work/"
	"$f" -max_total_time="${FUZZ_SECONDS:-20}" -print_final_stats=0 \
		"$work" 2>"$work.log" || { tail -50 "$work.log"; exit 1; }
	echo "fuzz: $name ok ($(ls "$work" | wc -l) inputs in corpus)"
	rm -rf "$work" "$work.log"
done
