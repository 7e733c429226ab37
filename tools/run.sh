#!/usr/bin/env bash
# The run command: install the build dependencies, build mtgated and the
# mtgate CLI, and start the server on the embedded default: data in
# ./mtgate-data (RocksDB), listening on 127.0.0.1:7411. Extra arguments go
# to mtgated (see build/mtgated --help); stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target mtgated mtgate_cli >/dev/null
exec build/mtgated "$@"
