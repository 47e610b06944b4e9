# SPDX-License-Identifier: LGPL-3.0-or-later
"""spead2.recv.asyncio.ChunkRingbuffer (API.md §2.11): await get/put, async for, Stopped."""

import asyncio

import pytest

import spead2
import spead2.recv
import spead2.recv.asyncio

pytest.importorskip("numba")
pytest.importorskip("scipy")

from test_recv_chunk import new_chunk, plain_callable, stream_bytes  # noqa: E402


def small_chunk(chunk_id=-1):
    return spead2.recv.Chunk(present=bytearray(1), data=bytearray(1), chunk_id=chunk_id)


def test_is_a_chunk_ringbuffer():
    ring = spead2.recv.asyncio.ChunkRingbuffer(2)
    assert isinstance(ring, spead2.recv.ChunkRingbuffer) and ring.maxsize == 2


@pytest.mark.asyncio
async def test_get_waits_for_put():
    ring = spead2.recv.asyncio.ChunkRingbuffer(1)
    getter = asyncio.create_task(ring.get())
    await asyncio.sleep(0.05)
    assert not getter.done()
    chunk = small_chunk(3)
    await ring.put(chunk)
    assert await asyncio.wait_for(getter, 5) is chunk


@pytest.mark.asyncio
async def test_put_waits_for_space_and_async_for():
    ring = spead2.recv.asyncio.ChunkRingbuffer(2)

    async def produce():
        for i in range(6):
            await ring.put(small_chunk(i))
        ring.stop()

    producer = asyncio.create_task(produce())
    got = [chunk.chunk_id async for chunk in ring]
    await producer
    assert got == list(range(6))


@pytest.mark.asyncio
async def test_stopped():
    ring = spead2.recv.asyncio.ChunkRingbuffer(1)
    getter = asyncio.create_task(ring.get())
    await asyncio.sleep(0.02)
    ring.stop()
    with pytest.raises(spead2.Stopped):
        await asyncio.wait_for(getter, 5)
    with pytest.raises(spead2.Stopped):
        await ring.put(small_chunk())


@pytest.mark.asyncio
async def test_cancelled_get_then_get():
    ring = spead2.recv.asyncio.ChunkRingbuffer(1)
    getter = asyncio.create_task(ring.get())
    await asyncio.sleep(0.02)
    getter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getter
    ring.put_nowait(small_chunk(9))
    assert (await asyncio.wait_for(ring.get(), 5)).chunk_id == 9


@pytest.mark.asyncio
async def test_with_chunk_ring_stream():
    thread_pool = spead2.ThreadPool()
    data_ring = spead2.recv.asyncio.ChunkRingbuffer(4)
    free_ring = spead2.recv.asyncio.ChunkRingbuffer(4)
    config = spead2.recv.ChunkStreamConfig(items=[0x1000, 0x1001], place=plain_callable())
    stream = spead2.recv.ChunkRingStream(thread_pool, spead2.recv.StreamConfig(), config, data_ring, free_ring)
    assert stream.data_ringbuffer is data_ring
    for _ in range(4):
        await free_ring.put(new_chunk())
    stream.add_buffer_reader(stream_bytes(range(12)))
    got = []
    async for chunk in data_ring:
        got.append((chunk.chunk_id, list(chunk.present)))
        stream.add_free_chunk(chunk)
    assert got == [(i, [1, 1, 1, 1]) for i in range(3)]
    assert stream.stats["heaps"] == 12
