# SPDX-License-Identifier: LGPL-3.0-or-later
"""The chunking receiver from Python (API.md §2.10): ChunkStreamConfig, Chunk, ChunkRingbuffer and
ChunkRingStream, with numba place callbacks passed as scipy LowLevelCallables.

The packets are built here byte by byte (flavour SPEAD-64-48), so every test knows exactly which
heaps, packets and items reach the stream. The helpers are shared by the other test_recv_chunk*
files.
"""

import ctypes
import gc
import os
import select
import struct
import subprocess
import sys
import threading
import time
import weakref

import numpy as np
import pytest

import spead2
import spead2.recv as recv

numba = pytest.importorskip("numba")
scipy = pytest.importorskip("scipy")
from numba import types  # noqa: E402

from spead2.numba import intp_to_voidptr  # noqa: E402
from spead2.recv.numba import chunk_place_data  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

POS_ID = 0x1000  # immediate item: position of the heap in the whole stream
TAG_ID = 0x1001  # immediate item: 8 bytes copied to the chunk's extra
HEAPS_PER_CHUNK = 4
HEAP_SIZE = 64


# ---------------------------------------------------------------------------------------------
# Packets


def make_packet(cnt, heap_length, offset, payload, items=()):
    """One SPEAD-64-48 packet: the four specials, then immediate (id, value) items, then payload."""
    pointers = [(0x01, cnt), (0x02, heap_length), (0x03, offset), (0x04, len(payload))]
    pointers += list(items)
    header = struct.pack(">BBBBHH", 0x53, 4, 2, 6, 0, len(pointers))
    body = b"".join(struct.pack(">Q", (1 << 63) | (item_id << 48) | value) for item_id, value in pointers)
    return header + body + bytes(payload)


def heap_packets(cnt, payload, packet_payload=None, items=(), drop=()):
    """The packets of one heap (payload split into packet_payload-byte pieces), less those in drop."""
    packet_payload = packet_payload or len(payload)
    out = []
    for i, offset in enumerate(range(0, len(payload), packet_payload)):
        if i not in drop:
            out.append(make_packet(cnt, len(payload), offset, payload[offset : offset + packet_payload], items))
    return out


def heap_payload(pos, size=HEAP_SIZE):
    """Recognisable payload of the heap at position pos."""
    return bytes((pos * 7 + i) & 0xFF for i in range(size))


def stream_bytes(positions, size=HEAP_SIZE, packet_payload=None, tags=True, drop=None):
    """Packets for heaps at the given positions (cnt = position + 1), concatenated."""
    out = []
    for pos in positions:
        items = [(POS_ID, pos)] + ([(TAG_ID, 0x1111 * (pos + 1))] if tags else [])
        out += heap_packets(pos + 1, heap_payload(pos, size), packet_payload, items, (drop or {}).get(pos, ()))
    return b"".join(out)


# ---------------------------------------------------------------------------------------------
# Place callbacks

place_signature = types.void(types.CPointer(chunk_place_data), types.size_t)
place_user_signature = types.void(types.CPointer(chunk_place_data), types.size_t, types.voidptr)


@numba.cfunc(place_signature, nopython=True)
def place_plain(data_ptr, data_size):
    """HEAPS_PER_CHUNK heaps of HEAP_SIZE bytes per chunk, by the POS_ID item; TAG_ID to extra."""
    data = numba.carray(data_ptr, 1)
    items = numba.carray(intp_to_voidptr(data[0].items), 2, dtype=np.int64)
    pos = items[0]
    if pos < 0:
        return  # chunk_id stays -1: rejected
    data[0].chunk_id = pos // HEAPS_PER_CHUNK
    data[0].heap_index = pos % HEAPS_PER_CHUNK
    data[0].heap_offset = (pos % HEAPS_PER_CHUNK) * HEAP_SIZE
    if data[0].extra != 0 and items[1] >= 0:
        extra = numba.carray(intp_to_voidptr(data[0].extra), 8, dtype=np.int64)
        extra[0] = items[1]
        data[0].extra_offset = (pos % HEAPS_PER_CHUNK) * 8
        data[0].extra_size = 8


@numba.cfunc(place_user_signature, nopython=True)
def place_user(data_ptr, data_size, user_data):
    """As place_plain, but heaps per chunk, heap size and a statistic index come from user_data."""
    data = numba.carray(data_ptr, 1)
    params = numba.carray(user_data, 3, dtype=np.int64)
    items = numba.carray(intp_to_voidptr(data[0].items), 1, dtype=np.int64)
    pos = items[0]
    if pos < 0:
        return
    data[0].chunk_id = pos // params[0]
    data[0].heap_index = pos % params[0]
    data[0].heap_offset = (pos % params[0]) * params[1]
    if params[2] >= 0:
        stats = numba.carray(intp_to_voidptr(data[0].batch_stats), params[2] + 1, dtype=np.uint64)
        stats[params[2]] += 1


def plain_callable():
    return scipy.LowLevelCallable(place_plain.ctypes, signature="void (void *, size_t)")


def user_callable(params):
    """The 3-argument form; keep params alive as long as the callable."""
    user_data = ctypes.cast(params.ctypes.data, ctypes.c_void_p)
    return scipy.LowLevelCallable(place_user.ctypes, user_data=user_data, signature="void (void *, size_t, void *)")


def make_capsule(pointer, name):
    new = ctypes.pythonapi.PyCapsule_New
    new.restype = ctypes.py_object
    new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    return new(pointer, name, None)


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture
def thread_pool():
    pool = spead2.ThreadPool()
    yield pool
    pool.stop()


def new_chunk(cls=recv.Chunk, heaps=HEAPS_PER_CHUNK, size=HEAP_SIZE, extra=False, present_per_heap=1):
    return cls(
        present=np.zeros(heaps * present_per_heap, np.uint8),
        data=np.zeros(heaps * size, np.uint8),
        extra=np.zeros(heaps * 8, np.uint8) if extra else None,
    )


def make_stream(thread_pool, n_chunks=4, max_chunks=2, extra=False, data_size=None, free_size=None, **kwargs):
    config = recv.ChunkStreamConfig(
        items=[POS_ID, TAG_ID], max_chunks=max_chunks, place=plain_callable(), max_heap_extra=8 if extra else 0
    )
    data_ring = recv.ChunkRingbuffer(data_size or max(n_chunks, 1))
    free_ring = recv.ChunkRingbuffer(free_size or max(n_chunks, 1))
    stream = recv.ChunkRingStream(thread_pool, recv.StreamConfig(**kwargs), config, data_ring, free_ring)
    for _ in range(n_chunks):
        stream.add_free_chunk(new_chunk(extra=extra))
    return stream


def expected_data(positions, chunk_id, heaps=HEAPS_PER_CHUNK, size=HEAP_SIZE):
    data = bytearray(heaps * size)
    for pos in positions:
        if pos // heaps == chunk_id:
            offset = (pos % heaps) * size
            data[offset : offset + size] = heap_payload(pos, size)
    return bytes(data)


def receive_all(stream, recycle=True):
    """Every chunk until the data ring stops, as (chunk_id, present list, data bytes, extra bytes)."""
    out = []
    for chunk in stream.data_ringbuffer:
        extra = None if chunk.extra is None else bytes(chunk.extra)
        out.append((chunk.chunk_id, list(chunk.present), bytes(chunk.data), extra))
        if recycle:
            stream.add_free_chunk(chunk)
    return out


# ---------------------------------------------------------------------------------------------
# ChunkStreamConfig


def test_config_defaults():
    config = recv.ChunkStreamConfig()
    assert config.items == []
    assert config.max_chunks == 2 == recv.ChunkStreamConfig.DEFAULT_MAX_CHUNKS
    assert config.place is None
    assert config.max_heap_extra == 0
    assert config.packet_presence_payload_size == 0


def test_config_keywords_and_items_copy():
    config = recv.ChunkStreamConfig(items=[1, 2, 0x800000000000], max_chunks=5, max_heap_extra=16)
    assert (config.items, config.max_chunks, config.max_heap_extra) == ([1, 2, 0x800000000000], 5, 16)
    config.items.append(7)
    assert config.items == [1, 2, 0x800000000000]
    with pytest.raises(TypeError, match="unexpected keyword"):
        recv.ChunkStreamConfig(foo=1)
    with pytest.raises(TypeError):
        recv.ChunkStreamConfig(items=[-1])
    with pytest.raises(TypeError):
        recv.ChunkStreamConfig(max_heap_extra=-1)


@pytest.mark.parametrize(
    "items", [{5}, frozenset([5]), {5: 1}.keys(), (i for i in [5]), range(5, 6), np.array([5], np.uint64)]
)
def test_config_items_any_iterable(items):
    assert recv.ChunkStreamConfig(items=items).items == [5]  # as spead2


@pytest.mark.parametrize("items", ["5", b"5", {5: 1}, [1.0], np.array([1.0]), 5])
def test_config_items_rejects_non_integers(items):
    with pytest.raises(TypeError):
        recv.ChunkStreamConfig(items=items)


def test_config_max_chunks_zero():
    with pytest.raises(ValueError, match="max_chunks cannot be 0"):
        recv.ChunkStreamConfig(max_chunks=0)


def test_config_packet_presence_chains():
    config = recv.ChunkStreamConfig()
    assert config.enable_packet_presence(100) is config
    assert config.packet_presence_payload_size == 100
    assert config.disable_packet_presence() is config
    assert config.packet_presence_payload_size == 0
    with pytest.raises(ValueError, match="payload_size must not be zero"):
        config.enable_packet_presence(0)


def test_config_place_errors():
    with pytest.raises(IndexError):
        recv.ChunkStreamConfig(place=())
    with pytest.raises(TypeError, match="not iterable"):
        recv.ChunkStreamConfig(place=5)
    with pytest.raises(TypeError, match="Object of type 'int' is not an instance of 'capsule'"):
        recv.ChunkStreamConfig(place=(5,))
    bad = make_capsule(1234, b"void (void *, int)")
    with pytest.raises(ValueError, match=r'Invalid callback signature "void \(void \*, int\)"'):
        recv.ChunkStreamConfig(place=(bad,))


def test_config_place_getter_returns_object():
    llc = plain_callable()
    config = recv.ChunkStreamConfig(place=llc)
    assert config.place is llc
    other = (make_capsule(1234, b"void (void *, size_t, void *)"), "anything")
    config.place = other
    assert config.place is other
    config.place = None
    assert config.place is None


def test_config_place_user_data_form_accepted():
    params = np.array([4, 64, -1], np.int64)
    llc = user_callable(params)
    assert recv.ChunkStreamConfig(place=llc).place is llc


# ---------------------------------------------------------------------------------------------
# Chunk


def test_chunk_defaults_and_keywords():
    chunk = recv.Chunk()
    assert (chunk.chunk_id, chunk.stream_id, chunk.present, chunk.data, chunk.extra) == (-1, 0, None, None, None)
    present = np.zeros(3, np.uint8)
    data = bytearray(8)
    chunk = recv.Chunk(chunk_id=-5, stream_id=7, present=present, data=data)
    assert chunk.present is present and chunk.data is data
    assert (chunk.chunk_id, chunk.stream_id) == (-5, 7)
    chunk.present = None
    assert chunk.present is None
    with pytest.raises(TypeError, match="unexpected keyword"):
        recv.Chunk(foo=1)
    with pytest.raises(TypeError):
        recv.Chunk(5)
    with pytest.raises(TypeError):
        recv.Chunk(stream_id=-1)


def test_chunk_buffers_must_be_writable_and_contiguous():
    with pytest.raises(BufferError, match="not writable"):
        recv.Chunk(present=b"abc")
    with pytest.raises(ValueError, match="not C-contiguous"):
        recv.Chunk(data=np.zeros((3, 4), np.uint8)[:, ::2])
    with pytest.raises(TypeError):
        recv.Chunk(extra=5)
    # Any writable contiguous buffer, of any shape and dtype.
    assert recv.Chunk(data=np.zeros((3, 4), np.int32)).data.shape == (3, 4)


def test_chunk_has_no_dict_but_subclasses_do():
    with pytest.raises(AttributeError):
        recv.Chunk().foo = 1

    class MyChunk(recv.Chunk):
        pass

    chunk = MyChunk(chunk_id=3)
    chunk.foo = "bar"
    assert (chunk.foo, chunk.chunk_id) == ("bar", 3)


# ---------------------------------------------------------------------------------------------
# ChunkRingbuffer


def small_chunk(**kwargs):
    return recv.Chunk(present=bytearray(2), data=bytearray(8), **kwargs)


def test_ringbuffer_sizes():
    ring = recv.ChunkRingbuffer(2)
    assert (ring.maxsize, ring.qsize(), ring.empty(), ring.full()) == (2, 0, True, False)
    ring.put(small_chunk())
    assert (ring.qsize(), ring.empty(), ring.full()) == (1, False, False)
    ring.put_nowait(small_chunk())
    assert (ring.qsize(), ring.empty(), ring.full()) == (2, False, True)
    with pytest.raises(spead2.Full):
        ring.put_nowait(small_chunk())
    with pytest.raises(AttributeError):
        ring.maxsize = 3
    with pytest.raises(ValueError):
        recv.ChunkRingbuffer(0)  # spead2 4.5.1 accepts 0 (a ring that is always full and empty)
    with pytest.raises(TypeError):
        recv.ChunkRingbuffer(-1)


def test_ringbuffer_put_needs_data_and_present():
    ring = recv.ChunkRingbuffer(2)
    with pytest.raises(ValueError, match="data buffer is not set"):
        ring.put(recv.Chunk())
    with pytest.raises(ValueError, match="data buffer is not set"):
        ring.put(recv.Chunk(present=bytearray(4)))
    with pytest.raises(ValueError, match="present buffer is not set"):
        ring.put_nowait(recv.Chunk(data=bytearray(4)))
    with pytest.raises(TypeError):
        ring.put(5)
    assert ring.qsize() == 0


def test_ringbuffer_round_trip_keeps_identity():
    class MyChunk(recv.Chunk):
        pass

    ring = recv.ChunkRingbuffer(2)
    chunk = MyChunk(present=bytearray(2), data=bytearray(8), extra=bytearray(3), chunk_id=5, stream_id=9)
    chunk.tag = "x"
    buffers = (chunk.present, chunk.data, chunk.extra)
    refs = sys.getrefcount(chunk)
    ring.put(chunk)
    assert sys.getrefcount(chunk) == refs + 1  # the ring holds it
    assert (chunk.present, chunk.data, chunk.extra) == (None, None, None)  # lent to the ring
    chunk.extra = bytearray(1)  # undone when it comes back, as in spead2
    got = ring.get()
    assert got is chunk
    assert type(got) is MyChunk and got.tag == "x" and (got.chunk_id, got.stream_id) == (5, 9)
    assert all(a is b for a, b in zip((got.present, got.data, got.extra), buffers))
    del got
    assert sys.getrefcount(chunk) == refs


def test_ringbuffer_failed_put_leaves_chunk_unchanged():
    ring = recv.ChunkRingbuffer(1)
    ring.put(small_chunk())
    chunk = small_chunk(chunk_id=4)
    refs = sys.getrefcount(chunk)
    with pytest.raises(spead2.Full):
        ring.put_nowait(chunk)
    ring.stop()
    with pytest.raises(spead2.Stopped):
        ring.put(chunk)
    assert (chunk.chunk_id, sys.getrefcount(chunk)) == (4, refs)
    assert chunk.present is not None and chunk.data is not None  # not queued: buffers kept


def test_ringbuffer_empty_and_stop():
    ring = recv.ChunkRingbuffer(3)
    with pytest.raises(spead2.Empty):
        ring.get_nowait()
    for i in range(3):
        ring.put(small_chunk(chunk_id=i))
    assert ring.stop() is True
    assert ring.stop() is True  # as spead2 4.5.1
    with pytest.raises(spead2.Stopped):
        ring.put_nowait(small_chunk())
    assert ring.get().chunk_id == 0
    assert [c.chunk_id for c in ring] == [1, 2]
    with pytest.raises(spead2.Stopped):
        ring.get_nowait()
    with pytest.raises(spead2.Stopped):
        ring.get()
    assert list(ring) == []


def test_ringbuffer_producers():
    ring = recv.ChunkRingbuffer(2)
    ring.add_producer()
    ring.add_producer()
    assert ring.remove_producer() is False
    ring.put(small_chunk())
    assert ring.remove_producer() is True
    assert ring.get() is not None
    with pytest.raises(spead2.Stopped):
        ring.get()


def test_ringbuffer_fds():
    ring = recv.ChunkRingbuffer(2)
    assert select.select([ring.data_fd], [], [], 0)[0] == []
    assert select.select([ring.space_fd], [], [], 0)[0] == [ring.space_fd]
    ring.put(small_chunk())
    ring.put(small_chunk())
    assert select.select([ring.data_fd], [], [], 0)[0] == [ring.data_fd]
    assert select.select([ring.space_fd], [], [], 0)[0] == []
    ring.get()
    ring.get()
    ring.stop()
    # Once stopped both poll readable, so waiters see the stop.
    assert select.select([ring.data_fd, ring.space_fd], [], [], 0)[0] == [ring.data_fd, ring.space_fd]


def test_ringbuffer_get_blocks_without_gil():
    ring = recv.ChunkRingbuffer(1)
    chunk = small_chunk(chunk_id=11)
    thread = threading.Thread(target=lambda: (time.sleep(0.1), ring.put(chunk)))
    thread.start()
    assert ring.get() is chunk
    thread.join()
    # put blocks while full, until a get makes room.
    ring.put(small_chunk(chunk_id=1))
    thread = threading.Thread(target=lambda: (time.sleep(0.1), ring.get()))
    thread.start()
    ring.put(small_chunk(chunk_id=2))
    thread.join()
    assert ring.get_nowait().chunk_id == 2


# ---------------------------------------------------------------------------------------------
# ChunkRingStream: construction


def test_stream_construction(thread_pool):
    data_ring, free_ring = recv.ChunkRingbuffer(2), recv.ChunkRingbuffer(2)
    with pytest.raises(ValueError, match="chunk_config.place is not set"):
        recv.ChunkRingStream(thread_pool, recv.StreamConfig(), recv.ChunkStreamConfig(), data_ring, free_ring)
    config = recv.ChunkStreamConfig(place=plain_callable())
    with pytest.raises(TypeError):
        recv.ChunkRingStream(thread_pool, recv.StreamConfig(), config, None, free_ring)
    stream = recv.ChunkRingStream(
        thread_pool, chunk_stream_config=config, data_ringbuffer=data_ring, free_ringbuffer=free_ring
    )
    assert stream.data_ringbuffer is data_ring and stream.free_ringbuffer is free_ring
    assert isinstance(stream, recv._Stream) and isinstance(stream, recv.ChunkRingPair)
    # Reached through the base class too, as in spead2.
    assert recv.ChunkRingPair.data_ringbuffer.__get__(stream) is data_ring
    assert recv.ChunkRingPair.free_ringbuffer.__get__(stream) is free_ring
    recv.ChunkRingPair.add_free_chunk(stream, recv.Chunk(present=np.ones(1, np.uint8), data=np.zeros(8, np.uint8)))
    assert free_ring.get_nowait().present[0] == 0
    assert stream.config.allow_unsized_heaps is False
    assert [s.name for s in stream.config.stats][-2:] == ["too_old_heaps", "rejected_heaps"]
    assert list(stream.stats.keys())[-2:] == ["too_old_heaps", "rejected_heaps"]
    assert stream.stats["too_old_heaps"] == 0 and stream.stats["rejected_heaps"] == 0
    for name in dir(recv._Stream):
        if not name.startswith("__"):
            assert hasattr(stream, name), name
    stream.stop()
    with pytest.raises(TypeError, match="No constructor defined"):
        recv.ChunkRingPair()


def test_add_free_chunk(thread_pool):
    stream = make_stream(thread_pool, n_chunks=0, free_size=1)
    with pytest.raises(ValueError, match="data buffer is not set"):
        stream.add_free_chunk(recv.Chunk())
    chunk = new_chunk()
    present, data = chunk.present, chunk.data
    present[:] = 1
    stream.add_free_chunk(chunk)
    assert list(present) == [0, 0, 0, 0]
    # As in spead2, the buffers are lent to the stream: the chunk shows None until it comes
    # back, so it cannot be queued twice (two chunk IDs would share one buffer).
    assert (chunk.present, chunk.data, chunk.extra) == (None, None, None)
    with pytest.raises(ValueError, match="data buffer is not set"):
        stream.add_free_chunk(chunk)
    chunk.data = np.zeros(8, np.uint8)  # undone when the chunk comes back
    other = new_chunk()
    other_present = other.present
    other_present[:] = 1
    with pytest.raises(spead2.Full):
        stream.add_free_chunk(other)
    assert list(other_present) == [0, 0, 0, 0]  # zeroed before the push, as spead2
    assert other.present is other_present  # not queued: the chunk keeps its buffers
    assert stream.free_ringbuffer.get() is chunk
    assert chunk.present is present and chunk.data is data and chunk.extra is None
    stream.stop()
    stopped = new_chunk()
    stream.add_free_chunk(stopped)  # a stopped free ring is ignored
    assert stopped.data is not None


# ---------------------------------------------------------------------------------------------
# ChunkRingStream: receiving


def test_receive_complete_heaps(thread_pool):
    stream = make_stream(thread_pool, extra=True)
    positions = list(range(10))
    stream.add_buffer_reader(stream_bytes(positions))
    chunks = receive_all(stream)
    assert [c[0] for c in chunks] == [0, 1, 2]
    assert [c[1] for c in chunks] == [[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 0, 0]]
    for chunk_id, _, data, extra in chunks:
        assert data == expected_data(positions, chunk_id)
        tags = [0x1111 * (pos + 1) if pos < 10 else 0 for pos in range(chunk_id * 4, chunk_id * 4 + 4)]
        assert extra == np.array(tags, np.int64).tobytes()
    stats = stream.stats
    assert (stats["heaps"], stats["packets"], stats["too_old_heaps"], stats["rejected_heaps"]) == (10, 10, 0, 0)


def test_receive_multi_packet_heaps(thread_pool):
    stream = make_stream(thread_pool)
    positions = list(range(8))
    stream.add_buffer_reader(stream_bytes(positions, packet_payload=16))
    chunks = receive_all(stream)
    assert [(c[0], c[1]) for c in chunks] == [(0, [1] * 4), (1, [1] * 4)]
    assert [c[2] for c in chunks] == [expected_data(positions, 0), expected_data(positions, 1)]
    assert stream.stats["packets"] == 32 and stream.stats["heaps"] == 8


def test_receive_user_data_callback_and_custom_stat(thread_pool):
    params = np.array([2, 32, 9], np.int64)  # 2 heaps of 32 bytes per chunk; stat 9
    stream_config = recv.StreamConfig()
    assert stream_config.add_stat("placed") == 9
    config = recv.ChunkStreamConfig(items=[POS_ID], place=user_callable(params))
    data_ring, free_ring = recv.ChunkRingbuffer(4), recv.ChunkRingbuffer(4)
    stream = recv.ChunkRingStream(thread_pool, stream_config, config, data_ring, free_ring)
    for _ in range(4):
        stream.add_free_chunk(new_chunk(heaps=2, size=32))
    positions = [0, 1, 2, 4, 5]
    stream.add_buffer_reader(stream_bytes(positions, size=32))
    chunks = receive_all(stream)
    assert [(c[0], c[1]) for c in chunks] == [(0, [1, 1]), (1, [1, 0]), (2, [1, 1])]
    assert [c[2] for c in chunks] == [expected_data(positions, i, 2, 32) for i in range(3)]
    assert stream.stats["placed"] == 5
    assert list(stream.stats.keys())[9:] == ["placed", "too_old_heaps", "rejected_heaps"]


def test_lossy_input(thread_pool):
    """Dropped packets, late heaps and heaps without a position, with exact outcomes."""
    stream = make_stream(thread_pool, extra=True, max_heaps=8)
    # Heap 1 loses its second packet, heap 6 its first; heap 9 has no POS_ID (rejected);
    # heap 0 is sent again after chunk 0 has been retired (too old).
    packets = []
    for pos in [0, 1, 2, 3, 4, 5, 6, 7, 8, 12]:
        drop = {1: (1,), 6: (0,)}.get(pos, ())
        items = [(POS_ID, pos), (TAG_ID, 0x1111 * (pos + 1))]
        packets += heap_packets(pos + 1, heap_payload(pos), 32, items, drop)
    packets += heap_packets(100, heap_payload(9), 32, [(TAG_ID, 5)])
    packets += heap_packets(101, heap_payload(0), 32, [(POS_ID, 0), (TAG_ID, 5)])
    stream.add_buffer_reader(b"".join(packets))
    chunks = receive_all(stream)
    assert [(c[0], c[1]) for c in chunks] == [(0, [1, 0, 1, 1]), (1, [1, 1, 0, 1]), (2, [1, 0, 0, 0]), (3, [1, 0, 0, 0])]
    # The first half of heap 1 was written and its extra data copied, though it never completed;
    # heap 6 lost its first packet, so in-order reassembly dropped the rest: nothing placed.
    data0 = bytearray(expected_data([0, 2, 3], 0))
    data0[HEAP_SIZE : HEAP_SIZE + 32] = heap_payload(1)[:32]
    assert chunks[0][2] == bytes(data0)
    assert chunks[0][3] == np.array([0x1111, 0x2222, 0x3333, 0x4444], np.int64).tobytes()
    assert chunks[1][2] == expected_data([4, 5, 7], 1)
    stats = stream.stats
    assert stats["rejected_heaps"] == 1
    assert stats["too_old_heaps"] == 1
    assert stats["incomplete_heaps_evicted"] + stats["incomplete_heaps_flushed"] == 1


def test_window_back_fill_and_jump(thread_pool):
    """A heap for a far chunk retires the window and starts it at id - (max_chunks - 1)."""
    stream = make_stream(thread_pool, n_chunks=8)
    positions = [0, 9, 40]  # chunks 0, 2 (back-fills 1), then 10 (jump: window restarts at 9)
    stream.add_buffer_reader(stream_bytes(positions))
    chunks = receive_all(stream)
    assert [(c[0], c[1]) for c in chunks] == [(0, [1, 0, 0, 0]), (1, [0] * 4), (2, [0, 1, 0, 0]), (9, [0] * 4), (10, [1, 0, 0, 0])]


def test_packet_presence(thread_pool):
    config = recv.ChunkStreamConfig(items=[POS_ID, TAG_ID], place=plain_callable()).enable_packet_presence(16)
    data_ring, free_ring = recv.ChunkRingbuffer(2), recv.ChunkRingbuffer(2)
    stream_config = recv.StreamConfig(allow_out_of_order=True)  # else packets after the gap are dropped
    stream = recv.ChunkRingStream(thread_pool, stream_config, config, data_ring, free_ring)
    # Heap 0 (heap_index 0) in 4 packets of 16 bytes sets flags 0-3, one per packet that arrives.
    stream.add_free_chunk(new_chunk(present_per_heap=4))
    stream.add_buffer_reader(stream_bytes([0], packet_payload=16, drop={0: (2,)}))
    chunks = receive_all(stream, recycle=False)
    assert chunks[0][1] == [1, 1, 0, 1] + [0] * 12


def test_network_stop_leaves_free_ring_running(thread_pool):
    stream = make_stream(thread_pool)
    stream.add_buffer_reader(stream_bytes([0]))
    assert len(receive_all(stream, recycle=False)) == 1
    with pytest.raises(spead2.Stopped):
        stream.data_ringbuffer.get()
    stream.free_ringbuffer.put_nowait(new_chunk())  # not stopped


def test_user_stop_stops_both_rings(thread_pool):
    stream = make_stream(thread_pool)
    queue = spead2.InprocQueue()
    stream.add_inproc_reader(queue)
    stream.stop()
    with pytest.raises(spead2.Stopped):
        stream.data_ringbuffer.get()
    with pytest.raises(spead2.Stopped):
        stream.free_ringbuffer.put_nowait(new_chunk())
    stream.stop()  # idempotent


def test_shared_data_ring_stops_after_last_producer(thread_pool):
    data_ring = recv.ChunkRingbuffer(8)
    streams = []
    for stream_id in (1, 2):
        config = recv.ChunkStreamConfig(items=[POS_ID], place=plain_callable())
        free_ring = recv.ChunkRingbuffer(4)
        stream = recv.ChunkRingStream(thread_pool, recv.StreamConfig(stream_id=stream_id), config, data_ring, free_ring)
        for _ in range(4):
            stream.add_free_chunk(new_chunk())
        streams.append(stream)
    queue = spead2.InprocQueue()
    streams[0].add_buffer_reader(stream_bytes([0, 1]))
    streams[1].add_inproc_reader(queue)
    chunk = data_ring.get()
    assert (chunk.stream_id, chunk.chunk_id) == (1, 0)
    time.sleep(0.05)
    with pytest.raises(spead2.Empty):
        data_ring.get_nowait()  # the first stream's network stop did not stop the ring
    for packet in heap_packets(1, heap_payload(5), items=[(POS_ID, 5)]):
        queue.add_packet(packet)
    queue.stop()
    # Chunk 0 is back-filled (empty), then chunk 1 holds the heap; then the ring stops.
    rest = [(c.stream_id, c.chunk_id, list(c.present)) for c in data_ring]
    assert rest == [(2, 0, [0, 0, 0, 0]), (2, 1, [0, 1, 0, 0])]


def test_stop_while_worker_blocked(thread_pool):
    """A worker blocked on a full data ring is released by stop() from the consumer's thread."""
    stream = make_stream(thread_pool, n_chunks=8, data_size=1, free_size=8)
    queue = spead2.InprocQueue()
    stream.add_inproc_reader(queue)
    for packet in stream_bytes_packets(range(0, 40, 4)):  # one heap in each of chunks 0..9
        queue.add_packet(packet)
    # The worker fills the data ring (1 chunk), then blocks pushing the next one (statistics are
    # published per batch, so they cannot show it yet).
    deadline = time.monotonic() + 5
    while not stream.data_ringbuffer.full() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert stream.data_ringbuffer.full()
    assert stream.free_ringbuffer.qsize() < 8 - 2
    taken = stream.data_ringbuffer.get_nowait()
    assert taken.chunk_id == 0
    start = time.monotonic()
    stream.stop()
    assert time.monotonic() - start < 2
    with pytest.raises(spead2.Stopped):
        stream.free_ringbuffer.put_nowait(new_chunk())
    # Taking chunk 0 let the worker push chunk 1 before the stop; nothing came after.
    assert [c.chunk_id for c in stream.data_ringbuffer] in ([], [1])
    assert bytes(taken.data[:HEAP_SIZE]) == heap_payload(0)


def test_worker_blocked_counts_waits_on_full_data_ring(thread_pool):
    """Each push that finds the data ring full counts in worker_blocked, as for heap rings.

    spead2 4.5.1 reports 0 for chunk streams whatever happens (a deliberate difference).
    """
    stream = make_stream(thread_pool, n_chunks=8, data_size=1, free_size=8)
    stream.add_buffer_reader(stream_bytes(range(0, 16, 4)))  # one heap in each of chunks 0..3
    time.sleep(0.2)  # chunk 0 fills the ring; the worker waits to push chunk 1
    ids = []
    for chunk in stream.data_ringbuffer:
        ids.append(chunk.chunk_id)
        time.sleep(0.05)
    assert ids == [0, 1, 2, 3]
    assert stream.stats["worker_blocked"] >= 1


def stream_bytes_packets(positions):
    out = []
    for pos in positions:
        out += heap_packets(pos + 1, heap_payload(pos), items=[(POS_ID, pos)])
    return out


def test_undelivered_chunks_are_freed_at_stop(thread_pool):
    """Chunks inside the stream at a user stop are released (the graveyard), not leaked."""
    stream = make_stream(thread_pool, n_chunks=0, free_size=4, data_size=4)
    refs = []
    for _ in range(3):
        chunk = new_chunk()
        refs.append(weakref.ref(chunk))
        stream.add_free_chunk(chunk)
        del chunk
    queue = spead2.InprocQueue()
    stream.add_inproc_reader(queue)
    for packet in stream_bytes_packets([0, 4]):  # chunks 0 and 1 are now in the window
        queue.add_packet(packet)
    deadline = time.monotonic() + 5
    while stream.stats["heaps"] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    stream.stop()
    delivered = list(stream.data_ringbuffer)
    del delivered
    del stream
    for _ in range(10):
        gc.collect()
        if all(r() is None for r in refs):
            break
        time.sleep(0.01)
    assert [r() for r in refs] == [None, None, None]


def test_stream_keeps_place_and_rings_alive(thread_pool):
    data_ring, free_ring = recv.ChunkRingbuffer(2), recv.ChunkRingbuffer(2)
    data_ref, free_ref = weakref.ref(data_ring), weakref.ref(free_ring)
    config = recv.ChunkStreamConfig(items=[POS_ID, TAG_ID], place=plain_callable())
    stream = recv.ChunkRingStream(thread_pool, recv.StreamConfig(), config, data_ring, free_ring)
    del data_ring, free_ring, config
    gc.collect()
    assert data_ref() is not None and free_ref() is not None
    stream.add_free_chunk(new_chunk())
    stream.add_buffer_reader(stream_bytes([1]))
    assert [(c[0], c[1]) for c in receive_all(stream, recycle=False)] == [(0, [0, 1, 0, 0])]
    del stream
    gc.collect()
    assert data_ref() is None and free_ref() is None


# ---------------------------------------------------------------------------------------------
# Modules and examples


def test_numba_record_matches_c_struct():
    assert chunk_place_data.size == 80
    assert [(name, chunk_place_data.offset(name)) for name in chunk_place_data.fields] == [
        ("packet", 0),
        ("packet_size", 8),
        ("items", 16),
        ("chunk_id", 24),
        ("heap_index", 32),
        ("heap_offset", 40),
        ("batch_stats", 48),
        ("extra", 56),
        ("extra_offset", 64),
        ("extra_size", 72),
    ]


@pytest.mark.parametrize("name", ["chunk_timestamp", "chunk_ring", "chunk_group"])
def test_example_runs(name):
    path = os.path.join(ROOT, "examples", name + ".py")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(spead2.__path__[0])] + sys.path)
    result = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "done" in result.stdout
