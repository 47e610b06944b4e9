#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""GPU chunks (twin of gpu_chunks.cpp): a ChunkRingStream receives heaps straight into device
memory (spead2.recv.cuda.DeviceBuffer chunks, a CopyEngine to move the payload) and CuPy runs a
reduction kernel on each chunk, without a copy (the buffer exports __cuda_array_interface__):
the total power of its int8 samples, checked against numpy's. Needs numba, scipy and CuPy, and a
GPU; says why and exits with 77 otherwise."""

import sys
import threading

import numba
import numpy as np
import scipy  # type: ignore[import-untyped]
from numba import types

import spead2
import spead2.recv
import spead2.recv.cuda
import spead2.send
from spead2.numba import intp_to_voidptr
from spead2.recv.numba import chunk_place_data

INDEX_ID = 0x1600
SAMPLES_ID = 0x3300
HEAP_BYTES = 8192
HEAPS_PER_CHUNK = 64
TOTAL_HEAPS = 16 * HEAPS_PER_CHUNK
POOL_CHUNKS = 4


@numba.cfunc(types.void(types.CPointer(chunk_place_data), types.size_t))
def place(data_ptr, data_size):
    data = numba.carray(data_ptr, 1)
    items = numba.carray(intp_to_voidptr(data[0].items), 1, dtype=np.int64)
    if items[0] < 0:
        return
    data[0].chunk_id = items[0] // HEAPS_PER_CHUNK
    data[0].heap_index = items[0] % HEAPS_PER_CHUNK
    data[0].heap_offset = data[0].heap_index * HEAP_BYTES


def samples(heap):
    return ((heap * 31 + np.arange(HEAP_BYTES)) % 255 - 127).astype(np.int8)


def send(queue):
    thread_pool = spead2.ThreadPool()
    stream = spead2.send.InprocStream(thread_pool, [queue])
    ig = spead2.send.ItemGroup()
    ig.add_item(INDEX_ID, "index", "", (), format=[("u", 40)])
    ig.add_item(SAMPLES_ID, "samples", "", (HEAP_BYTES,), np.int8)
    for i in range(TOTAL_HEAPS):
        ig["index"].value = i
        ig["samples"].value = samples(i)
        stream.send_heap(ig.get_heap(descriptors="none", data="all"))
    stream.send_heap(ig.get_end())


def main():
    if not spead2.recv.cuda.is_available():
        print(f"skipped: no GPU ({spead2.recv.cuda.unavailable_reason()})")
        return 77
    try:
        import cupy  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        print("skipped: CuPy is not installed")
        return 77
    power = cupy.ReductionKernel("T x", "int64 y", "(long long) x * x", "a + b", "y = a", "0", "power")

    queue = spead2.InprocQueue()
    data_ring = spead2.recv.ChunkRingbuffer(POOL_CHUNKS)
    free_ring = spead2.recv.ChunkRingbuffer(POOL_CHUNKS)
    thread_pool = spead2.ThreadPool()
    chunk_config = spead2.recv.ChunkStreamConfig(
        items=[INDEX_ID],
        max_chunks=2,
        place=scipy.LowLevelCallable(place.ctypes, signature="void (void *, size_t)"),
        copy_engine=spead2.recv.cuda.CopyEngine(0),
    )
    stream = spead2.recv.ChunkRingStream(
        thread_pool, spead2.recv.StreamConfig(max_heaps=4), chunk_config, data_ring, free_ring
    )
    for _ in range(POOL_CHUNKS):
        stream.add_free_chunk(
            spead2.recv.Chunk(
                present=np.zeros(HEAPS_PER_CHUNK, np.uint8),
                data=spead2.recv.cuda.DeviceBuffer(HEAPS_PER_CHUNK * HEAP_BYTES, 0),
            )
        )
    stream.add_inproc_reader(queue)
    sender = threading.Thread(target=send, args=(queue,))
    sender.start()

    chunks = errors = 0
    for chunk in data_ring:  # until the data ring stops; the data is on the device already
        device_samples = cupy.asarray(chunk).view(cupy.int8)  # no copy
        got = int(power(device_samples))
        first = chunk.chunk_id * HEAPS_PER_CHUNK
        expected = sum(int((samples(h).astype(np.int64) ** 2).sum()) for h in range(first, first + HEAPS_PER_CHUNK))
        print(f"chunk {chunk.chunk_id}: power {got}" + ("" if got == expected else " (MISMATCH)"))
        errors += got != expected
        chunks += 1
        stream.add_free_chunk(chunk)
    sender.join()
    queue.stop()
    print(f"{chunks} chunks received into device memory: {'MISMATCH' if errors else 'ok'}")
    return 1 if errors or chunks != TOTAL_HEAPS // HEAPS_PER_CHUNK else 0


if __name__ == "__main__":
    sys.exit(main())
