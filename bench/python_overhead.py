#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Side-by-side benchmark of the per-heap cost of the Python layer, ours against the reference.

Every workload uses small heaps, so that the time goes into the Python <-> C++ boundary and the
pure-Python item model rather than into copying payload. Each runs in a fresh subprocess under our
``spead2`` and under the reference spead2 4.5.1 (its own venv, run with -E -s), alternating, for
--runs runs each; the table gives median heaps/s and the ratio ours/reference (target: 2x).

  recv_raw        single-packet heaps from add_buffer_reader into a ring holding them all (the
                  hand-over is recv_mem.py's subject); per heap: get the heap, get_items()
  recv_itemgroup  the same heaps, with ItemGroup.update(heap) and reading the item values
  send_bytes      send_heap of one prebuilt small heap through a BytesStream
  send_inproc     send_heap of one prebuilt small heap through an InprocStream (queue drained after)
  send_itemgroup  per heap: set two item values, get_heap(), send_heap through a BytesStream
  recv_packed     ItemGroup.update of heaps holding 4096 bit-packed 10-bit samples (format
                  [("i", 10)]), reading the value; spead2's default stream and ring configs;
                  --heaps / 500 heaps (at least 10)
  send_packed     per heap: set the 4096 samples, get_heap(), send_heap through a BytesStream

Usage: bench/python_overhead.py [--runs N] [--heaps N] [--ours PYTHON] [--ref PYTHON]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_REF = os.path.join(ROOT, ".cache", "ref-venv", "bin", "python")

WORKLOADS = ["recv_raw", "recv_itemgroup", "send_bytes", "send_inproc", "send_itemgroup", "recv_packed",
             "send_packed"]


def workload_heaps(workload, heaps):
    """Heaps a run of `workload` handles: the bit-packed ones are ~1000x dearer per heap."""
    return max(10, heaps // 500) if workload.endswith("_packed") else heaps


# The child: runs one workload and prints {"heaps": n, "seconds": t}. Only public API, so the
# same source runs under both implementations.
CHILD = r"""
import json, sys, time
import numpy as np
import spead2, spead2.recv, spead2.send

workload, heaps = sys.argv[1], int(sys.argv[2])
pool = spead2.ThreadPool()

def item_group():
    ig = spead2.send.ItemGroup()
    ig.add_item(0x1000, "timestamp", "", (), format=[("u", 48)], value=0)
    ig.add_item(0x1001, "data", "", (16,), dtype=np.uint8, value=np.zeros(16, np.uint8))
    return ig

def packets(n):
    ig = item_group()
    stream = spead2.send.BytesStream(pool)
    for i in range(n):
        ig["timestamp"].value = i
        stream.send_heap(ig.get_heap(data="all"))
    return stream.getvalue()

def recv(update):
    data = packets(heaps)
    stream = spead2.recv.Stream(pool, spead2.recv.StreamConfig(max_heaps=4),
                                spead2.recv.RingStreamConfig(heaps=heaps + 1))
    ig = spead2.ItemGroup()
    start = time.perf_counter()
    stream.add_buffer_reader(data)
    n = 0
    for heap in stream:
        if update:
            changed = ig.update(heap)
            changed["data"].value
        else:
            heap.get_items()
        n += 1
    return n, time.perf_counter() - start

def send_prebuilt(kind):
    ig = item_group()
    heap = ig.get_heap(data="all")
    if kind == "bytes":
        stream = spead2.send.BytesStream(pool)
    else:
        queue = spead2.InprocQueue()
        stream = spead2.send.InprocStream(pool, [queue])
    start = time.perf_counter()
    for _ in range(heaps):
        stream.send_heap(heap)
    return heaps, time.perf_counter() - start

def send_itemgroup():
    ig = item_group()
    stream = spead2.send.BytesStream(pool)
    data = np.zeros(16, np.uint8)
    start = time.perf_counter()
    for i in range(heaps):
        ig["timestamp"].value = i
        ig["data"].value = data
        stream.send_heap(ig.get_heap())
    return heaps, time.perf_counter() - start

SAMPLES = (np.arange(4096) % 1024) - 512

def packed_group():
    ig = spead2.send.ItemGroup()
    ig.add_item(0x1000, "samples", "", (4096,), format=[("i", 10)])
    return ig

def recv_packed():
    ig = packed_group()
    out = spead2.send.BytesStream(pool)
    for i in range(heaps):
        ig["samples"].value = SAMPLES
        out.send_heap(ig.get_heap(data="all"))
    stream = spead2.recv.Stream(pool)
    stream.add_buffer_reader(out.getvalue())
    received = spead2.ItemGroup()
    start = time.perf_counter()
    n = 0
    for heap in stream:
        received.update(heap)
        received["samples"].value
        n += 1
    return n, time.perf_counter() - start

def send_packed():
    ig = packed_group()
    stream = spead2.send.BytesStream(pool)
    start = time.perf_counter()
    for i in range(heaps):
        ig["samples"].value = SAMPLES
        stream.send_heap(ig.get_heap())
    return heaps, time.perf_counter() - start

if workload == "recv_raw":
    n, t = recv(False)
elif workload == "recv_itemgroup":
    n, t = recv(True)
elif workload == "send_bytes":
    n, t = send_prebuilt("bytes")
elif workload == "send_inproc":
    n, t = send_prebuilt("inproc")
elif workload == "recv_packed":
    n, t = recv_packed()
elif workload == "send_packed":
    n, t = send_packed()
else:
    n, t = send_itemgroup()
print(json.dumps({"heaps": n, "seconds": t}))
"""


def run_child(python, isolated, workload, heaps):
    heaps = workload_heaps(workload, heaps)
    cmd = [python, *(["-E", "-s"] if isolated else []), "-c", CHILD, workload, str(heaps)]
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{workload} failed under {python}:\n{result.stderr}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    if data["heaps"] != heaps:
        raise RuntimeError(f"{workload} under {python}: {data['heaps']} heaps of {heaps}")
    return data["heaps"] / data["seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--heaps", type=int, default=20000)
    parser.add_argument("--ours", default=sys.executable)
    parser.add_argument("--ref", default=DEFAULT_REF)
    parser.add_argument("--workload", action="append", choices=WORKLOADS, help="only these (repeatable)")
    args = parser.parse_args()

    print(f"cores: {os.cpu_count()}, heaps per run: {args.heaps} ({workload_heaps('recv_packed', args.heaps)} "
          f"for the _packed rows), runs: {args.runs} (medians)")
    print(f"{'workload':<16} {'ours heaps/s':>14} {'ref heaps/s':>14} {'ours/ref':>9}")
    for workload in args.workload or WORKLOADS:
        ours, ref = [], []
        for _ in range(args.runs):  # alternate, so that drifting machine load hits both alike
            ours.append(run_child(args.ours, False, workload, args.heaps))
            ref.append(run_child(args.ref, True, workload, args.heaps))
        o, r = statistics.median(ours), statistics.median(ref)
        print(f"{workload:<16} {o:>14,.0f} {r:>14,.0f} {o / r:>8.2f}x", flush=True)


if __name__ == "__main__":
    main()
