#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Receive throughput into GPU memory: ``ChunkRingStream`` with a CUDA ``CopyEngine`` and
``DeviceBuffer`` chunks, next to the same run into pinned and into ordinary host chunks.

Sources:
  memory:   8 KiB packets (one per heap) from an in-memory buffer (``add_buffer_reader``)
  loopback: 8 KiB heaps in one packet each, sent over UDP loopback by a ``spead2.send.UdpStream``
            in another process at full speed

Each point runs in a fresh subprocess and reports the median Gb/s of payload (loopback also
reports heaps lost): untuned first (default ThreadPool, no pinning), then tuned (the worker pinned
to core 1, the consumer to core 0).
Without a GPU the device and pinned rows say why they were skipped (host still runs).

Usage: bench/gpu_recv.py [--runs N] [--packets N] [--chunk-mib N] [--sources memory,loopback]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from chunk_recv import PACKET_PAYLOAD, build_packets  # noqa: E402

MEASURE = r"""
import ctypes, socket, subprocess, sys, time
import numba, numpy as np
from numba import types
import spead2, spead2.recv, spead2.recv.cuda as cuda
from spead2.numba import intp_to_voidptr
from spead2.recv.numba import chunk_place_data

source, memory, path, chunk_bytes, n_heaps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
pinned = sys.argv[6] == "1"
heap_size = 8192
heaps_per_chunk = chunk_bytes // heap_size
if memory != "host" and not cuda.is_available():
    print("skip", cuda.unavailable_reason())
    sys.exit(0)


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

if pinned:
    spead2.ThreadPool.set_affinity(0)
    tp = spead2.ThreadPool(1, [1])
else:
    tp = spead2.ThreadPool()
n_chunks = 4
data_ring = spead2.recv.ChunkRingbuffer(n_chunks)
free_ring = spead2.recv.ChunkRingbuffer(n_chunks)
kwargs = dict(copy_engine=cuda.CopyEngine(0)) if memory == "device" else {}
chunk_config = spead2.recv.ChunkStreamConfig(items=[0x1000], max_chunks=2, place=(capsule,), **kwargs)
stream = spead2.recv.ChunkRingStream(tp, spead2.recv.StreamConfig(max_heaps=4), chunk_config, data_ring, free_ring)
for _ in range(n_chunks):
    if memory == "device":
        data = cuda.DeviceBuffer(chunk_bytes)
    elif memory == "pinned":
        data = cuda.pinned_buffer(chunk_bytes)
        data.fill(1)
    else:
        data = np.ones(chunk_bytes, np.uint8)  # pages faulted in before timing
    stream.add_free_chunk(spead2.recv.Chunk(present=np.zeros(heaps_per_chunk, np.uint8), data=data))
if source == "memory":
    with open(path, "rb") as f:
        buf = np.frombuffer(f.read(), np.uint8)
    start = time.perf_counter()
    stream.add_buffer_reader(buf)
else:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    stream.add_udp_reader(port, bind_hostname="127.0.0.1", buffer_size=64 << 20)
    sender = subprocess.Popen([sys.executable, "-c", SENDER, str(port), str(n_heaps)])
    start = time.perf_counter()
    end = []

    def stop_after_sender():
        # The rate is over the sending time. The sender's end-of-stream heap stops the stream
        # (flushing the window); a user stop, which would drop the chunks in flight, is only the
        # fallback for a lost end heap.
        sender.wait()
        end.append(time.perf_counter())
        time.sleep(5)
        stream.stop()

    import threading
    threading.Thread(target=stop_after_sender, daemon=True).start()
heaps = 0
for chunk in data_ring:
    heaps += int(np.count_nonzero(chunk.present))
    stream.add_free_chunk(chunk)
finished = time.perf_counter()
if source == "loopback":
    sender.wait()
elapsed = (min(end[0], finished) if source == "loopback" and end else finished) - start
print(elapsed, heaps)
"""

# Sends n heaps of 8 KiB (one packet each, position item 0x1000) with our UdpStream, at full speed.
SENDER = r"""
import sys
import numpy as np
import spead2, spead2.send
port, n = int(sys.argv[1]), int(sys.argv[2])
tp = spead2.ThreadPool()
config = spead2.send.StreamConfig(max_packet_size=9000, max_heaps=256)
stream = spead2.send.UdpStream(tp, [("127.0.0.1", port)], config, buffer_size=16 << 20)
ig = spead2.send.ItemGroup()
ig.add_item(0x1000, "pos", "", (), format=[("u", 40)])  # an immediate in SPEAD-64-40
ig.add_item(0x1001, "payload", "", (8192,), np.uint8)
ig["payload"].value = np.ones(8192, np.uint8)
for start in range(0, n, 128):
    refs = []
    for pos in range(start, min(n, start + 128)):
        ig["pos"].value = pos
        refs.append(spead2.send.HeapReference(ig.get_heap(descriptors="none", data="all")))
    stream.send_heaps(refs, spead2.send.GroupMode.SERIAL)
stream.send_heap(ig.get_end())
"""


def run(*args):
    result = subprocess.run(
        [sys.executable, "-c", "SENDER = " + repr(SENDER) + "\n" + MEASURE, *map(str, args)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    result.check_returncode()
    words = result.stdout.split(maxsplit=1)
    if words[0] == "skip":
        return None, words[1].strip()
    return float(words[0]), int(words[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--packets", type=int, default=131072)
    parser.add_argument("--chunk-mib", type=int, default=64)
    parser.add_argument("--sources", default="memory,loopback")
    args = parser.parse_args()
    chunk_bytes = args.chunk_mib << 20
    print(f"cores: {os.cpu_count()}, {args.packets} packets of {PACKET_PAYLOAD} B, chunks of {args.chunk_mib} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "packets.spead")
        with open(path, "wb") as f:
            f.write(build_packets(args.packets, 1))
        for source in args.sources.split(","):
            for config, pinned in (("untuned", 0), ("tuned (pinned)", 1)):
                for memory in ("device", "pinned", "host"):
                    results = [run(source, memory, path, chunk_bytes, args.packets, pinned) for _ in range(args.runs)]
                    label = f"{source:8} {config:14} {memory:6}"
                    if results[0][0] is None:
                        print(f"{label} skipped: {results[0][1]}")
                        continue
                    elapsed = statistics.median(r[0] for r in results)
                    heaps = min(r[1] for r in results)
                    gbps = heaps * PACKET_PAYLOAD * 8 / elapsed / 1e9
                    lost = args.packets - heaps
                    print(f"{label} {gbps:7.1f} Gb/s  ({elapsed * 1e3:.1f} ms, {lost} heaps lost)", flush=True)


if __name__ == "__main__":
    main()
