#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Side-by-side benchmark: decoding an in-memory buffer of packets through ``recv.Stream``.

Runs the same workload under our ``spead2`` and under the reference spead2 (in its own virtual
environment), each in a fresh subprocess, and reports medians and the ratio ours/reference.

Workloads (same bytes for both, generated once by the reference's sender):
  large:  1 MiB heaps in 8 KiB packets   -> GB/s of heap payload
  small:  single-packet heaps of 1 KiB   -> heaps/s

Usage: bench/recv_mem.py [--runs N] [--ours PYTHON] [--ref PYTHON]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_REF = os.path.join(ROOT, ".cache", "ref-venv", "bin", "python")

WORKLOADS = {
    # name: (heap payload bytes, packet size, heaps)
    "large": (1024 * 1024, 8192, 256),
    "small": (1024, 8192, 200000),
}

GENERATE = r"""
import sys, numpy as np, spead2, spead2.send
payload, packet_size, heaps, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
tp = spead2.ThreadPool()
config = spead2.send.StreamConfig(max_packet_size=packet_size, max_heaps=8)
stream = spead2.send.BytesStream(tp, config)
data = np.arange(payload, dtype=np.uint8)
for i in range(heaps):
    heap = spead2.send.Heap()
    heap.add_item(spead2.Item(0x1000, "data", "", shape=(payload,), dtype=np.uint8, value=data))
    stream.send_heap(heap)
with open(path, "wb") as f:
    f.write(stream.getvalue())
"""

MEASURE = r"""
import sys, time, numpy as np, spead2, spead2.recv
path, heaps, payload = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "rb") as f:
    buf = np.frombuffer(f.read(), np.uint8)
spead2.ThreadPool.set_affinity(0)
tp = spead2.ThreadPool(1, [1])
config = spead2.recv.StreamConfig(max_heaps=4)
ring = spead2.recv.RingStreamConfig(heaps=64)
start = time.perf_counter()
stream = spead2.recv.Stream(tp, config, ring)
stream.add_buffer_reader(buf)
n = 0
for heap in stream:
    n += 1
elapsed = time.perf_counter() - start
assert n == heaps, (n, heaps)
print(elapsed)
"""


def run(python, code, *args, isolated=False):
    """Runs code under python; isolated (-E -s) keeps the reference from importing our package."""
    flags = ["-E", "-s"] if isolated else []
    result = subprocess.run([python, *flags, "-c", code, *map(str, args)], check=True,
                            capture_output=True, text=True, cwd=tempfile.gettempdir())
    return result.stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ours", default=sys.executable)
    parser.add_argument("--ref", default=DEFAULT_REF)
    args = parser.parse_args()
    args.ours, args.ref = os.path.abspath(args.ours), os.path.abspath(args.ref)

    print(f"cores: {os.cpu_count()}, runs per point: {args.runs} (median reported)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (payload, packet_size, heaps) in WORKLOADS.items():
            path = os.path.join(tmp, name + ".spead")
            run(args.ref, GENERATE, payload, packet_size, heaps, path, isolated=True)
            times = {}
            for label, python in (("ours", args.ours), ("reference", args.ref)):
                samples = [float(run(python, MEASURE, path, heaps, payload, isolated=python == args.ref))
                           for _ in range(args.runs)]
                times[label] = statistics.median(samples)
            for label, t in times.items():
                gbps = payload * heaps / t / 1e9
                print(f"{name:6} {label:10} {t * 1e3:9.1f} ms  {gbps:7.3f} GB/s  {heaps / t:12.0f} heaps/s")
            print(f"{name:6} ratio ours/reference (throughput): {times['reference'] / times['ours']:.2f}")


if __name__ == "__main__":
    main()
