#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Chunking receiver example (twin of chunk_timestamp.cpp): heaps carrying a timestamp item are
placed by timestamp into chunks of 8 heaps. The program sends its own heaps through an in-process
queue (skipping a few, to show the presence flags), receives them with a ChunkRingStream and
prints each chunk. Needs numba and scipy."""

import sys

import numba
import numpy as np
import scipy  # type: ignore[import-untyped]
from numba import types

import spead2
import spead2.recv
import spead2.send
from spead2.numba import intp_to_voidptr
from spead2.recv.numba import chunk_place_data

TIMESTAMP_ID = 0x1600
SAMPLES_ID = 0x3300
TIMESTAMP_STEP = 1024  # timestamp units per heap
HEAP_BYTES = 64
HEAPS_PER_CHUNK = 8
TOTAL_HEAPS = 32
SKIPPED = {5, 19, 20}


@numba.cfunc(types.void(types.CPointer(chunk_place_data), types.size_t))
def place(data_ptr, data_size):
    """Chunk and position from the timestamp (items[0]); heaps of another size are rejected."""
    data = numba.carray(data_ptr, 1)
    items = numba.carray(intp_to_voidptr(data[0].items), 2, dtype=np.int64)
    timestamp = items[0]
    if timestamp < 0 or items[1] != HEAP_BYTES:
        return
    heap_number = timestamp // TIMESTAMP_STEP
    data[0].chunk_id = heap_number // HEAPS_PER_CHUNK
    data[0].heap_index = heap_number % HEAPS_PER_CHUNK
    data[0].heap_offset = data[0].heap_index * HEAP_BYTES


def send(queue):
    thread_pool = spead2.ThreadPool()
    stream = spead2.send.InprocStream(thread_pool, [queue])
    ig = spead2.send.ItemGroup()
    ig.add_item(TIMESTAMP_ID, "timestamp", "", (), format=[("u", 40)])  # fits an immediate (SPEAD-64-40)
    ig.add_item(SAMPLES_ID, "samples", "", (HEAP_BYTES,), np.uint8)
    for i in range(TOTAL_HEAPS):
        if i in SKIPPED:
            continue
        ig["timestamp"].value = i * TIMESTAMP_STEP
        ig["samples"].value = np.full(HEAP_BYTES, i, np.uint8)
        stream.send_heap(ig.get_heap(descriptors="none", data="all"))
    stream.send_heap(ig.get_end())


def main():
    queue = spead2.InprocQueue()
    thread_pool = spead2.ThreadPool()
    chunk_config = spead2.recv.ChunkStreamConfig(
        items=[TIMESTAMP_ID, spead2.HEAP_LENGTH_ID],
        max_chunks=2,
        place=scipy.LowLevelCallable(place.ctypes, signature="void (void *, size_t)"),
    )
    data_ring = spead2.recv.ChunkRingbuffer(4)
    free_ring = spead2.recv.ChunkRingbuffer(4)
    stream = spead2.recv.ChunkRingStream(
        thread_pool, spead2.recv.StreamConfig(max_heaps=4), chunk_config, data_ring, free_ring
    )
    for _ in range(4):
        stream.add_free_chunk(
            spead2.recv.Chunk(
                present=np.zeros(HEAPS_PER_CHUNK, np.uint8), data=np.zeros((HEAPS_PER_CHUNK, HEAP_BYTES), np.uint8)
            )
        )
    stream.add_inproc_reader(queue)
    send(queue)
    queue.stop()

    errors = 0
    chunks = 0
    # The end-of-stream heap stops the stream, which delivers the last chunks and stops the ring.
    for chunk in data_ring:
        chunks += 1
        row = ""
        for h in range(HEAPS_PER_CHUNK):
            heap = chunk.chunk_id * HEAPS_PER_CHUNK + h
            row += "#" if chunk.present[h] else "."
            ok = chunk.data[h, 0] == heap if chunk.present[h] else heap in SKIPPED
            errors += not ok
        print(f"chunk {chunk.chunk_id}: {row}")
        stream.add_free_chunk(chunk)
    stats = stream.stats
    print(f"heaps {stats['heaps']}, too_old_heaps {stats['too_old_heaps']}, rejected_heaps {stats['rejected_heaps']}")
    errors += chunks != TOTAL_HEAPS // HEAPS_PER_CHUNK
    print("MISMATCH" if errors else "ok")
    print("done")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
