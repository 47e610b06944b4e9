#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Side-by-side benchmark: decoding an in-memory buffer of packets through ``recv.Stream``.

Runs the same workload under our ``spead2`` and under the reference spead2 (in its own virtual
environment), each in a fresh subprocess, and reports medians and the ratio ours/reference.

Workloads (same bytes for both, generated once by the reference's sender):
  large:  1 MiB heaps in 8 KiB packets   -> GB/s of heap payload
  small:  single-packet heaps of 1 KiB   -> heaps/s

Configurations, untuned first (what users run):
  untuned ring 4:   ThreadPool(), no pinning, spead2's default ring of 4 heaps
  untuned ring 16:  ThreadPool(), no pinning, a ring of 16 heaps
  tuned (pinned; ring 64): the worker pinned to core 1, the consumer to core 0, a ring of 64 heaps
  asyncio ring 4 / 16: spead2.recv.asyncio.Stream, `async for`, untuned
  asyncio get() ring 16: the same with `await stream.get()` per heap (which always yields to the
                   event loop, while `async for` yields at most every 0.2 ms in ours)

Runs alternate between the implementations; medians are reported.

Usage: bench/recv_mem.py [--runs N] [--ours PYTHON] [--ref PYTHON] [--workloads small,large]
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

CONFIGS = {
    # label: (ring heaps, pinned, how the consumer takes heaps)
    "untuned ring 4": (4, False, "iterate"),
    "untuned ring 16": (16, False, "iterate"),
    "tuned (pinned; ring 64)": (64, True, "iterate"),
    "asyncio ring 4": (4, False, "async-for"),
    "asyncio ring 16": (16, False, "async-for"),
    "asyncio get() ring 16": (16, False, "async-get"),
}

MEASURE = r"""
import asyncio, sys, time, numpy as np, spead2, spead2.recv, spead2.recv.asyncio
path, heaps, payload = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ring_heaps, pinned, mode = int(sys.argv[4]), sys.argv[5] == "1", sys.argv[6]
with open(path, "rb") as f:
    buf = np.frombuffer(f.read(), np.uint8)
if pinned:
    spead2.ThreadPool.set_affinity(0)
    tp = spead2.ThreadPool(1, [1])
else:
    tp = spead2.ThreadPool()
config = spead2.recv.StreamConfig(max_heaps=4)
ring = spead2.recv.RingStreamConfig(heaps=ring_heaps)


async def receive_async():
    stream = spead2.recv.asyncio.Stream(tp, config, ring)
    stream.add_buffer_reader(buf)
    n = 0
    if mode == "async-for":
        async for heap in stream:
            n += 1
    else:
        while True:
            try:
                heap = await stream.get()
            except spead2.Stopped:
                break
            n += 1
    return n


start = time.perf_counter()
if mode != "iterate":
    n = asyncio.run(receive_async())
else:
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
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated labels")
    args = parser.parse_args()
    args.ours, args.ref = os.path.abspath(args.ours), os.path.abspath(args.ref)

    print(f"cores: {os.cpu_count()}, runs per point: {args.runs} (median reported)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.workloads.split(","):
            payload, packet_size, heaps = WORKLOADS[name]
            path = os.path.join(tmp, name + ".spead")
            run(args.ref, GENERATE, payload, packet_size, heaps, path, isolated=True)
            for config in args.configs.split(","):
                ring_heaps, pinned, mode = CONFIGS[config]
                samples = {"ours": [], "reference": []}
                for _ in range(args.runs):  # alternating, so that drifts hit both alike
                    for label, python in (("ours", args.ours), ("reference", args.ref)):
                        out = run(python, MEASURE, path, heaps, payload, ring_heaps, int(pinned),
                                  mode, isolated=python == args.ref)
                        samples[label].append(float(out))
                times = {label: statistics.median(v) for label, v in samples.items()}
                for label, t in times.items():
                    gbps = payload * heaps / t / 1e9
                    print(f"{name:6} {config:24} {label:10} {t * 1e3:9.1f} ms  {gbps:7.3f} GB/s  "
                          f"{heaps / t:12.0f} heaps/s", flush=True)
                print(f"{name:6} {config:24} ratio ours/reference (throughput): "
                      f"{times['reference'] / times['ours']:.2f}", flush=True)

if __name__ == "__main__":
    main()
