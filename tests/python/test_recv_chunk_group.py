# SPDX-License-Identifier: LGPL-3.0-or-later
"""Chunk stream groups from Python (API.md §2.10): ChunkStreamGroupConfig, ChunkStreamRingGroup as a
Sequence of ChunkStreamGroupMember, stop semantics and lagging members in both eviction modes."""

import collections.abc
import gc
import threading
import time
import weakref

import numpy as np
import pytest

import spead2
import spead2.recv as recv

pytest.importorskip("numba")
pytest.importorskip("scipy")

from test_recv_chunk import (  # noqa: E402
    HEAP_SIZE,
    HEAPS_PER_CHUNK,
    POS_ID,
    TAG_ID,
    expected_data,
    new_chunk,
    plain_callable,
    stream_bytes,
    stream_bytes_packets,
)

EvictionMode = recv.ChunkStreamGroupConfig.EvictionMode


def chunk_config(max_chunks=2):
    return recv.ChunkStreamConfig(items=[POS_ID, TAG_ID], max_chunks=max_chunks, place=plain_callable())


def make_group(n_members=2, max_chunks=4, mode=EvictionMode.LOSSY, n_chunks=16):
    config = recv.ChunkStreamGroupConfig(max_chunks=max_chunks, eviction_mode=mode)
    group = recv.ChunkStreamRingGroup(config, recv.ChunkRingbuffer(n_chunks), recv.ChunkRingbuffer(n_chunks))
    for _ in range(n_chunks):
        group.add_free_chunk(new_chunk())
    pools = [spead2.ThreadPool() for _ in range(n_members)]  # each member needs its own thread
    for i, pool in enumerate(pools):
        group.emplace_back(pool, recv.StreamConfig(stream_id=i, max_heaps=8), chunk_config())
    return group, pools


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_group_config():
    config = recv.ChunkStreamGroupConfig()
    assert (config.max_chunks, config.eviction_mode) == (2, EvictionMode.LOSSY)
    assert recv.ChunkStreamGroupConfig.DEFAULT_MAX_CHUNKS == 2
    config = recv.ChunkStreamGroupConfig(max_chunks=4, eviction_mode=EvictionMode.LOSSLESS)
    assert (config.max_chunks, config.eviction_mode) == (4, EvictionMode.LOSSLESS)
    assert repr(EvictionMode.LOSSLESS) == "<EvictionMode.LOSSLESS: 1>"
    with pytest.raises(ValueError, match="max_chunks cannot be 0"):
        recv.ChunkStreamGroupConfig(max_chunks=0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        recv.ChunkStreamGroupConfig(foo=1)


def test_group_is_a_sequence_of_members():
    group, pools = make_group(n_members=3)
    m = [group[0], group[1], group[2]]
    assert len(group) == 3
    assert isinstance(group, collections.abc.Sequence) and isinstance(group, recv.ChunkRingPair)
    assert all(type(member) is recv.ChunkStreamGroupMember for member in m)
    assert group[-1] is m[2] and group[-3] is m[0]
    for bad in (3, -4):
        with pytest.raises(IndexError):
            group[bad]
    with pytest.raises(TypeError):
        group["a"]
    assert group[:] == m and group[::-1] == m[::-1] and group[1:] == m[1:] and group[5:] == []
    assert type(group[0:1]) is list
    assert list(group) == m and list(reversed(group)) == m[::-1]
    assert m[1] in group and group.index(m[2]) == 2 and group.count(m[0]) == 1
    assert [member.config.stream_id for member in group] == [0, 1, 2]
    assert list(m[0].stats.keys())[-2:] == ["too_old_heaps", "rejected_heaps"]
    for name in dir(recv._Stream):
        if not name.startswith("__"):
            assert hasattr(m[0], name), name
    with pytest.raises(TypeError):
        recv.ChunkStreamGroupMember()
    group.stop()


def test_emplace_back_errors():
    config = recv.ChunkStreamGroupConfig(max_chunks=4)
    group = recv.ChunkStreamRingGroup(config, recv.ChunkRingbuffer(2), recv.ChunkRingbuffer(2))
    pool = spead2.ThreadPool()
    with pytest.raises(ValueError, match="must not be larger than group max_chunks"):
        group.emplace_back(pool, recv.StreamConfig(), chunk_config(max_chunks=5))
    with pytest.raises(ValueError, match="chunk_config.place is not set"):
        group.emplace_back(pool, recv.StreamConfig(), recv.ChunkStreamConfig())
    assert len(group) == 0
    group.emplace_back(pool, config=recv.StreamConfig(), chunk_stream_config=chunk_config())
    assert group.config.max_chunks == 4 and group.config is not config
    group.stop()
    with pytest.raises(RuntimeError, match="Cannot add a stream after group has started receiving data"):
        group.emplace_back(pool, recv.StreamConfig(), chunk_config())


def test_members_keep_group_alive():
    group, pools = make_group()
    ref = weakref.ref(group)
    member = group[0]
    members = group[0:2]
    del group
    gc.collect()
    assert ref() is not None
    assert member.stats["heaps"] == 0
    del member
    gc.collect()
    assert ref() is not None  # the slice's members too
    del members
    gc.collect()
    assert ref() is None


def test_members_fill_shared_chunks():
    group, pools = make_group()
    positions = list(range(16))
    group[0].add_buffer_reader(stream_bytes(positions[0::2]))
    group[1].add_buffer_reader(stream_bytes(positions[1::2]))
    chunks = []
    for chunk in group.data_ringbuffer:  # stops after both members' network stops
        chunks.append((chunk.chunk_id, list(chunk.present), bytes(chunk.data)))
        group.add_free_chunk(chunk)
    assert [c[0] for c in chunks] == [0, 1, 2, 3]
    assert all(c[1] == [1, 1, 1, 1] for c in chunks)
    assert [c[2] for c in chunks] == [expected_data(positions, i) for i in range(4)]
    assert [m.stats["heaps"] for m in group] == [8, 8]
    assert group.free_ringbuffer.get_nowait() is not None  # network stops leave the free ring running


def test_network_stop_of_one_member_leaves_data_ring_running():
    group, pools = make_group()
    queue = spead2.InprocQueue()
    group[0].add_buffer_reader(stream_bytes([0]))
    group[1].add_inproc_reader(queue)
    assert wait_until(lambda: group[0].stats["heaps"] == 1)
    time.sleep(0.05)
    with pytest.raises(spead2.Empty):
        group.data_ringbuffer.get_nowait()
    queue.stop()
    assert [(c.chunk_id, list(c.present)) for c in group.data_ringbuffer] == [(0, [1, 0, 0, 0])]


@pytest.mark.parametrize("stopper", ["group", "member"])
def test_user_stop_stops_both_rings(stopper):
    group, pools = make_group()
    queues = [spead2.InprocQueue() for _ in group]
    for member, queue in zip(group, queues):
        member.add_inproc_reader(queue)
    for packet in stream_bytes_packets([0, 1]):
        queues[0].add_packet(packet)
    assert wait_until(lambda: group[0].stats["heaps"] == 2)
    if stopper == "group":
        group.stop()
    else:
        group[1].stop()
    with pytest.raises(spead2.Stopped):
        group.free_ringbuffer.put_nowait(new_chunk())
    # A user stop drops what is in flight (chunk 0 goes to the graveyard), so nothing arrives.
    assert list(group.data_ringbuffer) == []
    group.stop()  # idempotent


def test_lossy_lagging_member():
    """LOSSY: the group moves on without the idle member, whose part of each chunk is missing."""
    group, pools = make_group(mode=EvictionMode.LOSSY)
    queues = [spead2.InprocQueue() for _ in group]
    for member, queue in zip(group, queues):
        member.add_inproc_reader(queue)
    for packet in stream_bytes_packets([1]):
        queues[1].add_packet(packet)  # member 1 touches chunk 0, then goes quiet
    assert wait_until(lambda: group[1].stats["heaps"] == 1)
    for packet in stream_bytes_packets(range(0, 40, 2)):  # member 0: even heaps of chunks 0-9
        queues[0].add_packet(packet)
    # Without waiting for member 1, chunks that left the group window are delivered.
    got = []
    while len(got) < 6:
        chunk = group.data_ringbuffer.get()
        got.append((chunk.chunk_id, list(chunk.present)))
        group.add_free_chunk(chunk)
    assert got[0] == (0, [1, 1, 1, 0])
    assert got[1:] == [(i, [1, 0, 1, 0]) for i in range(1, 6)]
    for queue in queues:
        queue.stop()
    rest = [(c.chunk_id, list(c.present)) for c in group.data_ringbuffer]
    assert rest == [(i, [1, 0, 1, 0]) for i in range(6, 10)]
    assert group[0].stats["heaps"] == 20 and group[0].stats["too_old_heaps"] == 0


def test_lossy_jump_delivers_the_chunks_spead2_does():
    """A member jumping ahead of a LOSSY group window (max 2 chunks) while the other lags: the
    group fills its new window from the jumping member's new first chunk, so chunks 2 and 8 come
    out (empty) as in spead2 4.5.1, which delivers 0, 1, 2, 3, 4, 8, 9, 10 here."""
    group, pools = make_group(max_chunks=2, mode=EvictionMode.LOSSY)
    queues = [spead2.InprocQueue() for _ in group]
    for member, queue in zip(group, queues):
        member.add_inproc_reader(queue)
    for packet in stream_bytes_packets([0, HEAPS_PER_CHUNK, 4 * HEAPS_PER_CHUNK, 10 * HEAPS_PER_CHUNK]):
        queues[0].add_packet(packet)
    assert wait_until(lambda: group[0].stats["heaps"] == 4)
    for queue in queues:
        queue.stop()
    got = [(c.chunk_id, list(c.present)) for c in group.data_ringbuffer]
    first_only = [1] + [0] * (HEAPS_PER_CHUNK - 1)
    empty = [0] * HEAPS_PER_CHUNK
    assert got == [
        (0, first_only), (1, first_only), (2, empty), (3, empty), (4, first_only),
        (8, empty), (9, empty), (10, first_only),
    ]  # fmt: skip


def test_lossless_lagging_member_stalls_group():
    """LOSSLESS: member 0 waits for the idle member 1 instead of moving on; no heap is lost."""
    group, pools = make_group(mode=EvictionMode.LOSSLESS)
    queues = [spead2.InprocQueue() for _ in group]
    for member, queue in zip(group, queues):
        member.add_inproc_reader(queue)
    for packet in stream_bytes_packets(range(0, 40, 2)):
        queues[0].add_packet(packet)
    time.sleep(0.3)
    # Member 1 still holds chunk 0 (its window starts there), so nothing can be retired.
    with pytest.raises(spead2.Empty):
        group.data_ringbuffer.get_nowait()
    for packet in stream_bytes_packets(range(1, 40, 2)):
        queues[1].add_packet(packet)
    for queue in queues:
        queue.stop()
    got = [(c.chunk_id, list(c.present)) for c in group.data_ringbuffer]
    assert got == [(i, [1, 1, 1, 1]) for i in range(10)]
    assert [m.stats["too_old_heaps"] for m in group] == [0, 0]


def test_lossless_stop_interrupts_wait():
    group, pools = make_group(mode=EvictionMode.LOSSLESS)
    queues = [spead2.InprocQueue() for _ in group]
    for member, queue in zip(group, queues):
        member.add_inproc_reader(queue)
    for packet in stream_bytes_packets(range(0, 40, 2)):
        queues[0].add_packet(packet)
    time.sleep(0.2)
    start = time.monotonic()
    group.stop()
    assert time.monotonic() - start < 2
    assert list(group.data_ringbuffer) == []


def test_group_chunk_data_is_complete():
    """Bytes written by different members land in the right places of the same chunk."""
    group, pools = make_group()
    positions = list(range(8))
    group[0].add_buffer_reader(stream_bytes(positions[:4]))
    assert wait_until(lambda: group[0].stats["heaps"] == 4)
    group[1].add_buffer_reader(stream_bytes(positions[4:]))
    chunks = [(c.chunk_id, bytes(c.data), list(c.present)) for c in group.data_ringbuffer]
    assert chunks == [(i, expected_data(positions, i), [1] * HEAPS_PER_CHUNK) for i in range(2)]
    assert len(chunks[0][1]) == HEAPS_PER_CHUNK * HEAP_SIZE


def test_numpy_present_is_uint8_view():
    group, pools = make_group(n_members=1, n_chunks=2)
    group[0].add_buffer_reader(stream_bytes([0, 3]))
    chunk = group.data_ringbuffer.get()
    assert chunk.present.dtype == np.uint8 and list(chunk.present) == [1, 0, 0, 1]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", [EvictionMode.LOSSY, EvictionMode.LOSSLESS])
@pytest.mark.parametrize("senders_first", [True, False])
def test_member_running_ahead_of_the_window(mode, senders_first):
    """../shared/repro/chunk_group_window.py: four members (max_chunks 4, four free chunks), heap i
    to member i % 4, six chunks; the first member runs through chunk 4 before the last reader is
    added. Every chunk arrives (whole in LOSSLESS mode), and group[i] never blocks meanwhile."""
    n_members, n_chunks = 4, 6
    data_ring, free_ring = recv.ChunkRingbuffer(4), recv.ChunkRingbuffer(4)
    while not free_ring.full():
        free_ring.put(new_chunk())
    group = recv.ChunkStreamRingGroup(
        recv.ChunkStreamGroupConfig(max_chunks=4, eviction_mode=mode), data_ring, free_ring
    )
    pools = [spead2.ThreadPool() for _ in range(n_members)]
    for pool in pools:
        group.emplace_back(pool, recv.StreamConfig(max_heaps=8), chunk_config(max_chunks=4))
    positions = list(range(n_chunks * HEAPS_PER_CHUNK))
    buffers = [stream_bytes(positions[i::n_members]) for i in range(n_members)]
    got = []

    def consume():
        for chunk in data_ring:
            got.append((chunk.chunk_id, list(chunk.present), bytes(chunk.data)))
            group.add_free_chunk(chunk)

    consumer = threading.Thread(target=consume, daemon=True)
    if senders_first:
        consumer.start()
    for i, buf in enumerate(buffers):
        group[i].add_buffer_reader(buf)
        if i == 0:
            time.sleep(0.1)  # member 0 reaches chunk 4 and waits (LOSSLESS) or evicts (LOSSY)
    if not senders_first:
        consumer.start()
    consumer.join(timeout=30)
    stalled = consumer.is_alive()
    if stalled:
        group.stop()
    assert not stalled, f"the group stalled; chunks so far {[c[:2] for c in got]}"
    assert [c[0] for c in got] == list(range(n_chunks))
    for chunk_id, present, data in got:
        expected = expected_data(positions, chunk_id)
        for h in range(HEAPS_PER_CHUNK):  # whatever is present is right
            if present[h]:
                assert data[h * HEAP_SIZE : (h + 1) * HEAP_SIZE] == expected[h * HEAP_SIZE : (h + 1) * HEAP_SIZE]
    if mode == EvictionMode.LOSSLESS:
        assert all(present == [1] * HEAPS_PER_CHUNK for _, present, _ in got)
