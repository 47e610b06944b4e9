#!/bin/sh
# SPDX-License-Identifier: LGPL-3.0-or-later
# Smoke-runs a receiving example and a sending example against each other over loopback:
#   run_pair.sh RECEIVER SENDER HOST:PORT EXPECTED_HEAPS
# Starts RECEIVER, waits until it prints "listening", runs SENDER, then checks that RECEIVER
# exits by itself (end-of-stream heap) and reports EXPECTED_HEAPS heaps.
set -eu
receiver=$1
sender=$2
endpoint=$3
expected=$4
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$receiver" "$endpoint" >"$out" 2>&1 &
pid=$!
tries=0
until grep -q listening "$out"; do
    tries=$((tries + 1))
    if [ $tries -gt 200 ] || ! kill -0 $pid 2>/dev/null; then
        echo "receiver did not start listening:" >&2
        cat "$out" >&2
        kill $pid 2>/dev/null || true
        exit 1
    fi
    sleep 0.05
done
"$sender" "$endpoint" "$expected"
tries=0
while kill -0 $pid 2>/dev/null; do
    tries=$((tries + 1))
    if [ $tries -gt 200 ]; then
        echo "receiver did not stop after the end-of-stream heap:" >&2
        cat "$out" >&2
        kill $pid
        exit 1
    fi
    sleep 0.05
done
wait $pid
cat "$out"
grep -q "received $expected heaps" "$out"
