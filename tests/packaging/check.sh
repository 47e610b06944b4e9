#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-3.0-or-later
# Packaging check: builds the library alone, installs it into a scratch prefix, then builds and
# runs two consumer projects against that prefix: one with find_package(spead2) and the
# spead2::spead2 target, one with pkg-config (spead2.pc). Scratch folders go in build/packaging.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/tests/packaging"
build="${SPEAD2_PACKAGING_BUILD:-$root/build/packaging}"
prefix="$build/prefix"
expected="spead2 4.5.1: SPEAD-64-48 bug_compat=4 threads=1"

# No optimisation and no debug info: the consumers only need something that links, fast.
cmake -S "$root" -B "$build/lib" -G Ninja -DCMAKE_BUILD_TYPE= -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DSPEAD2_BUILD_TESTS=OFF -DSPEAD2_BUILD_TOOLS=OFF -DSPEAD2_BUILD_BENCH=OFF \
    -DSPEAD2_BUILD_EXAMPLES=OFF -DSPEAD2_BUILD_PYTHON=OFF -DSPEAD2_INSTALL=ON
cmake --build "$build/lib"
rm -rf "$prefix"
cmake --install "$build/lib"

check_output() {
    local name="$1" output="$2"
    if [ "$output" != "$expected" ]; then
        echo "packaging: $name consumer printed '$output', expected '$expected'" >&2
        exit 1
    fi
    echo "packaging: $name consumer OK: $output"
}

# find_package
rm -rf "$build/find_package"
cmake -S "$here/find_package" -B "$build/find_package" -G Ninja -DCMAKE_PREFIX_PATH="$prefix"
cmake --build "$build/find_package"
check_output find_package "$("$build/find_package/consumer")"

# pkg-config
pc="$(find "$prefix" -name spead2.pc -print -quit)"
if [ -z "$pc" ]; then
    echo "packaging: spead2.pc was not installed under $prefix" >&2
    exit 1
fi
export PKG_CONFIG_PATH="$(dirname "$pc")"
mkdir -p "$build/pkg_config"
# shellcheck disable=SC2046 # the flags are meant to be split
c++ -o "$build/pkg_config/consumer" "$here/consumer.cpp" \
    $(pkg-config --cflags spead2) $(pkg-config --static --libs spead2)
check_output pkg-config "$("$build/pkg_config/consumer")"
