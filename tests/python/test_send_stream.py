# SPDX-License-Identifier: LGPL-3.0-or-later
"""Synchronous send streams: BytesStream and InprocStream (API.md §3.1, §3.5, §3.8)."""

import errno
import gc
import threading
import time

import pytest

import spead2
import spead2.recv as recv
import spead2.send as send


@pytest.fixture
def thread_pool():
    return spead2.ThreadPool()


class _Item:
    def __init__(self, id, data):
        self.id = id
        self.data = data

    def to_buffer(self):
        return self.data

    def allow_immediate(self):
        return True


def _heap(payload=b"abc", flavour=None):
    heap = send.Heap(flavour) if flavour is not None else send.Heap()
    heap.add_item(_Item(0x1000, payload))
    return heap


def _cnts(data):
    """Heap cnts of the packets in a buffer, by receiving it."""
    stream = recv.Stream(spead2.ThreadPool(), recv.StreamConfig(max_heaps=16), recv.RingStreamConfig(heaps=64))
    stream.add_buffer_reader(data)
    return [heap.cnt for heap in stream]


def test_class_hierarchy():
    assert issubclass(send.BytesStream, send.Stream)
    assert issubclass(send.InprocStream, send.Stream)
    with pytest.raises(TypeError):
        send.Stream()


def test_bytes_stream(thread_pool):
    stream = send.BytesStream(thread_pool)
    assert stream.num_substreams == 1
    assert stream.getvalue() == b""
    heap = _heap()
    assert stream.send_heap(heap) == 57
    expected = b"".join(send.PacketGenerator(heap, 1, 1472))
    assert stream.getvalue() == expected
    assert stream.send_heap(heap=heap, cnt=-1, substream_index=0, rate=-1.0) == 57
    assert stream.getvalue() == expected + b"".join(send.PacketGenerator(heap, 2, 1472))


def test_bytes_stream_config(thread_pool):
    heap = _heap(bytes(1000))
    stream = send.BytesStream(thread_pool, send.StreamConfig(max_packet_size=259))
    n = stream.send_heap(heap)
    packets = list(send.PacketGenerator(heap, 1, 256))  # rounded down to a multiple of 8
    assert stream.getvalue() == b"".join(packets)
    assert n == sum(len(p) for p in packets)


def test_cnt_sequence(thread_pool):
    stream = send.BytesStream(thread_pool)
    heap = _heap()
    stream.send_heap(heap)
    stream.send_heap(heap, cnt=100)  # explicit: does not move the sequence
    stream.set_cnt_sequence(10, 5)
    stream.send_heap(heap)
    stream.send_heap(heap)
    stream.send_heap(heap, cnt=-5)  # any negative value is automatic
    assert _cnts(stream.getvalue()) == [1, 100, 10, 15, 20]
    with pytest.raises(ValueError, match="^step cannot be 0$"):
        stream.set_cnt_sequence(1, 0)
    with pytest.raises(TypeError):
        stream.set_cnt_sequence(-1, 1)


def test_cnt_wraps(thread_pool):
    stream = send.BytesStream(thread_pool)
    stream.set_cnt_sequence(2**40 - 1, 1)
    stream.send_heap(_heap())
    stream.send_heap(_heap())
    assert _cnts(stream.getvalue()) == [2**40 - 1, 0]


def _check_errno(excinfo, code, exc_type=OSError):
    assert type(excinfo.value) is exc_type
    assert excinfo.value.errno == code
    assert str(excinfo.value) == f"[Errno {code}] {errno_message(code)} [system:{code}]"


def errno_message(code):
    import os

    return os.strerror(code)


def test_send_heap_errors(thread_pool):
    stream = send.BytesStream(thread_pool)
    heap = _heap()
    with pytest.raises(OSError) as excinfo:
        stream.send_heap(heap, substream_index=1)
    _check_errno(excinfo, errno.EINVAL)
    with pytest.raises(OSError) as excinfo:
        stream.send_heap(heap, cnt=2**40)
    _check_errno(excinfo, errno.EINVAL)
    # HAB 48 allows larger explicit cnts
    stream.send_heap(_heap(flavour=spead2.Flavour(4, 64, 48, 0)), cnt=2**40)
    with pytest.raises(OSError):
        stream.send_heap(_heap(flavour=spead2.Flavour(4, 64, 48, 0)), cnt=2**48)
    with pytest.raises(TypeError):
        stream.send_heap(heap, substream_index=-1)
    # Nothing was sent for the failures, and the sequence did not move
    stream.send_heap(heap)
    assert _cnts(stream.getvalue()) == [2**40, 1]


def test_packet_size_too_small(thread_pool):
    stream = send.BytesStream(thread_pool, send.StreamConfig(max_packet_size=40))
    with pytest.raises(ValueError, match="^packet size is too small$"):
        stream.send_heap(_heap())
    heap = send.Heap()
    heap.repeat_pointers = True
    for i in range(30):
        heap.add_item(_Item(0x1000 + i, b"x"))
    stream = send.BytesStream(thread_pool, send.StreamConfig(max_packet_size=200))
    with pytest.raises(ValueError, match="^packet size is too small to repeat item pointers$"):
        stream.send_heap(heap)


@pytest.mark.parametrize("max_packet_size", [2**31, 2**58])
@pytest.mark.parametrize("kind", ["bytes", "inproc"])
def test_huge_max_packet_size(thread_pool, kind, max_packet_size):
    """As spead2: a packet size far beyond any heap is accepted and costs no memory up front."""
    config = send.StreamConfig(max_packet_size=max_packet_size)
    if kind == "bytes":
        stream = send.BytesStream(thread_pool, config)
    else:
        queue = spead2.InprocQueue()
        stream = send.InprocStream(thread_pool, [queue], config)
    assert stream.send_heap(send.Heap()) == 49
    assert stream.send_heap(_heap()) > 49
    if kind == "bytes":
        reference = send.BytesStream(thread_pool)
        reference.send_heap(send.Heap())
        reference.send_heap(_heap())
        assert stream.getvalue() == reference.getvalue()


def test_send_heaps(thread_pool):
    stream = send.BytesStream(thread_pool)
    h1 = _heap(b"a" * 100)
    h2 = _heap(b"b" * 100)
    refs = [send.HeapReference(h1), send.HeapReference(h2, cnt=50)]
    n = stream.send_heaps(refs, send.GroupMode.SERIAL)
    p1 = list(send.PacketGenerator(h1, 1, 1472))
    p2 = list(send.PacketGenerator(h2, 50, 1472))
    assert n == sum(map(len, p1 + p2))
    assert stream.getvalue() == b"".join(p1 + p2)
    assert stream.send_heaps(send.HeapReferenceList(refs), mode=send.GroupMode.ROUND_ROBIN) == n
    assert _cnts(stream.getvalue()) == [1, 50, 2, 50]


def test_send_heaps_round_robin(thread_pool):
    stream = send.BytesStream(thread_pool, send.StreamConfig(max_packet_size=128))
    h1 = _heap(bytes(300))
    h2 = _heap(bytes(100))
    stream.send_heaps([send.HeapReference(h1, cnt=1), send.HeapReference(h2, cnt=2)], send.GroupMode.ROUND_ROBIN)
    p1 = list(send.PacketGenerator(h1, 1, 128))
    p2 = list(send.PacketGenerator(h2, 2, 128))
    assert len(p1) == 4 and len(p2) == 2
    assert stream.getvalue() == b"".join([p1[0], p2[0], p1[1], p2[1], p1[2], p1[3]])


def test_send_heaps_all_or_nothing(thread_pool):
    stream = send.BytesStream(thread_pool)
    heap = _heap()
    with pytest.raises(OSError) as excinfo:
        stream.send_heaps([], send.GroupMode.SERIAL)
    _check_errno(excinfo, errno.EINVAL)
    with pytest.raises(OSError) as excinfo:
        stream.send_heaps([send.HeapReference(heap), send.HeapReference(heap, substream_index=3)], send.GroupMode.SERIAL)
    _check_errno(excinfo, errno.EINVAL)
    # More heaps than the queue holds (max_heaps=4): EAGAIN, nothing queued
    with pytest.raises(BlockingIOError) as excinfo:
        stream.send_heaps([send.HeapReference(heap)] * 5, send.GroupMode.ROUND_ROBIN)
    _check_errno(excinfo, errno.EAGAIN, BlockingIOError)
    assert stream.getvalue() == b""
    stream.send_heap(heap)
    assert _cnts(stream.getvalue()) == [1]  # the cnt sequence did not move
    with pytest.raises(TypeError):
        stream.send_heaps([heap], send.GroupMode.SERIAL)


def test_inproc_stream(thread_pool):
    queues = [spead2.InprocQueue(), spead2.InprocQueue()]
    stream = send.InprocStream(thread_pool, queues, send.StreamConfig(max_packet_size=9000))
    assert stream.num_substreams == 2
    assert stream.queues == queues
    assert stream.queues[0] is queues[0]
    receivers = []
    for q in queues:
        r = recv.Stream(thread_pool)
        r.add_inproc_reader(q)
        receivers.append(r)
    heap = _heap(bytes(5000))
    stream.send_heap(heap, substream_index=1)
    stream.send_heap(heap, substream_index=0)
    stream.send_heap(heap, substream_index=1)
    for q in queues:
        q.stop()
    assert [h.cnt for h in receivers[0]] == [2]
    assert [h.cnt for h in receivers[1]] == [1, 3]


def test_inproc_stream_stopped_queue(thread_pool):
    queue = spead2.InprocQueue()
    stream = send.InprocStream(thread_pool=thread_pool, queues=[queue])
    assert stream.send_heap(_heap()) == 57
    queue.stop()
    with pytest.raises(OSError) as excinfo:
        stream.send_heap(_heap())
    _check_errno(excinfo, errno.ECANCELED)


def test_inproc_stream_invalid(thread_pool):
    with pytest.raises(ValueError, match="^queues is empty$"):
        send.InprocStream(thread_pool, [])
    with pytest.raises(TypeError):
        send.InprocStream(thread_pool, [3])
    with pytest.raises(TypeError):
        send.InprocStream(None, [spead2.InprocQueue()])


def test_rate_limited_releases_gil(thread_pool):
    """A slow send blocks without holding the GIL: another Python thread keeps running."""
    stream = send.BytesStream(thread_pool, send.StreamConfig(rate=100e3, burst_size=1000))
    heap = _heap(bytes(2000))
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.002)

    thread = threading.Thread(target=tick)
    thread.start()
    start = time.monotonic()
    for _ in range(5):
        stream.send_heap(heap)
    elapsed = time.monotonic() - start
    done.set()
    thread.join()
    assert elapsed > 0.05  # ~10 kB at 100 kB/s
    assert len(ticks) > 10


def test_per_heap_rate(thread_pool):
    stream = send.BytesStream(thread_pool, send.StreamConfig(rate=50e3, burst_size=1000))
    heap = _heap(bytes(2000))
    start = time.monotonic()
    for _ in range(5):
        stream.send_heap(heap, rate=0.0)  # unlimited
    unlimited = time.monotonic() - start
    start = time.monotonic()
    for _ in range(5):
        stream.send_heap(heap)  # the stream's rate: ~10 kB at 50 kB/s
    limited = time.monotonic() - start
    assert limited > 0.1
    assert unlimited < limited / 2


def test_destroy(thread_pool):
    stream = send.BytesStream(thread_pool)
    stream.send_heap(_heap())
    del stream
    gc.collect()
