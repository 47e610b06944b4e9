# SPDX-License-Identifier: LGPL-3.0-or-later
"""asyncio access to chunk ringbuffers; re-exported as :class:`spead2.recv.asyncio.ChunkRingbuffer`."""

import asyncio

import spead2
import spead2.recv

__all__ = ["ChunkRingbuffer"]


class _FdWaiters:
    """Futures of the coroutines of one event loop waiting for one file descriptor.

    A reader callback is installed only while someone waits; it wakes every waiter, and each
    retries its non-blocking operation (losers wait again).
    """

    def __init__(self, loop, fd):
        self._loop = loop
        self._fd = fd
        self._futures = []

    def _ready(self):
        self._loop.remove_reader(self._fd)
        futures, self._futures = self._futures, []
        for future in futures:
            if not future.done():
                future.set_result(None)

    async def wait(self):
        future = self._loop.create_future()
        if not self._futures:
            self._loop.add_reader(self._fd, self._ready)
        self._futures.append(future)
        try:
            await future
        finally:
            if not future.done() or future.cancelled():
                # Cancelled: stop watching the fd if nobody else waits.
                if future in self._futures:
                    self._futures.remove(future)
                if not self._futures:
                    self._loop.remove_reader(self._fd)


class ChunkRingbuffer(spead2.recv.ChunkRingbuffer):
    """A :class:`spead2.recv.ChunkRingbuffer` with coroutines :meth:`get` and :meth:`put`.

    They wait on :attr:`data_fd` and :attr:`space_fd` with ``loop.add_reader`` (only while a
    coroutine waits), and raise :exc:`spead2.Stopped` once the ringbuffer is stopped (for
    :meth:`get`, after the chunks already queued). ``async for`` yields chunks until then.
    """

    def _waiters(self, fd):
        loop = asyncio.get_running_loop()
        try:
            table = self.__waiters
        except AttributeError:
            table = self.__waiters = {}
        key = (loop, fd)
        waiters = table.get(key)
        if waiters is None:
            waiters = table[key] = _FdWaiters(loop, fd)
        return waiters

    async def get(self):
        """Get a chunk from the ringbuffer asynchronously.

        Raises
        ------
        spead2.Stopped
            if the ringbuffer is stopped before a chunk becomes available
        """
        while True:
            try:
                return self.get_nowait()
            except spead2.Empty:
                await self._waiters(self.data_fd).wait()

    async def put(self, chunk):
        """Put a chunk into the ringbuffer asynchronously.

        Raises
        ------
        spead2.Stopped
            if the ringbuffer is stopped
        """
        while True:
            try:
                return self.put_nowait(chunk)
            except spead2.Full:
                await self._waiters(self.space_fd).wait()

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.get()
        except spead2.Stopped:
            raise StopAsyncIteration from None
