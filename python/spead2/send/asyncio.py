# SPDX-License-Identifier: LGPL-3.0-or-later
"""Send SPEAD with asyncio: sends return futures, completed on the event loop.

The extension's ``*StreamAsyncio`` classes queue each heap at once and report its completion
through a file descriptor; :meth:`process_callbacks` then runs the callbacks on the event loop
thread. The loop watches that descriptor only while heaps are in flight.
"""

import asyncio

from spead2._spead2.send import InprocStreamAsyncio as _InprocStreamAsyncio
from spead2._spead2.send import TcpStreamAsyncio as _TcpStreamAsyncio
from spead2._spead2.send import UdpStreamAsyncio as _UdpStreamAsyncio

try:
    from spead2._spead2.send import UdpIbvStreamAsyncio as _UdpIbvStreamAsyncio
except ImportError:
    _UdpIbvStreamAsyncio = None

try:
    from spead2._spead2.send import UdpXdpStreamAsyncio as _UdpXdpStreamAsyncio
except ImportError:
    _UdpXdpStreamAsyncio = None

__all__ = ["InprocStream", "TcpStream", "UdpStream"]


def _get_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop()


def _set_result(future, result):
    # The future may have been cancelled meanwhile: that is allowed and changes nothing else.
    if not future.done():
        future.set_result(result)


def _set_exception(future, exc):
    if not future.done():
        future.set_exception(exc)


class _InFlight:
    """Counts the sends whose callbacks have not run, and watches the fd while there are any.

    Kept apart from the stream so that the callbacks (held by the C++ stream until they run)
    do not refer to the stream itself.
    """

    __slots__ = ("active", "loop", "fd", "process")

    def __init__(self, fd):
        self.active = 0
        self.loop = None
        self.fd = fd
        self.process = None

    def add(self, loop, process):
        if self.active == 0:
            loop.add_reader(self.fd, process)
            self.loop = loop
        self.active += 1

    def done(self):
        self.active -= 1
        if self.active == 0:
            self.loop.remove_reader(self.fd)
            self.loop = None


class _AsyncStreamMixin:
    """The asyncio methods, on top of one of the extension's ``*StreamAsyncio`` classes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._in_flight = _InFlight(self.fd)
        self._last_queued_future = None

    @property
    def _active(self):
        """Number of sends whose futures are not yet resolved (tests read it)."""
        return self._in_flight.active

    def _async_send(self, call):
        """Issue a send through ``call(callback)``; returns the future for its byte count."""
        loop = _get_loop()
        future = loop.create_future()
        in_flight = self._in_flight

        def callback(exc, bytes_transferred):
            if exc is not None:
                _set_exception(future, exc)
            else:
                _set_result(future, bytes_transferred)
            in_flight.done()

        # If this raises (e.g. the packet size is too small) no callback is pending.
        queued = call(callback)
        in_flight.add(loop, self.process_callbacks)
        if queued:
            self._last_queued_future = future
        return future

    def async_send_heap(self, heap, cnt=-1, substream_index=0, rate=-1.0):
        """Send a heap asynchronously. This is *not* a coroutine: the heap is queued at once (so
        the order of calls is the order on the wire) and a future is returned.

        Parameters
        ----------
        heap : :py:class:`spead2.send.Heap`
            Heap to send
        cnt : int, optional
            Heap cnt (defaults to the stream's automatic sequence)
        substream_index : int, optional
            Substream on which to send the heap
        rate : float, optional
            Rate for this heap in bytes/s (negative: the stream's rate, 0: unlimited)

        Returns
        -------
        asyncio.Future
            Resolves to the number of bytes sent, or fails with OSError (BlockingIOError if the
            queue was full).
        """
        return self._async_send(
            lambda callback: super(_AsyncStreamMixin, self).async_send_heap(
                heap, callback, cnt, substream_index, rate
            )
        )

    def async_send_heaps(self, heaps, mode):
        """Send a group of heaps (a list of :py:class:`spead2.send.HeapReference` or a
        :py:class:`spead2.send.HeapReferenceList`) asynchronously, all or nothing. Not a
        coroutine: returns a future for the total number of bytes.
        """
        return self._async_send(
            lambda callback: super(_AsyncStreamMixin, self).async_send_heaps(heaps, callback, mode)
        )

    async def async_flush(self):
        """Wait until the heaps queued before this call have been sent. Heaps queued while
        waiting are not waited for; failed sends and cancelled futures do not raise here.
        """
        future = self._last_queued_future
        if future is not None:
            await asyncio.wait([future])


class UdpStream(_AsyncStreamMixin, _UdpStreamAsyncio):
    """SPEAD over UDP with asynchronous sends.

    The constructors are those of :py:class:`spead2.send.UdpStream`.

    Parameters
    ----------
    thread_pool : :py:class:`spead2.ThreadPool`
        Thread pool handling the I/O
    endpoints : list[tuple[str, int]]
        Peer endpoints (one per substream)
    config : :py:class:`spead2.send.StreamConfig`
        Stream configuration
    buffer_size : int
        Socket buffer size (a warning is logged if the OS limits it)
    interface_address : str
        Source address to bind to (optional)
    """


class InprocStream(_AsyncStreamMixin, _InprocStreamAsyncio):
    """SPEAD over the in-process transport with asynchronous sends.

    Heaps can still be lost when more than the stream's ``max_heaps`` are in flight: await the
    futures (or size the queue for everything) to avoid that.

    Parameters
    ----------
    thread_pool : :py:class:`spead2.ThreadPool`
        Thread pool handling the I/O
    queues : list[:py:class:`spead2.InprocQueue`]
        One queue per substream
    config : :py:class:`spead2.send.StreamConfig`
        Stream configuration
    """


class TcpStream(_AsyncStreamMixin, _TcpStreamAsyncio):
    """SPEAD over TCP with asynchronous connect and sends.

    Use :py:meth:`connect` to connect asynchronously. The constructor takes a socket that the
    caller has already connected.

    Parameters
    ----------
    thread_pool : :py:class:`spead2.ThreadPool`
        Thread pool handling the I/O
    socket : :py:class:`socket.socket`
        Connected TCP socket (it is duplicated; the caller may close its own)
    config : :py:class:`spead2.send.StreamConfig`
        Stream configuration
    """

    @classmethod
    async def connect(cls, *args, **kwargs):
        """Connect and return the stream. The arguments are those of
        :py:class:`spead2.send.TcpStream` (``thread_pool, endpoints, config=StreamConfig(),
        buffer_size=DEFAULT_BUFFER_SIZE, interface_address=''``). Raises OSError (e.g.
        ConnectionRefusedError) if the connection fails.
        """
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def callback(exc):
            if exc is not None:
                _set_exception(future, exc)
            else:
                _set_result(future, None)

        stream = cls(callback, *args, **kwargs)
        # Nothing else can be in flight yet: the caller does not have the stream.
        loop.add_reader(stream.fd, stream.process_callbacks)
        try:
            await future
        finally:
            loop.remove_reader(stream.fd)
        return stream


if _UdpIbvStreamAsyncio is not None:

    class UdpIbvStream(_AsyncStreamMixin, _UdpIbvStreamAsyncio):
        """SPEAD over UDP with ibverbs and asynchronous sends (see
        :py:class:`spead2.send.UdpIbvStream`)."""

    __all__.append("UdpIbvStream")


if _UdpXdpStreamAsyncio is not None:

    class UdpXdpStream(_AsyncStreamMixin, _UdpXdpStreamAsyncio):
        """SPEAD over AF_XDP with asynchronous sends (see :py:class:`spead2.send.UdpXdpStream`)."""

    __all__.append("UdpXdpStream")
