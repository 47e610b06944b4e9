#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-3.0-or-later
# Runs every libFuzzer target built by the `fuzz` preset for a fixed time each, starting from the
# checked-in seeds in fuzz/corpus/<target>/ (the seeds are read, never modified).
#
#   cmake --preset fuzz && cmake --build --preset fuzz
#   fuzz/run_fuzzers.sh [seconds per target, default 60] [build dir, default build/fuzz]
#
# New interesting inputs go to a scratch folder that is deleted afterwards; crashes are written to
# <build dir>/fuzz-artifacts/<target>/ and make the script exit with status 1.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${2:-$root/build/fuzz}"
status=0
found=0

for src in "$root"/fuzz/*_fuzz.cpp; do
    name="$(basename "$src" .cpp)"
    target="${name%_fuzz}"
    bin="$build/fuzz/$name"
    if [[ ! -x "$bin" ]]; then
        echo "error: $bin is not built (cmake --build --preset fuzz)" >&2
        status=1
        continue
    fi
    found=$((found + 1))
    artifacts="$build/fuzz-artifacts/$target"
    mkdir -p "$artifacts"
    scratch="$(mktemp -d)"
    seeds=()
    if [[ -d "$root/fuzz/corpus/$target" ]]; then
        seeds=("$root/fuzz/corpus/$target")
    fi
    echo "=== $name for ${seconds}s"
    if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$scratch" "${seeds[@]}"; then
        echo "FAILED: $name (artifacts in $artifacts)" >&2
        status=1
    fi
    rm -rf "$scratch"
done

if [[ $found -eq 0 ]]; then
    echo "error: no fuzz targets found under $build/fuzz" >&2
    exit 1
fi
exit $status
