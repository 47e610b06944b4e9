# SPDX-License-Identifier: LGPL-3.0-or-later
"""spead2.recv.asyncio.Stream: coroutine get(), FIFO waiters, cancellation, Stopped, async for.

Heaps come from an InprocQueue filled by the synchronous InprocStream (or the asyncio one), so
the tests control exactly when each heap becomes available.
"""

import asyncio
import time

import numpy as np
import pytest

import spead2
import spead2.recv
import spead2.recv.asyncio
import spead2.send
import spead2.send.asyncio


@pytest.fixture
def thread_pool():
    return spead2.ThreadPool(2)


class Link:
    """A sync sender into an InprocQueue and an asyncio receive stream reading it."""

    def __init__(self, thread_pool, heaps=8, **recv_kwargs):
        self.queue = spead2.InprocQueue()
        self.sender = spead2.send.InprocStream(thread_pool, [self.queue], spead2.send.StreamConfig(max_heaps=8))
        self.stream = spead2.recv.asyncio.Stream(
            thread_pool, spead2.recv.StreamConfig(max_heaps=4, **recv_kwargs), spead2.recv.RingStreamConfig(heaps=heaps)
        )
        self.stream.add_inproc_reader(self.queue)

    def send(self, cnt, value=None):
        ig = spead2.send.ItemGroup()
        ig.add_item(0x1000, "x", "a value", shape=(), dtype=np.uint32, value=cnt if value is None else value)
        self.sender.send_heap(ig.get_heap(descriptors="all", data="all"), cnt=cnt)

    def wait_ready(self, n, timeout=5.0):
        """Block until the ring holds @a n heaps (the reader works on another thread)."""
        deadline = time.monotonic() + timeout
        while self.stream.ringbuffer.size() < n:
            assert time.monotonic() < deadline, "heaps did not arrive"
            time.sleep(0.001)


class ReaderLog:
    def __init__(self, monkeypatch, loop):
        self.calls = []
        add, remove = loop.add_reader, loop.remove_reader

        def add_reader(fd, *args):
            self.calls.append(("add", fd))
            return add(fd, *args)

        def remove_reader(fd):
            self.calls.append(("remove", fd))
            return remove(fd)

        monkeypatch.setattr(loop, "add_reader", add_reader)
        monkeypatch.setattr(loop, "remove_reader", remove_reader)


def test_is_a_recv_stream(thread_pool):
    stream = spead2.recv.asyncio.Stream(thread_pool)
    assert isinstance(stream, spead2.recv.Stream)
    stream = spead2.recv.asyncio.Stream(
        thread_pool, config=spead2.recv.StreamConfig(max_heaps=3), ring_config=spead2.recv.RingStreamConfig(heaps=5)
    )
    assert stream.config.max_heaps == 3
    assert stream.ring_config.heaps == 5
    assert spead2.recv.asyncio.ChunkRingbuffer is not None


@pytest.mark.asyncio
async def test_get_returns_heaps_then_stopped(thread_pool):
    link = Link(thread_pool)
    for cnt in (1, 2, 3):
        link.send(cnt)
    link.queue.stop()
    heaps = [await link.stream.get() for _ in range(3)]
    assert [h.cnt for h in heaps] == [1, 2, 3]
    ig = spead2.ItemGroup()
    ig.update(heaps[2])
    assert ig["x"].value == 3
    for _ in range(2):  # and again: it stays stopped
        with pytest.raises(spead2.Stopped):
            await link.stream.get()


@pytest.mark.asyncio
async def test_async_for(thread_pool):
    link = Link(thread_pool)
    for cnt in range(1, 6):
        link.send(cnt)
    link.queue.stop()
    assert [heap.cnt async for heap in link.stream] == [1, 2, 3, 4, 5]
    assert [heap.cnt async for heap in link.stream] == []


@pytest.mark.asyncio
async def test_get_waits_for_a_heap(thread_pool):
    link = Link(thread_pool)
    task = asyncio.ensure_future(link.stream.get())
    await asyncio.sleep(0.05)
    assert not task.done()
    link.send(7)
    heap = await asyncio.wait_for(task, 5)
    assert heap.cnt == 7


@pytest.mark.asyncio
async def test_get_yields_once_even_when_a_heap_is_ready(thread_pool):
    link = Link(thread_pool)
    link.send(1)
    link.wait_ready(1)
    ran = []
    asyncio.get_running_loop().call_soon(ran.append, True)
    heap = await link.stream.get()
    assert heap.cnt == 1
    assert ran == [True]  # the loop ran the callback scheduled before get()


@pytest.mark.parametrize(("interval", "batched"), [(3600.0, True), (0.0, False)])
@pytest.mark.asyncio
async def test_async_for_yields_every_interval(thread_pool, interval, batched):
    """async for over ready heaps yields on its first heap and then once per _yield_interval
    (get() always yields: test above)."""
    link = Link(thread_pool)
    link.stream._yield_interval = interval
    for cnt in range(1, 6):
        link.send(cnt)
    link.queue.stop()
    link.wait_ready(5)
    seen, ticks = [], []
    loop = asyncio.get_running_loop()

    async def consume():
        async for heap in link.stream:
            seen.append(heap.cnt)

    def tick():
        ticks.append(len(seen))  # how many heaps the consumer had at this pass of the loop
        if not task.done():
            loop.call_soon(tick)

    task = asyncio.ensure_future(consume())
    loop.call_soon(tick)
    await asyncio.wait_for(task, 5)
    assert seen == [1, 2, 3, 4, 5]
    if batched:
        assert not {1, 2, 3, 4} & set(ticks)  # no pass of the loop between ready heaps
    else:
        assert {0, 1, 2, 3, 4} <= set(ticks)  # a pass after every heap


@pytest.mark.asyncio
async def test_concurrent_waiters_are_served_in_order(thread_pool):
    link = Link(thread_pool)
    tasks = []
    for i in range(4):
        tasks.append(asyncio.ensure_future(link.stream.get()))
        await asyncio.sleep(0)  # each get() registers before the next
    await asyncio.sleep(0.01)
    for cnt in (11, 12, 13, 14):
        link.send(cnt)
    heaps = await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert [h.cnt for h in heaps] == [11, 12, 13, 14]


@pytest.mark.asyncio
async def test_concurrent_waiters_with_heaps_already_queued(thread_pool):
    link = Link(thread_pool)
    for cnt in (1, 2, 3):
        link.send(cnt)
    link.wait_ready(3)
    tasks = [asyncio.ensure_future(link.stream.get()) for _ in range(3)]
    heaps = await asyncio.gather(*tasks)
    assert [h.cnt for h in heaps] == [1, 2, 3]


@pytest.mark.asyncio
async def test_cancelled_waiters_are_skipped(thread_pool):
    link = Link(thread_pool)
    first = asyncio.ensure_future(link.stream.get())
    await asyncio.sleep(0)
    second = asyncio.ensure_future(link.stream.get())
    await asyncio.sleep(0)
    third = asyncio.ensure_future(link.stream.get())
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    link.send(1)
    link.send(2)
    assert (await asyncio.wait_for(second, 5)).cnt == 1
    assert (await asyncio.wait_for(third, 5)).cnt == 2
    assert first.cancelled()


@pytest.mark.asyncio
async def test_cancel_with_a_timeout_then_get_again(thread_pool):
    link = Link(thread_pool)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(link.stream.get(), 0.02)
    link.send(5)
    assert (await asyncio.wait_for(link.stream.get(), 5)).cnt == 5


@pytest.mark.asyncio
async def test_heap_handed_to_a_cancelled_waiter_is_not_lost(thread_pool):
    """A waiter cancelled after its heap was handed over (before it resumed) gives the heap back.

    Specific to this implementation (it calls the private fd callback to make the race certain).
    """
    link = Link(thread_pool)
    waiter = asyncio.ensure_future(link.stream.get())
    await asyncio.sleep(0)
    link.send(1)
    link.send(2)
    link.wait_ready(2)
    link.stream._process()  # what the fd callback does: hands heap 1 to the waiter
    waiter.cancel()  # before the waiter runs again
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert (await link.stream.get()).cnt == 1
    assert (await link.stream.get()).cnt == 2


@pytest.mark.asyncio
async def test_get_cancelled_while_yielding_with_a_ready_heap_keeps_it(thread_pool):
    """get() takes a ready heap before its one yield; cancelled there, it gives the heap back
    (spead2 4.5.1 loses it)."""
    link = Link(thread_pool)
    link.send(1)
    link.send(2)
    link.wait_ready(2)
    task = asyncio.ensure_future(link.stream.get())
    await asyncio.sleep(0)  # the task has started and is yielding once
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [(await link.stream.get()).cnt for _ in range(2)] == [1, 2]


@pytest.mark.asyncio
async def test_stop_wakes_every_waiter(thread_pool):
    link = Link(thread_pool)
    tasks = [asyncio.ensure_future(link.stream.get()) for _ in range(3)]
    await asyncio.sleep(0.01)
    link.send(1)
    link.stream.stop()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    # The heap may or may not have made it into the ring before the stop; the rest see Stopped.
    stopped = [r for r in results if isinstance(r, spead2.Stopped)]
    heaps = [r for r in results if isinstance(r, spead2.recv.Heap)]
    assert len(stopped) + len(heaps) == 3
    assert len(stopped) >= 2
    assert results[: len(heaps)] == heaps  # heaps go to the earliest waiters


@pytest.mark.asyncio
async def test_network_stop_ends_async_for(thread_pool):
    link = Link(thread_pool)
    received = []

    async def consume():
        async for heap in link.stream:
            received.append(heap.cnt)

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.01)
    for cnt in (1, 2):
        link.send(cnt)
    await asyncio.sleep(0.01)
    link.send(3)
    link.sender.send_heap(spead2.send.ItemGroup().get_end())
    await asyncio.wait_for(task, 5)
    assert received == [1, 2, 3]


@pytest.mark.asyncio
async def test_reader_only_while_waiting(thread_pool, monkeypatch):
    loop = asyncio.get_running_loop()
    log = ReaderLog(monkeypatch, loop)
    link = Link(thread_pool)
    fd = link.stream.fd
    assert log.calls == []
    task = asyncio.ensure_future(link.stream.get())
    await asyncio.sleep(0.01)
    assert log.calls == [("add", fd)]
    other = asyncio.ensure_future(link.stream.get())
    await asyncio.sleep(0.01)
    assert log.calls == [("add", fd)]  # one reader for every waiter
    link.send(1)
    link.send(2)
    assert [h.cnt for h in await asyncio.wait_for(asyncio.gather(task, other), 5)] == [1, 2]
    assert log.calls == [("add", fd), ("remove", fd)]
    # A heap left in the ring while nobody waits does not keep the reader (nor wake the loop).
    link.send(3)
    link.wait_ready(1)
    await asyncio.sleep(0.01)
    assert log.calls == [("add", fd), ("remove", fd)]
    assert (await link.stream.get()).cnt == 3
    # Whether get() watches the fd for a heap that is already there is its business, but it must
    # not leave the reader behind.
    assert log.calls[2:] in ([], [("add", fd), ("remove", fd)])


@pytest.mark.asyncio
async def test_end_to_end_with_asyncio_sender(thread_pool):
    queue = spead2.InprocQueue()
    sender = spead2.send.asyncio.InprocStream(thread_pool, [queue], spead2.send.StreamConfig(max_heaps=4))
    stream = spead2.recv.asyncio.Stream(thread_pool, spead2.recv.StreamConfig(), spead2.recv.RingStreamConfig(heaps=2))
    stream.add_inproc_reader(queue)
    ig = spead2.send.ItemGroup()
    ig.add_item(0x1000, "x", "a value", shape=(1000,), dtype=np.int32)

    async def produce():
        for i in range(50):
            ig["x"].value = np.full(1000, i, np.int32)
            await sender.async_send_heap(ig.get_heap())
        await sender.async_send_heap(ig.get_end())

    async def consume():
        values = []
        received = spead2.ItemGroup()
        async for heap in stream:
            received.update(heap)
            values.append(int(received["x"].value[0]))
        return values

    _, values = await asyncio.wait_for(asyncio.gather(produce(), consume()), 30)
    assert values == list(range(50))
    assert stream.stats.heaps == 50
