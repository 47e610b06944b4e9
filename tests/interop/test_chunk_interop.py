# SPDX-License-Identifier: LGPL-3.0-or-later
"""Differential tests of the chunking receiver: the same packet streams go through our
ChunkRingStream and the reference's (spead2 4.5.1, run as a black box in its own interpreter),
with the same numba place callback, and must give identical chunk IDs, presence arrays, data
bytes, extra bytes and statistics.

Both sides run PEER (below) as a subprocess: it reads the packets from stdin and the case from
argv, and prints JSON. The packets are built here byte by byte (SPEAD-64-48), so both sides see
exactly the same bytes.
"""

import json
import os
import struct
import subprocess
import sys

import pytest

pytest.importorskip("numba")

HERE = os.path.dirname(os.path.abspath(__file__))

PEER = r"""
import ctypes, json, sys
import numba
import numpy as np
from numba import types
import spead2, spead2.recv
from spead2.numba import intp_to_voidptr
from spead2.recv.numba import chunk_place_data

case = json.loads(sys.argv[1])
HPC = case["heaps_per_chunk"]
SIZE = case["heap_size"]
PRESENCE = case["presence_per_heap"]
EXTRA = case["extra"]
STAT = case["stat_index"]


@numba.cfunc(types.void(types.CPointer(chunk_place_data), types.size_t), nopython=True)
def place(data_ptr, data_size):
    data = numba.carray(data_ptr, 1)
    items = numba.carray(intp_to_voidptr(data[0].items), 2, dtype=np.int64)
    pos = items[0]
    if STAT >= 0:
        stats = numba.carray(intp_to_voidptr(data[0].batch_stats), STAT + 1, dtype=np.uint64)
        stats[STAT] += 1
    if pos < 0:
        return
    if pos >= 1000000:
        data[0].chunk_id = -2  # explicitly rejected
        return
    data[0].chunk_id = pos // HPC
    data[0].heap_index = (pos % HPC) * PRESENCE
    data[0].heap_offset = (pos % HPC) * SIZE
    if EXTRA and items[1] >= 0:
        extra = numba.carray(intp_to_voidptr(data[0].extra), 8, dtype=np.int64)
        extra[0] = items[1]
        data[0].extra_offset = (pos % HPC) * 8
        data[0].extra_size = 8


new_capsule = ctypes.pythonapi.PyCapsule_New
new_capsule.restype = ctypes.py_object
new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
capsule = new_capsule(place.address, b"void (void *, size_t)", None)

stream_config = spead2.recv.StreamConfig(
    max_heaps=case["max_heaps"], allow_out_of_order=case["out_of_order"], stream_id=case["stream_id"]
)
if STAT >= 0:
    assert stream_config.add_stat("placed") == STAT
chunk_config = spead2.recv.ChunkStreamConfig(
    items=[0x1000, 0x1001], max_chunks=case["max_chunks"], place=(capsule,), max_heap_extra=8 if EXTRA else 0
)
if case["packet_presence"]:
    chunk_config.enable_packet_presence(case["packet_presence"])
n = 64
data_ring = spead2.recv.ChunkRingbuffer(n)
free_ring = spead2.recv.ChunkRingbuffer(n)
thread_pool = spead2.ThreadPool()
stream = spead2.recv.ChunkRingStream(thread_pool, stream_config, chunk_config, data_ring, free_ring)
for _ in range(n):  # fresh chunks only, so stale bytes cannot depend on timing
    stream.add_free_chunk(
        spead2.recv.Chunk(
            present=np.zeros(HPC * PRESENCE, np.uint8),
            data=np.zeros(HPC * SIZE, np.uint8),
            extra=np.zeros(HPC * 8, np.uint8) if EXTRA else None,
        )
    )
stream.add_buffer_reader(sys.stdin.buffer.read())
chunks = []
for chunk in data_ring:
    extra = None if chunk.extra is None else bytes(chunk.extra).hex()
    chunks.append([chunk.chunk_id, chunk.stream_id, bytes(chunk.present).hex(), bytes(chunk.data).hex(), extra])
stats = dict(stream.stats.items())
stream.stop()
print(json.dumps({"chunks": chunks, "stats": stats}))
"""

POS_ID = 0x1000
TAG_ID = 0x1001


def make_packet(cnt, heap_length, offset, payload, items=()):
    pointers = [(0x01, cnt), (0x02, heap_length), (0x03, offset), (0x04, len(payload))] + list(items)
    header = struct.pack(">BBBBHH", 0x53, 4, 2, 6, 0, len(pointers))
    body = b"".join(struct.pack(">Q", (1 << 63) | (item_id << 48) | value) for item_id, value in pointers)
    return header + body + bytes(payload)


def heap(cnt, pos, size, packet_payload=None, drop=(), tag=True, only=None):
    """Packets of heap cnt at position pos (None: no position item), less those in drop."""
    payload = bytes((cnt * 13 + i) & 0xFF for i in range(size))
    items = ([] if pos is None else [(POS_ID, pos)]) + ([(TAG_ID, 0x0101 * cnt)] if tag else [])
    packet_payload = packet_payload or size
    out = []
    for i, offset in enumerate(range(0, size, packet_payload)):
        if i not in drop and (only is None or i in only):
            out.append(make_packet(cnt, size, offset, payload[offset : offset + packet_payload], items))
    return out


def base_case(**kwargs):
    case = {
        "heaps_per_chunk": 4,
        "heap_size": 64,
        "presence_per_heap": 1,
        "extra": True,
        "stat_index": -1,
        "max_heaps": 4,
        "out_of_order": False,
        "stream_id": 7,
        "max_chunks": 2,
        "packet_presence": 0,
    }
    case.update(kwargs)
    return case


def case_single_packet_heaps():
    packets = []
    for pos in range(22):
        packets += heap(pos + 1, pos, 64)
    return base_case(), packets


def case_multi_packet_heaps():
    packets = []
    for pos in range(16):
        packets += heap(pos + 1, pos, 64, packet_payload=16)
    return base_case(stat_index=9), packets


def case_lossy():
    """Dropped packets, a heap without position, an explicit reject, duplicates, a late heap,
    a heap that completes after its chunk was retired, and out-of-window chunks."""
    p = []
    p += heap(1, 0, 64, 16)
    p += heap(2, 1, 64, 16, drop=(1,))  # incomplete: a gap
    p += heap(3, 2, 64, 16, drop=(0,))  # first packet lost: nothing placed in order
    p += heap(4, 3, 64, 16, only=(0, 1))  # continued below, after its chunk is retired
    p += heap(5, None, 64)  # no position: rejected
    p += heap(6, 1000000, 64)  # explicitly rejected (-2)
    p += heap(7, 4, 64)
    p += heap(7, 4, 64)  # duplicate of a complete heap: a new heap with the same cnt
    p += heap(8, 9, 64, 16)  # chunk 2: retires chunk 0
    p += heap(4, 3, 64, 16, only=(2, 3))  # heap 4 completes after chunk 0 was retired
    p += heap(9, 1, 64)  # chunk 0 is gone: too old
    p += heap(10, 40, 64, tag=False)  # jump: window restarts at chunk 9
    p += heap(11, 37, 64, 32, drop=(1,))
    p += heap(12, 41, 64, 32)
    return base_case(max_heaps=8, stat_index=9), p


def case_packet_presence():
    p = []
    for pos in range(8):
        drop = {2: (1,), 5: (0, 3)}.get(pos, ())
        p += heap(pos + 1, pos, 64, 16, drop=drop)
    return base_case(presence_per_heap=4, packet_presence=16, out_of_order=True, extra=False), p


def case_out_of_order_multi_packet():
    p = []
    for pos in range(12):
        pieces = heap(pos + 1, pos, 128, 32, drop=(2,) if pos == 6 else ())
        p += pieces[::-1] if pos % 2 else pieces
    return base_case(heap_size=128, out_of_order=True, max_chunks=3), p


def case_interleaved_heaps():
    """Packets of several heaps interleaved; max_heaps evicts the oldest live heaps."""
    streams = [heap(pos + 1, pos, 96, 32) for pos in range(9)]
    p = []
    for i in range(3):
        for s in streams:
            p.append(s[i])
    return base_case(heap_size=96, max_heaps=4, max_chunks=1), p


CASES = {
    "single_packet_heaps": case_single_packet_heaps,
    "multi_packet_heaps": case_multi_packet_heaps,
    "lossy": case_lossy,
    "packet_presence": case_packet_presence,
    "out_of_order_multi_packet": case_out_of_order_multi_packet,
    "interleaved_heaps": case_interleaved_heaps,
}


def run_peer(python, isolated, case, packets):
    args = [python, *(["-E", "-s"] if isolated else []), "-c", PEER, json.dumps(case)]
    result = subprocess.run(args, input=b"".join(packets), capture_output=True, cwd=HERE, timeout=300)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", list(CASES))
def test_chunk_stream_matches_reference(name, ref_python_numba):
    ref_python = ref_python_numba
    case, packets = CASES[name]()
    ours = run_peer(sys.executable, False, case, packets)
    ref = run_peer(ref_python, True, case, packets)
    assert [c[0] for c in ours["chunks"]] == [c[0] for c in ref["chunks"]]
    for mine, theirs in zip(ours["chunks"], ref["chunks"]):
        assert mine == theirs, f"chunk {theirs[0]}"
    assert ours["stats"] == ref["stats"]
    # The cases are meant to exercise something: the reference must have received chunks.
    assert ref["chunks"] and ref["stats"]["heaps"] > 0
