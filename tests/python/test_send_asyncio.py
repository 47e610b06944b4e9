# SPDX-License-Identifier: LGPL-3.0-or-later
"""spead2.send.asyncio and the extension's *StreamAsyncio classes (loopback and in-process only).

Byte counts are checked against PacketGenerator (the packets the heap is cut into), errors against
their errno, and the fd / reader protocol against what the event loop is asked to watch.
"""

import asyncio
import errno
import gc
import select
import socket
import subprocess
import sys
import threading
import time
import weakref

import numpy as np
import pytest

import spead2
import spead2.recv
import spead2.send
import spead2.send.asyncio
from spead2._spead2.send import InprocStreamAsyncio, TcpStreamAsyncio, UdpStreamAsyncio

# A heap of this many payload bytes takes ~5 ms at SLOW_RATE: long enough to be seen in flight.
BIG = 100000
SLOW_RATE = 20e6
BURST = 2048  # bytes between rate checks: small, so that the time of a heap is ~size / rate
EMPTY_HEAP_BYTES = 49  # header, 4 special immediates, NULL pointer, 1 byte of padding


@pytest.fixture
def thread_pool():
    return spead2.ThreadPool(2)


def make_heap(size=BIG, value=0, flavour=None):
    ig = spead2.send.ItemGroup(flavour=flavour or spead2.Flavour())
    ig.add_item(0x1000, "x", "payload", shape=(size,), dtype=np.uint8, value=np.full(size, value, np.uint8))
    return ig.get_heap(descriptors="none", data="all")


def wire_bytes(heap, cnt=1, max_packet_size=spead2.send.StreamConfig.DEFAULT_MAX_PACKET_SIZE):
    return sum(len(p) for p in spead2.send.PacketGenerator(heap, cnt, max_packet_size))


def inproc_stream(thread_pool, queue=None, **config):
    queue = queue if queue is not None else spead2.InprocQueue()
    return spead2.send.asyncio.InprocStream(thread_pool, [queue], spead2.send.StreamConfig(**config)), queue


def received_cnts(thread_pool, queue):
    """Heap cnts in the queue (stopping it), read with the synchronous receiver."""
    queue.stop()
    stream = spead2.recv.Stream(thread_pool, spead2.recv.StreamConfig(max_heaps=8))
    stream.add_inproc_reader(queue)
    return [heap.cnt for heap in stream]


class ReaderLog:
    """Records add_reader/remove_reader calls on the running loop (the loop's own methods run)."""

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


# ---------------------------------------------------------------------------------------------
# High-level InprocStream


@pytest.mark.asyncio
async def test_async_send_heap_is_not_a_coroutine(thread_pool):
    stream, queue = inproc_stream(thread_pool)
    heap = make_heap(1000)
    future = stream.async_send_heap(heap)
    assert isinstance(future, asyncio.Future)
    assert await future == wire_bytes(heap)
    assert await stream.async_send_heap(spead2.send.Heap()) == EMPTY_HEAP_BYTES
    assert received_cnts(thread_pool, queue) == [1, 2]


@pytest.mark.asyncio
async def test_heaps_go_out_in_call_order(thread_pool):
    stream, queue = inproc_stream(thread_pool, max_heaps=16)
    heaps = [make_heap(3000 * (i % 3 + 1), value=i) for i in range(10)]
    futures = [stream.async_send_heap(h, cnt=100 + i) for i, h in enumerate(heaps)]
    results = await asyncio.gather(*futures)
    assert results == [wire_bytes(h, 100 + i) for i, h in enumerate(heaps)]
    assert received_cnts(thread_pool, queue) == list(range(100, 110))


@pytest.mark.asyncio
async def test_explicit_cnt_and_sequence(thread_pool):
    stream, queue = inproc_stream(thread_pool)
    stream.set_cnt_sequence(10, 5)
    await stream.async_send_heap(spead2.send.Heap())
    await stream.async_send_heap(spead2.send.Heap(), cnt=3)
    await stream.async_send_heap(spead2.send.Heap())
    assert received_cnts(thread_pool, queue) == [10, 3, 15]


@pytest.mark.asyncio
async def test_queue_full_is_blocking_io_error(thread_pool):
    stream, queue = inproc_stream(thread_pool, max_heaps=2, rate=SLOW_RATE, burst_size=BURST)
    f1 = stream.async_send_heap(make_heap())
    f2 = stream.async_send_heap(make_heap())
    f3 = stream.async_send_heap(make_heap())
    assert stream._active == 3  # failed sends count until their callback has run
    with pytest.raises(BlockingIOError) as exc_info:
        await f3
    assert exc_info.value.errno == errno.EAGAIN
    assert not f1.done()  # the full queue was reported while the first heaps were still going
    assert await f1 == await f2 == wire_bytes(make_heap())
    assert stream._active == 0
    # The rejected heap did not take a cnt.
    await stream.async_send_heap(spead2.send.Heap())
    assert received_cnts(thread_pool, queue) == [1, 2, 3]


@pytest.mark.asyncio
async def test_bad_substream_and_cnt_are_einval(thread_pool):
    stream, _ = inproc_stream(thread_pool)
    for kwargs in [dict(substream_index=1), dict(cnt=2**40)]:  # default flavour: 40-bit heap addresses
        with pytest.raises(OSError) as exc_info:
            await stream.async_send_heap(spead2.send.Heap(), **kwargs)
        assert exc_info.value.errno == errno.EINVAL
    assert stream._active == 0


@pytest.mark.asyncio
async def test_packet_size_too_small_raises_at_once(thread_pool):
    stream, _ = inproc_stream(thread_pool, max_packet_size=48)
    with pytest.raises(ValueError, match="packet size is too small"):
        stream.async_send_heap(spead2.send.Heap())
    assert stream._active == 0
    await stream.async_flush()


@pytest.mark.asyncio
async def test_stopped_queue_fails_the_future(thread_pool):
    stream, queue = inproc_stream(thread_pool)
    queue.stop()
    with pytest.raises(OSError):
        await stream.async_send_heap(spead2.send.Heap())
    assert stream._active == 0


@pytest.mark.asyncio
async def test_async_send_heaps(thread_pool):
    stream, queue = inproc_stream(thread_pool, max_heaps=4)
    heaps = [make_heap(2000, value=i) for i in range(3)]
    refs = [spead2.send.HeapReference(h, cnt=20 + i) for i, h in enumerate(heaps)]
    total = sum(wire_bytes(h, 20 + i) for i, h in enumerate(heaps))
    assert await stream.async_send_heaps(refs, spead2.send.GroupMode.ROUND_ROBIN) == total
    ref_list = spead2.send.HeapReferenceList(refs[::-1])
    assert await stream.async_send_heaps(ref_list, spead2.send.GroupMode.SERIAL) == total
    with pytest.raises(OSError) as exc_info:
        await stream.async_send_heaps([], spead2.send.GroupMode.SERIAL)
    assert exc_info.value.errno == errno.EINVAL
    # All or nothing: 5 heaps do not fit in 4 slots.
    with pytest.raises(BlockingIOError):
        await stream.async_send_heaps(refs + refs[:2], spead2.send.GroupMode.SERIAL)
    cnts = received_cnts(thread_pool, queue)
    assert sorted(cnts[:3]) == [20, 21, 22]
    assert cnts[3:] == [22, 21, 20]


@pytest.mark.asyncio
async def test_async_send_heaps_keeps_heaps_when_caller_list_changes(thread_pool):
    stream, queue = inproc_stream(thread_pool, rate=SLOW_RATE, burst_size=BURST)
    refs = [spead2.send.HeapReference(make_heap(value=i), cnt=i + 1) for i in range(2)]
    expected = sum(wire_bytes(r.heap, r.cnt) for r in refs)
    future = stream.async_send_heaps(refs, spead2.send.GroupMode.SERIAL)
    refs.clear()
    gc.collect()
    assert await future == expected
    assert received_cnts(thread_pool, queue) == [1, 2]


@pytest.mark.asyncio
async def test_async_flush_waits_for_heaps_queued_before_the_call(thread_pool):
    stream, _ = inproc_stream(thread_pool, rate=SLOW_RATE, burst_size=BURST)
    f1 = stream.async_send_heap(make_heap())
    flush = asyncio.ensure_future(stream.async_flush())
    await asyncio.sleep(0)  # the flush is now waiting
    f2 = stream.async_send_heap(make_heap())
    await flush
    assert f1.done()
    assert not f2.done()
    await f2
    assert stream._active == 0


@pytest.mark.asyncio
async def test_async_flush_ignores_rejected_sends(thread_pool):
    """The last *queued* heap counts: a rejected send after it does not shorten the wait."""
    stream, _ = inproc_stream(thread_pool, max_heaps=1, rate=SLOW_RATE, burst_size=BURST)
    f1 = stream.async_send_heap(make_heap())
    f2 = stream.async_send_heap(make_heap())  # queue full
    await asyncio.wait([f2], timeout=10)
    assert f2.done() and isinstance(f2.exception(), BlockingIOError)
    assert not f1.done()
    assert await stream.async_flush() is None
    assert f1.done()


@pytest.mark.asyncio
async def test_async_flush_without_sends_and_after_failures(thread_pool):
    stream, _ = inproc_stream(thread_pool)
    assert await stream.async_flush() is None
    failed = stream.async_send_heap(spead2.send.Heap(), substream_index=7)
    await stream.async_flush()  # nothing was queued: returns without waiting for the error
    with pytest.raises(OSError):
        await failed


@pytest.mark.asyncio
async def test_cancelling_futures_is_harmless(thread_pool):
    stream, queue = inproc_stream(thread_pool, rate=SLOW_RATE, burst_size=BURST)
    f1 = stream.async_send_heap(make_heap(), cnt=1)
    f2 = stream.async_send_heap(make_heap(), cnt=2)
    f1.cancel()
    await stream.async_flush()  # the last queued future is fine
    assert await f2 == wire_bytes(make_heap(), 2)
    f3 = stream.async_send_heap(make_heap(), cnt=3)
    f3.cancel()
    await stream.async_flush()  # the last queued future is cancelled: no CancelledError here
    stream.flush()
    for _ in range(100):
        if stream._active == 0:
            break
        await asyncio.sleep(0.01)
    assert stream._active == 0
    assert await stream.async_send_heap(spead2.send.Heap(), cnt=4) == EMPTY_HEAP_BYTES
    assert received_cnts(thread_pool, queue) == [1, 2, 3, 4]  # cancelled heaps are still sent


@pytest.mark.asyncio
async def test_cancelling_async_flush_leaves_the_heap(thread_pool):
    stream, _ = inproc_stream(thread_pool, rate=SLOW_RATE, burst_size=BURST)
    f1 = stream.async_send_heap(make_heap())
    flush = asyncio.ensure_future(stream.async_flush())
    await asyncio.sleep(0)
    flush.cancel()
    with pytest.raises(asyncio.CancelledError):
        await flush
    assert not f1.cancelled()
    assert await f1 == wire_bytes(make_heap())


@pytest.mark.asyncio
async def test_heap_released_once_sent(thread_pool):
    stream, _ = inproc_stream(thread_pool, rate=SLOW_RATE, burst_size=BURST)
    heap = make_heap()
    alive = weakref.ref(heap)
    future = stream.async_send_heap(heap)
    del heap
    gc.collect()
    assert alive() is not None  # the stream holds it while it is in flight
    await future
    gc.collect()
    assert alive() is None
    heap = make_heap()
    alive = weakref.ref(heap)
    future = stream.async_send_heaps([spead2.send.HeapReference(heap)], spead2.send.GroupMode.SERIAL)
    del heap
    await future
    gc.collect()
    assert alive() is None


@pytest.mark.asyncio
async def test_active_count_and_reader_only_while_in_flight(thread_pool, monkeypatch):
    loop = asyncio.get_running_loop()
    log = ReaderLog(monkeypatch, loop)
    stream, _ = inproc_stream(thread_pool, max_heaps=8, rate=SLOW_RATE, burst_size=BURST)
    assert stream._active == 0
    futures = [stream.async_send_heap(make_heap()) for _ in range(3)]
    assert stream._active == 3
    assert log.calls == [("add", stream.fd)]
    await futures[0]
    assert 0 < stream._active < 3
    await asyncio.gather(*futures)
    assert stream._active == 0
    assert log.calls == [("add", stream.fd), ("remove", stream.fd)]
    await stream.async_send_heap(spead2.send.Heap())
    assert log.calls == [("add", stream.fd), ("remove", stream.fd)] * 2


@pytest.mark.asyncio
async def test_flush_blocks_until_sent_then_futures_resolve_on_the_loop(thread_pool):
    stream, _ = inproc_stream(thread_pool, rate=SLOW_RATE, burst_size=BURST)
    futures = [stream.async_send_heap(make_heap()) for _ in range(2)]
    start = time.monotonic()
    stream.flush()
    assert time.monotonic() - start >= 0.8 * 2 * BIG / SLOW_RATE
    assert not any(f.done() for f in futures)  # callbacks only run on the event loop
    assert await asyncio.gather(*futures) == [wire_bytes(make_heap())] * 2


@pytest.mark.asyncio
async def test_per_heap_rate(thread_pool):
    stream, _ = inproc_stream(thread_pool, burst_size=BURST)  # unlimited
    start = time.monotonic()
    await stream.async_send_heap(make_heap(), rate=SLOW_RATE)
    assert time.monotonic() - start >= 0.8 * BIG / SLOW_RATE


def test_constructor_arguments(thread_pool):
    queues = [spead2.InprocQueue(), spead2.InprocQueue()]
    stream = spead2.send.asyncio.InprocStream(thread_pool, queues)
    assert stream.queues == queues
    assert stream.num_substreams == 2
    assert isinstance(stream, spead2.send.Stream)
    assert stream._active == 0
    assert isinstance(stream.fd, int)
    with pytest.raises(TypeError):
        spead2.send.asyncio.InprocStream(thread_pool, queues, spead2.send.StreamConfig(), 5)
    assert spead2.send.asyncio.UdpStream.DEFAULT_BUFFER_SIZE == 524288
    assert spead2.send.asyncio.TcpStream.DEFAULT_BUFFER_SIZE == 212992


# ---------------------------------------------------------------------------------------------
# UDP and TCP over loopback


@pytest.fixture
def udp_sink():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def read_datagrams(sock, total):
    got = []
    while sum(len(d) for d in got) < total:
        got.append(sock.recv(65536))
    return got


@pytest.mark.asyncio
async def test_udp_send(thread_pool, udp_sink):
    stream = spead2.send.asyncio.UdpStream(
        thread_pool, [udp_sink.getsockname()], spead2.send.StreamConfig(max_packet_size=9000)
    )
    heap = make_heap(20000)
    expected = list(spead2.send.PacketGenerator(heap, 1, 9000))
    assert await stream.async_send_heap(heap) == sum(len(p) for p in expected)
    await stream.async_flush()
    assert read_datagrams(udp_sink, sum(len(p) for p in expected)) == expected


@pytest.mark.asyncio
async def test_udp_send_from_caller_socket(thread_pool, udp_sink):
    src = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    src.bind(("127.0.0.1", 0))
    stream = spead2.send.asyncio.UdpStream(thread_pool, src, [udp_sink.getsockname()], spead2.send.StreamConfig())
    src_addr = src.getsockname()
    src.close()  # the stream has its own duplicate
    n = await stream.async_send_heap(spead2.send.Heap())
    data, addr = udp_sink.recvfrom(65536)
    assert n == len(data) == EMPTY_HEAP_BYTES
    assert addr == src_addr


@pytest.mark.asyncio
async def test_udp_message_too_long(thread_pool, udp_sink):
    stream = spead2.send.asyncio.UdpStream(
        thread_pool, [udp_sink.getsockname()], spead2.send.StreamConfig(max_packet_size=70000)
    )
    with pytest.raises(OSError) as exc_info:
        await stream.async_send_heap(make_heap(66000))  # one packet, over the 65507-byte limit
    assert exc_info.value.errno == errno.EMSGSIZE
    # The stream carries on.
    assert await stream.async_send_heap(spead2.send.Heap()) == EMPTY_HEAP_BYTES
    assert udp_sink.recv(65536) == next(iter(spead2.send.PacketGenerator(spead2.send.Heap(), 2, 70000)))


def test_udp_constructor_errors(thread_pool):
    with pytest.raises(ValueError):
        spead2.send.asyncio.UdpStream(thread_pool, [])
    with pytest.raises(ValueError):
        spead2.send.asyncio.UdpStream(thread_pool, [("127.0.0.1", 8888), ("::1", 8888)])
    with pytest.raises(ValueError):  # a TTL needs multicast endpoints
        spead2.send.asyncio.UdpStream(thread_pool, [("127.0.0.1", 8888)], spead2.send.StreamConfig(), 0, 1)
    with pytest.raises(TypeError):
        spead2.send.asyncio.UdpStream(thread_pool, [("127.0.0.1", 65536)])


UDP_BAD_ARGS = [
    ([],),
    ([("127.0.0.1", 8888), ("::1", 8888)],),
    ([("127.0.0.1", 8888)], spead2.send.StreamConfig(), 0, 1),  # a TTL needs multicast endpoints
    ([("127.0.0.1", 8888)], spead2.send.StreamConfig(), 0, 1, "127.0.0.1"),
    ([("::1", 8888)], spead2.send.StreamConfig(), 0, 1, 0),
    ([("239.1.2.3", 8888)], spead2.send.StreamConfig(), 0, 1, "::1"),
    ([("127.0.0.1", 65536)],),
    ([("127.0.0.1", 8888)], spead2.send.StreamConfig(), -1),
]


def _outcome(fn):
    try:
        fn()
    except TypeError as exc:  # nanobind's message lists the overloads (and default objects' addresses)
        return TypeError, None
    except Exception as exc:
        return type(exc), str(exc)
    return None


@pytest.mark.parametrize("args", UDP_BAD_ARGS, ids=range(len(UDP_BAD_ARGS)))
def test_udp_constructor_errors_match_sync_class(thread_pool, args):
    sync = _outcome(lambda: spead2.send.UdpStream(thread_pool, *args))
    asyn = _outcome(lambda: spead2.send.asyncio.UdpStream(thread_pool, *args))
    assert sync is not None
    assert asyn == sync


def test_socket_arguments_must_be_of_the_right_kind(thread_pool):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp_sock:
        with pytest.raises(TypeError):
            spead2.send.asyncio.UdpStream(thread_pool, tcp_sock, [("127.0.0.1", 8888)])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp_sock:
        with pytest.raises(TypeError):
            spead2.send.asyncio.TcpStream(thread_pool, udp_sock)
    with pytest.raises(TypeError):
        spead2.send.asyncio.TcpStream(thread_pool, "not a socket")


@pytest.fixture
def tcp_server():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    yield server
    server.close()


def read_all(conn):
    chunks = []
    while True:
        data = conn.recv(1 << 20)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


@pytest.mark.asyncio
async def test_tcp_connect_and_send(thread_pool, tcp_server):
    stream = await spead2.send.asyncio.TcpStream.connect(thread_pool, [tcp_server.getsockname()])
    assert isinstance(stream, spead2.send.asyncio.TcpStream)
    assert stream._active == 0
    conn, _ = tcp_server.accept()
    heaps = [make_heap(5000, value=i) for i in range(3)]
    futures = [stream.async_send_heap(h) for h in heaps]
    results = await asyncio.gather(*futures)
    expected = [b"".join(spead2.send.PacketGenerator(h, i + 1, 1472)) for i, h in enumerate(heaps)]
    assert results == [len(e) for e in expected]
    del stream
    gc.collect()
    assert read_all(conn) == b"".join(expected)
    conn.close()


@pytest.mark.asyncio
async def test_tcp_connect_keyword_arguments(thread_pool, tcp_server):
    stream = await spead2.send.asyncio.TcpStream.connect(
        thread_pool,
        endpoints=[tcp_server.getsockname()],
        config=spead2.send.StreamConfig(max_packet_size=8000),
        buffer_size=65536,
        interface_address="127.0.0.1",
    )
    conn, addr = tcp_server.accept()
    assert addr[0] == "127.0.0.1"
    assert await stream.async_send_heap(make_heap(20000)) == wire_bytes(make_heap(20000), 1, 8000)
    conn.close()


@pytest.mark.asyncio
async def test_tcp_connect_refused(thread_pool):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = sock.getsockname()  # nobody listens here once closed
    with pytest.raises(ConnectionRefusedError):
        await spead2.send.asyncio.TcpStream.connect(thread_pool, [address])


@pytest.mark.asyncio
async def test_tcp_connect_bad_endpoints(thread_pool, tcp_server):
    with pytest.raises(ValueError):
        await spead2.send.asyncio.TcpStream.connect(
            thread_pool, [tcp_server.getsockname(), tcp_server.getsockname()]
        )


@pytest.mark.asyncio
async def test_tcp_from_connected_socket(thread_pool, tcp_server):
    client = socket.create_connection(tcp_server.getsockname())
    conn, _ = tcp_server.accept()
    stream = spead2.send.asyncio.TcpStream(thread_pool, client, spead2.send.StreamConfig())
    client.close()
    heap = make_heap(3000)
    assert await stream.async_send_heap(heap, cnt=9) == wire_bytes(heap, 9)
    del stream
    gc.collect()
    assert read_all(conn) == b"".join(spead2.send.PacketGenerator(heap, 9, 1472))
    conn.close()


@pytest.mark.asyncio
async def test_tcp_peer_gone(thread_pool, tcp_server):
    stream = await spead2.send.asyncio.TcpStream.connect(thread_pool, [tcp_server.getsockname()])
    conn, _ = tcp_server.accept()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()  # RST
    await asyncio.sleep(0.05)
    with pytest.raises(OSError) as exc_info:
        for _ in range(20):
            await asyncio.wait_for(stream.async_send_heap(make_heap(1000)), 5)
    assert exc_info.value.errno in (errno.EPIPE, errno.ECONNRESET)


# ---------------------------------------------------------------------------------------------
# Low-level classes (spead2._spead2.send.*StreamAsyncio)


def readable(fd, timeout=0.0):
    return bool(select.select([fd], [], [], timeout)[0])


def wait_callbacks(stream, results, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    while len(results) < n and time.monotonic() < deadline:
        if readable(stream.fd, 0.1):
            stream.process_callbacks()
    return results


def test_low_level_callbacks_run_in_process_callbacks(thread_pool):
    queue = spead2.InprocQueue()
    config = spead2.send.StreamConfig(max_heaps=2, rate=SLOW_RATE, burst_size=BURST)
    stream = InprocStreamAsyncio(thread_pool, [queue], config)
    results = []

    def callback(exc, bytes_transferred):
        results.append((exc, bytes_transferred, threading.current_thread() is threading.main_thread()))

    heap = make_heap()
    assert stream.async_send_heap(heap, callback) is True
    assert stream.async_send_heap(heap, callback, cnt=7) is True
    assert stream.async_send_heap(heap, callback) is False  # full while the first two are going
    assert stream.async_send_heap(heap, callback, substream_index=1) is False
    stream.flush()
    time.sleep(0.05)
    assert results == []  # nothing runs until process_callbacks
    assert readable(stream.fd)
    stream.process_callbacks()
    assert not readable(stream.fd)
    ok = [r for r in results if r[0] is None]
    errors = sorted(r[0].errno for r in results if r[0] is not None)
    assert ok == [(None, wire_bytes(heap, 1), True), (None, wire_bytes(heap, 7), True)]
    assert errors == sorted([errno.EINVAL, errno.EAGAIN])
    assert all(r[2] for r in results)
    assert isinstance([r[0] for r in results if r[0] is not None and r[0].errno == errno.EAGAIN][0], BlockingIOError)
    stream.process_callbacks()  # nothing pending: returns at once
    assert len(results) == 4


def test_low_level_send_heaps_and_exceptions_in_callbacks(thread_pool):
    queue = spead2.InprocQueue()
    stream = InprocStreamAsyncio(thread_pool, [queue])
    results = []

    def bad(exc, bytes_transferred):
        raise ZeroDivisionError("from callback")

    heap = spead2.send.Heap()
    refs = [spead2.send.HeapReference(heap), spead2.send.HeapReference(heap)]
    assert stream.async_send_heaps(refs, bad, spead2.send.GroupMode.SERIAL)
    assert stream.async_send_heaps(
        spead2.send.HeapReferenceList(refs), lambda *a: results.append(a), spead2.send.GroupMode.ROUND_ROBIN
    )
    assert not stream.async_send_heaps([], lambda *a: results.append(a), spead2.send.GroupMode.SERIAL)
    stream.flush()
    time.sleep(0.05)
    with pytest.raises(ZeroDivisionError):
        stream.process_callbacks()
    # The exception did not stop the later callbacks.
    assert sorted((r[0] is None, r[1]) for r in results) == [(False, 0), (True, 2 * EMPTY_HEAP_BYTES)]
    assert not readable(stream.fd)
    with pytest.raises(TypeError):
        stream.async_send_heaps([heap], bad, spead2.send.GroupMode.SERIAL)
    with pytest.raises(TypeError):
        stream.async_send_heap(refs[0], bad)


def test_low_level_udp(thread_pool, udp_sink):
    stream = UdpStreamAsyncio(thread_pool, [udp_sink.getsockname()], spead2.send.StreamConfig(), 0, "127.0.0.1")
    results = []
    assert stream.async_send_heap(spead2.send.Heap(), lambda *a: results.append(a))
    assert wait_callbacks(stream, results, 1) == [(None, EMPTY_HEAP_BYTES)]
    assert len(udp_sink.recv(65536)) == EMPTY_HEAP_BYTES


def test_low_level_tcp_connect_callback(thread_pool, tcp_server):
    results = []

    def callback(*args):
        results.append((args, threading.current_thread() is threading.main_thread()))

    stream = TcpStreamAsyncio(callback, thread_pool, [tcp_server.getsockname()])
    assert wait_callbacks(stream, results, 1) == [((None,), True)]
    sent = []
    assert stream.async_send_heap(spead2.send.Heap(), lambda *a: sent.append(a))
    assert wait_callbacks(stream, sent, 1) == [(None, EMPTY_HEAP_BYTES)]

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = sock.getsockname()
    results.clear()
    stream = TcpStreamAsyncio(callback, thread_pool, [address])
    wait_callbacks(stream, results, 1)
    assert len(results) == 1
    ((exc,), on_main) = results[0]
    assert isinstance(exc, ConnectionRefusedError) and on_main
    # Heaps queued on a failed connection fail too.
    failed = []
    stream.async_send_heap(spead2.send.Heap(), lambda *a: failed.append(a))
    wait_callbacks(stream, failed, 1)
    assert isinstance(failed[0][0], OSError) and failed[0][1] == 0


def test_low_level_tcp_destroyed_while_connecting(thread_pool):
    """Dropping a stream before its connect completes must neither crash nor call Python late."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = sock.getsockname()
    results = []
    for _ in range(20):
        stream = TcpStreamAsyncio(lambda *a: results.append(a), thread_pool, [address])
        del stream
    time.sleep(0.1)
    assert results == []


# ---------------------------------------------------------------------------------------------
# Lifetime


def test_abandoned_stream_is_collected(thread_pool):
    """A stream dropped with heaps in flight and an event loop that no longer runs forms a cycle
    (loop -> fd reader -> stream -> pending callbacks -> futures -> loop); the GC must see it."""
    loop = asyncio.new_event_loop()

    async def start():
        stream, _ = inproc_stream(thread_pool, rate=SLOW_RATE, burst_size=BURST)
        heap = make_heap()
        futures = [stream.async_send_heap(heap) for _ in range(3)]
        assert stream._active == 3
        return weakref.ref(stream), weakref.ref(heap), futures

    stream_ref, heap_ref, futures = loop.run_until_complete(start())
    del futures, loop
    gc.collect()
    assert stream_ref() is None
    assert heap_ref() is None  # released once the stream had sent it


EXIT_SCRIPT = r"""
import asyncio, socket, sys
import numpy as np
import spead2, spead2.send, spead2.send.asyncio

thread_pool = spead2.ThreadPool()
keep = []

async def main(mode):
    if mode == "in_flight":
        config = spead2.send.StreamConfig(rate=10e6, max_heaps=8)
        stream = spead2.send.asyncio.InprocStream(thread_pool, [spead2.InprocQueue()], config)
        ig = spead2.send.ItemGroup()
        ig.add_item(0x1000, "x", "x", shape=(100000,), dtype=np.uint8, value=np.zeros(100000, np.uint8))
        keep.append([stream.async_send_heap(ig.get_heap()) for _ in range(5)])
    else:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        keep.append(server)
        keep.append(asyncio.ensure_future(spead2.send.asyncio.TcpStream.connect(thread_pool, [server.getsockname()])))
        await asyncio.sleep(0)

asyncio.new_event_loop().run_until_complete(main(sys.argv[1]))
print("exiting")
"""


@pytest.mark.parametrize("mode", ["in_flight", "connecting"])
def test_interpreter_exit_with_sends_pending(mode):
    """Exit with futures never awaited: no hang, no crash, and nothing leaked (nanobind reports
    leaked instances at exit)."""
    result = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, mode], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "exiting\n"
    assert "leaked" not in result.stderr
