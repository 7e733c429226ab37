#!/usr/bin/env bash
# Install everything mtgate needs to build, test and benchmark, from Debian's
# packages. Safe to run again; installs only what is missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config
      liburing-dev libjemalloc-dev libxxhash-dev librocksdb-dev
      libcmocka-dev libbenchmark-dev libicu-dev
      libsodium-dev libinih-dev libutf8proc-dev libcsv-dev
      clang libclang-rt-14-dev)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
