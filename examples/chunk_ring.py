#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Chunk ring example (twin of chunk_ring.cpp): a ChunkRingStream takes empty chunks from a free
ring and delivers full ones on a data ring; the consumer (here the main thread) checks each chunk
and hands it back to the free ring, so a small pool of chunks is recycled. Packets come from an
in-process sender thread in this program. Needs numba and scipy."""

import sys
import threading

import numba
import numpy as np
import scipy  # type: ignore[import-untyped]
from numba import types

import spead2
import spead2.recv
import spead2.send
from spead2.numba import intp_to_voidptr
from spead2.recv.numba import chunk_place_data

INDEX_ID = 0x1600
PAYLOAD_ID = 0x3300
HEAP_BYTES = 256
HEAPS_PER_CHUNK = 16
TOTAL_HEAPS = 40 * HEAPS_PER_CHUNK
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


def send(queue):
    thread_pool = spead2.ThreadPool()
    stream = spead2.send.InprocStream(thread_pool, [queue])
    ig = spead2.send.ItemGroup()
    ig.add_item(INDEX_ID, "index", "", (), format=[("u", 40)])  # fits an immediate (SPEAD-64-40)
    ig.add_item(PAYLOAD_ID, "payload", "", (HEAP_BYTES,), np.uint8)
    for i in range(TOTAL_HEAPS):
        ig["index"].value = i
        ig["payload"].value = np.full(HEAP_BYTES, i * 7 % 256, np.uint8)
        stream.send_heap(ig.get_heap(descriptors="none", data="all"))
    stream.send_heap(ig.get_end())


def main():
    queue = spead2.InprocQueue()
    data_ring = spead2.recv.ChunkRingbuffer(POOL_CHUNKS)
    free_ring = spead2.recv.ChunkRingbuffer(POOL_CHUNKS)
    thread_pool = spead2.ThreadPool()
    chunk_config = spead2.recv.ChunkStreamConfig(
        items=[INDEX_ID], max_chunks=2, place=scipy.LowLevelCallable(place.ctypes, signature="void (void *, size_t)")
    )
    stream = spead2.recv.ChunkRingStream(
        thread_pool, spead2.recv.StreamConfig(max_heaps=4), chunk_config, data_ring, free_ring
    )
    for _ in range(POOL_CHUNKS):
        stream.add_free_chunk(
            spead2.recv.Chunk(
                present=np.zeros(HEAPS_PER_CHUNK, np.uint8), data=np.zeros((HEAPS_PER_CHUNK, HEAP_BYTES), np.uint8)
            )
        )
    stream.add_inproc_reader(queue)
    sender = threading.Thread(target=send, args=(queue,))
    sender.start()

    chunks = heaps = errors = 0
    for expected_id, chunk in enumerate(data_ring):  # until the data ring stops
        errors += chunk.chunk_id != expected_id
        for h in np.flatnonzero(chunk.present):
            heaps += 1
            errors += chunk.data[h, 0] != (chunk.chunk_id * HEAPS_PER_CHUNK + h) * 7 % 256
        chunks += 1
        stream.add_free_chunk(chunk)  # recycle (zeroes present)
    sender.join()
    queue.stop()
    print(f"received {chunks} chunks with {heaps} heaps using a pool of {POOL_CHUNKS} chunks")
    errors += heaps != TOTAL_HEAPS
    print("MISMATCH" if errors else "ok")
    print("done")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
