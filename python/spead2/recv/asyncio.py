# SPDX-License-Identifier: LGPL-3.0-or-later
"""Receive SPEAD with asyncio: :py:class:`Stream` has a coroutine :py:meth:`Stream.get`."""

import asyncio
import collections
import time

import spead2
import spead2.recv

from ._chunk_asyncio import ChunkRingbuffer

ChunkRingbuffer.__module__ = __name__  # where users (and pickle, and reprs) find it, as in spead2

__all__ = ["ChunkRingbuffer", "Stream"]


class Stream(spead2.recv.Stream):
    """Stream where :py:meth:`get` is a coroutine that returns the next heap.

    The constructor arguments are those of :py:class:`spead2.recv.Stream`.

    Waiters are served first come, first served. Each waiter is a future holding a one-element
    list (emptied by :py:meth:`get`, so the heap is not kept alive by the future). The event loop
    watches the ringbuffer's file descriptor (readable while a heap is ready or the stream has
    stopped) only while someone is waiting.

    ``async for`` yields to the event loop whenever it waits for a heap, and otherwise at least
    every ``_yield_interval`` seconds (0.2 ms) while heaps are ready: a pass through the loop
    costs several microseconds, more than receiving a small heap, and a bounded interval keeps
    other tasks running as well as a yield per heap would.
    """

    _yield_interval = 200e-6

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._waiters = collections.deque()
        # Heaps handed to a waiter that was cancelled before it could take them; served first.
        self._returned = collections.deque()
        self._reader_loop = None
        # time.monotonic() before which ``async for`` may return a ready heap without yielding.
        self._next_yield = 0.0

    def _start_listening(self, loop):
        if self._reader_loop is None:
            loop.add_reader(self.fd, self._process)
            self._reader_loop = loop

    def _stop_listening(self):
        if self._reader_loop is not None:
            self._reader_loop.remove_reader(self.fd)
            self._reader_loop = None

    def _next_heap(self):
        if self._returned:
            return self._returned.popleft()
        return self.get_nowait()

    def _process(self):
        """Hand ready heaps to the waiters, in order (called when the fd is readable)."""
        waiters = self._waiters
        while waiters:
            waiter = waiters[0]
            if waiter.done():  # cancelled
                waiters.popleft()
                continue
            try:
                heap = self._next_heap()
            except spead2.Empty:
                break
            except spead2.Stopped as exc:
                while waiters:
                    waiter = waiters.popleft()
                    if not waiter.done():
                        waiter.set_exception(spead2.Stopped(*exc.args))
                break
            waiters.popleft()
            waiter.set_result([heap])
        if not waiters:
            self._stop_listening()

    def _take_ready(self):
        """A heap that is ready and ours to take (nobody waits ahead of us), else None.

        Taking it at once and only yielding saves watching the fd for it (two epoll_ctl calls
        and a poll per heap)."""
        if self._waiters:
            return None
        try:
            return self._next_heap()
        except (spead2.Empty, spead2.Stopped):
            return None  # wait (the fd of a stopped stream is readable)

    def _give_back(self, heap):
        """Keeps @a heap for the next taker: the one that took it was cancelled."""
        self._returned.appendleft(heap)
        if self._waiters:
            asyncio.get_running_loop().call_soon(self._process)

    async def get(self):
        """Coroutine that waits for the next heap and returns it.

        It always yields to the event loop at least once, even when a heap is ready. Raises
        :py:exc:`spead2.Stopped` once the stream has stopped and every heap has been returned.
        """
        # The fast path is written out here and in _next rather than shared through a coroutine:
        # a second coroutine per heap costs about as much as the rest of the fast path.
        heap = self._take_ready()
        if heap is None:
            return await self._wait(False)
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            self._give_back(heap)
            raise
        return heap

    async def _next(self):
        """The next heap for ``async for``: yields only every ``_yield_interval`` while heaps are
        ready, and raises StopAsyncIteration once the stream has stopped."""
        heap = self._take_ready()
        if heap is None:
            return await self._wait(True)
        if time.monotonic() >= self._next_yield:
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                self._give_back(heap)
                raise
            self._next_yield = time.monotonic() + self._yield_interval
        return heap

    async def _wait(self, iterating):
        """Waits for a heap behind the other waiters; when @a iterating, raises
        StopAsyncIteration instead of Stopped, as ``async for`` needs."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiters.append(future)
        if self._reader_loop is not loop:
            self._stop_listening()  # only if a previous loop was left watching
            self._start_listening(loop)
        if self._returned:
            loop.call_soon(self._process)  # the fd does not count these heaps
        try:
            holder = await future
        except spead2.Stopped:
            if iterating:
                raise StopAsyncIteration from None
            raise
        except asyncio.CancelledError:
            # If the heap was already handed over, keep it for the next waiter rather than lose it.
            if future.done() and not future.cancelled() and future.exception() is None:
                holder = future.result()
                if holder:
                    self._give_back(holder.pop())
            raise
        if iterating:
            self._next_yield = time.monotonic() + self._yield_interval
        return holder.pop()

    def __aiter__(self):
        return self

    def __anext__(self):
        return self._next()
