#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Side-by-side benchmark: receiving in-memory packets through ``recv.ChunkRingStream``.

Runs the same workload under our ``spead2`` and under the reference spead2 (in its own virtual
environment, where numba is installed if missing), each in a fresh subprocess, and reports
medians of packets/s and the ratio ours/reference. The packets (8 KiB of payload each, SPEAD-64-48,
with a position item) are built byte by byte here; the place callback is the same numba cfunc on
both sides (compiled before the clock starts); chunks are 64 MiB and are recycled by the
consumer through the free ring.

Workloads:
  single: 1 heap = 1 packet of 8 KiB
  multi:  64 KiB heaps in 8 packets of 8 KiB

Configurations, untuned first: "untuned" uses ThreadPool() and no pinning; "tuned (pinned)" pins
the worker to core 1 and the consumer to core 0.

The default of 131072 packets (1 GiB of payload, 16 chunks) measures steady-state throughput: with
fewer, the start-up (two chunks fill the window before the first is handed over, a cold worker)
weighs on the result; 32768 packets (4 chunks) gave 1.44-1.50x for multi instead of 1.55-1.60x.

Usage: bench/chunk_recv.py [--runs N] [--packets N] [--ours PYTHON] [--ref PYTHON]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_REF = os.path.join(ROOT, ".cache", "ref-venv", "bin", "python")

PACKET_PAYLOAD = 8192
CHUNK_BYTES = 64 * 1024 * 1024
POS_ID = 0x1000
WORKLOADS = {
    # name: packets per heap
    "single": 1,
    "multi": 8,
}

MEASURE = r"""
import ctypes, sys, time
import numba, numpy as np
from numba import types
import spead2, spead2.recv
from spead2.numba import intp_to_voidptr
from spead2.recv.numba import chunk_place_data

path, heap_size, heaps_per_chunk, n_heaps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pinned = sys.argv[5] == "1"


@numba.cfunc(types.void(types.CPointer(chunk_place_data), types.size_t), nopython=True)
def place(data_ptr, data_size):
    data = numba.carray(data_ptr, 1)
    items = numba.carray(intp_to_voidptr(data[0].items), 1, dtype=np.int64)
    pos = items[0]
    if pos < 0:
        return
    data[0].chunk_id = pos // heaps_per_chunk
    data[0].heap_index = pos % heaps_per_chunk
    data[0].heap_offset = (pos % heaps_per_chunk) * heap_size


new_capsule = ctypes.pythonapi.PyCapsule_New
new_capsule.restype = ctypes.py_object
new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
capsule = new_capsule(place.address, b"void (void *, size_t)", None)

with open(path, "rb") as f:
    buf = np.frombuffer(f.read(), np.uint8)
if pinned:
    spead2.ThreadPool.set_affinity(0)
    tp = spead2.ThreadPool(1, [1])
else:
    tp = spead2.ThreadPool()
n_chunks = 4
data_ring = spead2.recv.ChunkRingbuffer(n_chunks)
free_ring = spead2.recv.ChunkRingbuffer(n_chunks)
chunk_config = spead2.recv.ChunkStreamConfig(items=[0x1000], max_chunks=2, place=(capsule,))
stream = spead2.recv.ChunkRingStream(tp, spead2.recv.StreamConfig(max_heaps=4), chunk_config, data_ring, free_ring)
for _ in range(n_chunks):
    chunk = spead2.recv.Chunk(
        present=np.zeros(heaps_per_chunk, np.uint8), data=np.zeros(heaps_per_chunk * heap_size, np.uint8)
    )
    chunk.data.fill(1)  # fault the pages in before timing
    stream.add_free_chunk(chunk)
start = time.perf_counter()
stream.add_buffer_reader(buf)
heaps = 0
for chunk in data_ring:
    heaps += int(np.count_nonzero(chunk.present))
    stream.add_free_chunk(chunk)
elapsed = time.perf_counter() - start
assert heaps == n_heaps, (heaps, n_heaps)
assert stream.stats["packets"] == len(buf) // (48 + 8192), stream.stats["packets"]
print(elapsed)
"""


def build_packets(n_packets, packets_per_heap):
    """n_packets packets of PACKET_PAYLOAD bytes; consecutive groups form heaps (cnt = pos + 1)."""
    n_items = 5
    packet_size = 8 + 8 * n_items + PACKET_PAYLOAD
    out = np.zeros((n_packets, packet_size), np.uint8)
    out[:, :8] = np.frombuffer(bytes([0x53, 4, 2, 6, 0, 0, 0, n_items]), np.uint8)
    index = np.arange(n_packets, dtype=np.uint64)
    pos = index // np.uint64(packets_per_heap)
    heap_size = np.uint64(PACKET_PAYLOAD * packets_per_heap)
    imm = np.uint64(1 << 63)
    pointers = np.stack(
        [
            imm | np.uint64(0x01 << 48) | (pos + np.uint64(1)),
            imm | np.uint64(0x02 << 48) | np.full(n_packets, heap_size, np.uint64),
            imm | np.uint64(0x03 << 48) | (index % np.uint64(packets_per_heap)) * np.uint64(PACKET_PAYLOAD),
            imm | np.uint64(0x04 << 48) | np.full(n_packets, PACKET_PAYLOAD, np.uint64),
            imm | np.uint64(POS_ID << 48) | pos,
        ],
        axis=1,
    )
    out[:, 8 : 8 + 8 * n_items] = pointers.astype(">u8").view(np.uint8).reshape(n_packets, -1)
    out[:, 8 + 8 * n_items :] = (index % 251).astype(np.uint8)[:, None]
    return out.tobytes()


def ensure_numba(python):
    if subprocess.run([python, "-E", "-s", "-c", "import numba"], capture_output=True).returncode != 0:
        subprocess.run([python, "-m", "pip", "install", "--disable-pip-version-check", "-q", "numba"], check=True)


def run(python, *args, isolated=False):
    """Runs MEASURE under python; isolated (-E -s) keeps the reference from importing our package."""
    flags = ["-E", "-s"] if isolated else []
    result = subprocess.run(
        [python, *flags, "-c", MEASURE, *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    return float(result.stdout.strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--packets", type=int, default=131072, help="packets per run (multiple of 8)")
    parser.add_argument("--ours", default=sys.executable)
    parser.add_argument("--ref", default=DEFAULT_REF)
    args = parser.parse_args()
    args.ours, args.ref = os.path.abspath(args.ours), os.path.abspath(args.ref)
    ensure_numba(args.ref)

    print(
        f"cores: {os.cpu_count()}, runs per point: {args.runs} (median reported), {args.packets} packets "
        f"of {PACKET_PAYLOAD} B payload, chunks of {CHUNK_BYTES >> 20} MiB",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, packets_per_heap in WORKLOADS.items():
            path = os.path.join(tmp, name + ".spead")
            with open(path, "wb") as f:
                f.write(build_packets(args.packets, packets_per_heap))
            heap_size = PACKET_PAYLOAD * packets_per_heap
            heaps = args.packets // packets_per_heap
            for config, pinned in (("untuned", 0), ("tuned (pinned)", 1)):
                run_args = (path, heap_size, CHUNK_BYTES // heap_size, heaps, pinned)
                times = {}
                # Interleaved, so that drifts in machine load hit both sides alike.
                samples = {"ours": [], "reference": []}
                for _ in range(args.runs):
                    samples["ours"].append(run(args.ours, *run_args))
                    samples["reference"].append(run(args.ref, *run_args, isolated=True))
                for label, values in samples.items():
                    times[label] = statistics.median(values)
                    t = times[label]
                    print(
                        f"{name:6} {config:14} {label:10} {t * 1e3:9.1f} ms  {args.packets / t:12.0f} packets/s  "
                        f"{args.packets * PACKET_PAYLOAD / t / 1e9:6.2f} GB/s"
                    )
                print(
                    f"{name:6} {config:14} ratio ours/reference (packets/s): "
                    f"{times['reference'] / times['ours']:.2f}",
                    flush=True,
                )

if __name__ == "__main__":
    main()
