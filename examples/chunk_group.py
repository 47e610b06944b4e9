#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Chunk stream group example (twin of chunk_group.cpp): two streams, each with its own thread
pool and its own in-process queue (standing in for two network ports), fill the same chunks; a
single consumer pops the chunks from one data ring. Stream 0 receives the even heaps and stream 1
the odd ones. Needs numba and scipy."""

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
HEAP_BYTES = 128
HEAPS_PER_CHUNK = 8
TOTAL_HEAPS = 24 * HEAPS_PER_CHUNK
N_STREAMS = 2


@numba.cfunc(types.void(types.CPointer(chunk_place_data), types.size_t))
def place(data_ptr, data_size):
    data = numba.carray(data_ptr, 1)
    items = numba.carray(intp_to_voidptr(data[0].items), 1, dtype=np.int64)
    if items[0] < 0:
        return
    data[0].chunk_id = items[0] // HEAPS_PER_CHUNK
    data[0].heap_index = items[0] % HEAPS_PER_CHUNK
    data[0].heap_offset = data[0].heap_index * HEAP_BYTES


def send(queue, stream_index):
    """Sends heaps i with i % N_STREAMS == stream_index to queue, then an end-of-stream heap."""
    thread_pool = spead2.ThreadPool()
    stream = spead2.send.InprocStream(thread_pool, [queue])
    ig = spead2.send.ItemGroup()
    ig.add_item(INDEX_ID, "index", "", (), format=[("u", 40)])  # fits an immediate (SPEAD-64-40)
    ig.add_item(PAYLOAD_ID, "payload", "", (HEAP_BYTES,), np.uint8)
    for i in range(stream_index, TOTAL_HEAPS, N_STREAMS):
        ig["index"].value = i
        ig["payload"].value = np.full(HEAP_BYTES, i % 256, np.uint8)
        stream.send_heap(ig.get_heap(descriptors="none", data="all"))
    stream.send_heap(ig.get_end())


def main():
    data_ring = spead2.recv.ChunkRingbuffer(4)
    free_ring = spead2.recv.ChunkRingbuffer(8)
    # LOSSLESS: a member that runs ahead waits for the other, so no heap is lost.
    group_config = spead2.recv.ChunkStreamGroupConfig(
        max_chunks=4, eviction_mode=spead2.recv.ChunkStreamGroupConfig.EvictionMode.LOSSLESS
    )
    group = spead2.recv.ChunkStreamRingGroup(group_config, data_ring, free_ring)
    for _ in range(8):
        group.add_free_chunk(
            spead2.recv.Chunk(
                present=np.zeros(HEAPS_PER_CHUNK, np.uint8), data=np.zeros((HEAPS_PER_CHUNK, HEAP_BYTES), np.uint8)
            )
        )
    chunk_config = spead2.recv.ChunkStreamConfig(
        items=[INDEX_ID], max_chunks=2, place=scipy.LowLevelCallable(place.ctypes, signature="void (void *, size_t)")
    )
    queues = [spead2.InprocQueue() for _ in range(N_STREAMS)]
    for s in range(N_STREAMS):
        # Each member needs a thread of its own.
        group.emplace_back(spead2.ThreadPool(), spead2.recv.StreamConfig(stream_id=s), chunk_config)
    for member, queue in zip(group, queues):
        member.add_inproc_reader(queue)
    senders = [threading.Thread(target=send, args=(queues[s], s)) for s in range(N_STREAMS)]
    for sender in senders:
        sender.start()

    chunks = heaps = errors = 0
    for chunk in data_ring:  # stops when both members have stopped
        for h in np.flatnonzero(chunk.present):
            heaps += 1
            errors += chunk.data[h, 0] != (chunk.chunk_id * HEAPS_PER_CHUNK + h) % 256
        chunks += 1
        group.add_free_chunk(chunk)
    for sender in senders:
        sender.join()
    for s, member in enumerate(group):
        stats = member.stats
        print(f"stream {s}: heaps {stats['heaps']}, too_old_heaps {stats['too_old_heaps']}")
    print(f"received {chunks} chunks with {heaps} heaps from {N_STREAMS} streams")
    errors += heaps != TOTAL_HEAPS
    print("MISMATCH" if errors else "ok")
    group.stop()
    print("done")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
