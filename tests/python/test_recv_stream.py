# SPDX-License-Identifier: LGPL-3.0-or-later
"""recv.Stream: readers, get/get_nowait/iteration, stop/start, ringbuffer (API.md §2.1, §2.3, §2.9)."""

import gc
import os
import select
import signal
import threading
import time

import numpy as np
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
        self._data = data

    def to_buffer(self):
        return self._data

    def allow_immediate(self):
        return True


def _packets(thread_pool, n_heaps, end=True, first_cnt=1, payload=b"x" * 100):
    """Bytes of n_heaps single-packet heaps with cnt first_cnt, first_cnt+1, ..., then a stop heap."""
    out = send.BytesStream(thread_pool)
    out.set_cnt_sequence(first_cnt, 1)
    heap = send.Heap()
    heap.add_item(_Item(0x1000, payload))
    for _ in range(n_heaps):
        out.send_heap(heap)
    if end:
        stop = send.Heap()
        stop.add_end()
        out.send_heap(stop)
    return out.getvalue()


def test_constants():
    assert recv.Stream.DEFAULT_UDP_MAX_SIZE == 9200
    assert recv.Stream.DEFAULT_UDP_BUFFER_SIZE == 8 * 1024 * 1024
    assert recv.Stream.DEFAULT_TCP_MAX_SIZE == 65536
    assert recv.Stream.DEFAULT_TCP_BUFFER_SIZE == 212992


def test_properties(thread_pool):
    config = recv.StreamConfig(max_heaps=3, stream_id=5)
    ring_config = recv.RingStreamConfig(heaps=7, contiguous_only=False)
    stream = recv.Stream(thread_pool, config, ring_config)
    assert stream.config.max_heaps == 3
    assert stream.config.stream_id == 5
    assert stream.ring_config.heaps == 7
    assert stream.ring_config.contiguous_only is False
    assert stream.ringbuffer.size() == 0
    assert stream.ringbuffer.capacity() == 7
    assert type(stream.ringbuffer).__qualname__ == "Stream.Ringbuffer"
    assert isinstance(stream.fd, int)
    stream.stop()


def test_keywords(thread_pool):
    stream = recv.Stream(thread_pool=thread_pool, config=recv.StreamConfig(), ring_config=recv.RingStreamConfig())
    stream.stop()


def test_thread_pool_required():
    with pytest.raises(TypeError):
        recv.Stream(None)


def test_get_and_stopped(thread_pool):
    stream = recv.Stream(thread_pool)
    stream.add_buffer_reader(_packets(thread_pool, 2))
    assert stream.get().cnt == 1
    assert stream.get().cnt == 2
    with pytest.raises(spead2.Stopped, match="^ring buffer has been stopped$"):
        stream.get()
    with pytest.raises(spead2.Stopped):
        stream.get()
    with pytest.raises(spead2.Stopped):
        stream.get_nowait()
    assert list(stream) == []


def test_get_nowait_empty(thread_pool):
    stream = recv.Stream(thread_pool)
    with pytest.raises(spead2.Empty, match="^ring buffer is empty$"):
        stream.get_nowait()
    stream.stop()
    with pytest.raises(spead2.Stopped):
        stream.get_nowait()


def test_iterate(thread_pool):
    stream = recv.Stream(thread_pool, ring_config=recv.RingStreamConfig(heaps=2))
    stream.add_buffer_reader(_packets(thread_pool, 10))
    assert [heap.cnt for heap in stream] == list(range(1, 11))
    stats = stream.stats
    assert stats.heaps == 10
    assert stats.packets == 11


def test_fd_readable(thread_pool):
    stream = recv.Stream(thread_pool)
    queue = spead2.InprocQueue()
    stream.add_inproc_reader(queue)
    assert select.select([stream.fd], [], [], 0)[0] == []
    for packet in send.PacketGenerator(_heap_with_item(), 1, 1472):
        queue.add_packet(packet)
    assert select.select([stream.fd], [], [], 5)[0] == [stream.fd]
    assert stream.get_nowait().cnt == 1
    queue.stop()
    assert list(stream) == []


def _heap_with_item():
    heap = send.Heap()
    heap.add_item(_Item(0x1000, b"abc"))
    return heap


def test_buffer_kept_alive(thread_pool):
    data = bytearray(_packets(thread_pool, 3))
    stream = recv.Stream(thread_pool, recv.StreamConfig(explicit_start=True))
    stream.add_buffer_reader(data)
    with pytest.raises(BufferError):
        data.append(0)  # the stream holds a buffer export
    del data
    gc.collect()
    stream.start()
    assert [heap.cnt for heap in stream] == [1, 2, 3]


def test_numpy_buffer(thread_pool):
    data = np.frombuffer(_packets(thread_pool, 2), np.uint8)
    stream = recv.Stream(thread_pool)
    stream.add_buffer_reader(data)
    assert [heap.cnt for heap in stream] == [1, 2]


def test_add_buffer_reader_not_buffer(thread_pool):
    stream = recv.Stream(thread_pool)
    with pytest.raises(TypeError):
        stream.add_buffer_reader(3)
    stream.stop()


def test_buffer_stops_at_garbage(thread_pool):
    data = _packets(thread_pool, 2, end=False) + b"\x00" * 64 + _packets(thread_pool, 2, end=False, first_cnt=10)
    stream = recv.Stream(thread_pool)
    stream.add_buffer_reader(data)
    assert [heap.cnt for heap in stream] == [1, 2]


def test_explicit_start(thread_pool):
    stream = recv.Stream(thread_pool, recv.StreamConfig(explicit_start=True))
    stream.add_buffer_reader(_packets(thread_pool, 2))
    time.sleep(0.05)
    with pytest.raises(spead2.Empty):
        stream.get_nowait()
    stream.start()
    stream.start()  # idempotent
    with pytest.raises(RuntimeError, match="^Cannot add readers after explicit start$"):
        stream.add_buffer_reader(b"")
    assert [heap.cnt for heap in stream] == [1, 2]


def test_add_reader_after_stop_ignored(thread_pool):
    stream = recv.Stream(thread_pool)
    stream.stop()
    stream.stop()  # idempotent
    stream.add_buffer_reader(_packets(thread_pool, 2))
    stream.add_inproc_reader(spead2.InprocQueue())
    assert list(stream) == []


def test_inproc_reader(thread_pool):
    queue = spead2.InprocQueue()
    sender = send.InprocStream(thread_pool, [queue])
    stream = recv.Stream(thread_pool)
    stream.add_inproc_reader(queue)
    for i in range(5):
        sender.send_heap(_heap_with_item())
    queue.stop()
    assert [heap.cnt for heap in stream] == [1, 2, 3, 4, 5]


def test_inproc_reader_drops_bad_packets(thread_pool):
    """An empty packet or a short one is dropped, not taken as a heap with a garbage header."""
    queue = spead2.InprocQueue()
    for packet in (b"", b"\x53\x04", bytes(8)):
        queue.add_packet(packet)
    for packet in send.PacketGenerator(_heap_with_item(), 7, 1472):
        queue.add_packet(packet)
    queue.stop()
    stream = recv.Stream(thread_pool)
    stream.add_inproc_reader(queue)
    heaps = list(stream)
    assert [(type(heap), heap.cnt) for heap in heaps] == [(recv.Heap, 7)]
    assert stream.stats["incomplete_heaps_flushed"] == 0


def test_stop_on_stop_item_false(thread_pool):
    stream = recv.Stream(thread_pool, recv.StreamConfig(stop_on_stop_item=False))
    queue = spead2.InprocQueue()
    stream.add_inproc_reader(queue)
    for packet in send.PacketGenerator(_heap_with_item(), 1, 1472):
        queue.add_packet(packet)
    end = send.Heap()
    end.add_end()
    for packet in send.PacketGenerator(end, 2, 1472):
        queue.add_packet(packet)
    first = stream.get()
    second = stream.get()
    assert (first.cnt, first.is_end_of_stream()) == (1, False)
    assert (second.cnt, second.is_end_of_stream()) == (2, True)
    with pytest.raises(spead2.Empty):
        stream.get_nowait()
    queue.stop()
    assert list(stream) == []


def test_full_ring_blocks_worker(thread_pool):
    stream = recv.Stream(thread_pool, ring_config=recv.RingStreamConfig(heaps=2))
    stream.add_buffer_reader(_packets(thread_pool, 5))
    deadline = time.monotonic() + 5
    while stream.stats.worker_blocked == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.stats.worker_blocked == 1  # updated at once, not per batch
    assert stream.ringbuffer.size() == 2
    assert [heap.cnt for heap in stream] == [1, 2, 3, 4, 5]
    # Later pushes race with the consumer: each finds the ring full or not
    assert 1 <= stream.stats.worker_blocked <= 3


def test_user_stop_unblocks_worker(thread_pool):
    stream = recv.Stream(thread_pool, ring_config=recv.RingStreamConfig(heaps=1))
    stream.add_buffer_reader(_packets(thread_pool, 5))
    deadline = time.monotonic() + 5
    while stream.stats.worker_blocked == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    stream.stop()  # must not hang on the blocked worker
    assert [heap.cnt for heap in stream] == [1]


def test_get_releases_gil(thread_pool):
    stream = recv.Stream(thread_pool)
    queue = spead2.InprocQueue()
    stream.add_inproc_reader(queue)

    def feed():
        time.sleep(0.1)
        for packet in send.PacketGenerator(_heap_with_item(), 7, 1472):
            queue.add_packet(packet)
        queue.stop()

    thread = threading.Thread(target=feed)
    thread.start()
    assert stream.get().cnt == 7  # would deadlock if get() held the GIL while waiting
    thread.join()
    assert list(stream) == []


def test_get_interruptible(thread_pool):
    stream = recv.Stream(thread_pool)
    queue = spead2.InprocQueue()
    stream.add_inproc_reader(queue)

    class Interrupt(Exception):
        pass

    def handler(signum, frame):
        raise Interrupt()

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        start = time.monotonic()
        with pytest.raises(Interrupt):
            stream.get()
        assert time.monotonic() - start < 5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    # The stream still works afterwards
    for packet in send.PacketGenerator(_heap_with_item(), 3, 1472):
        queue.add_packet(packet)
    assert stream.get().cnt == 3
    stream.stop()


def test_substreams(thread_pool):
    """Interleaved multi-packet heaps on two substreams, each with a window of one heap."""
    heaps = []
    for _ in range(4):
        heap = send.Heap()
        heap.add_item(_Item(0x1000, bytes(range(200))))
        heaps.append(heap)
    gens = [list(send.PacketGenerator(h, cnt, 100)) for cnt, h in zip([10, 11, 12, 13], heaps)]
    # Interleave 10 with 11, then 12 with 13
    packets = []
    for a, b in [(gens[0], gens[1]), (gens[2], gens[3])]:
        for pa, pb in zip(a, b):
            packets += [pa, pb]
    data = b"".join(packets)
    one = recv.Stream(thread_pool, recv.StreamConfig(max_heaps=1, substreams=2))
    one.add_buffer_reader(data)
    assert sorted(h.cnt for h in one) == [10, 11, 12, 13]
    assert one.stats.incomplete_heaps_evicted == 0
    # With one substream and a window of one heap, 10 and 12 are evicted by their partners after
    # their first packet; their later packets (offset != 0) cannot start a heap in in-order mode.
    other = recv.Stream(thread_pool, recv.StreamConfig(max_heaps=1))
    other.add_buffer_reader(data)
    assert [h.cnt for h in other] == [11, 13]
    assert other.stats.incomplete_heaps_evicted == 2


def test_destroy_while_blocked(thread_pool):
    stream = recv.Stream(thread_pool, ring_config=recv.RingStreamConfig(heaps=1))
    stream.add_buffer_reader(_packets(thread_pool, 5))
    deadline = time.monotonic() + 5
    while stream.stats.worker_blocked == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    del stream
    gc.collect()


def test_destroy_thread_pool_first():
    pool = spead2.ThreadPool()
    stream = recv.Stream(pool)
    queue = spead2.InprocQueue()
    stream.add_inproc_reader(queue)
    del pool  # the stream keeps the pool alive
    gc.collect()
    for packet in send.PacketGenerator(_heap_with_item(), 4, 1472):
        queue.add_packet(packet)
    assert stream.get().cnt == 4
    queue.stop()
    assert list(stream) == []


def test_atexit_stops_blocked_stream(tmp_path):
    """A worker blocked on a full ring, and a consumer never reading: interpreter exit must not hang."""
    script = tmp_path / "script.py"
    script.write_text(
        "import spead2, spead2.recv, spead2.send\n"
        "tp = spead2.ThreadPool()\n"
        "out = spead2.send.BytesStream(tp)\n"
        "h = spead2.send.Heap()\n"
        "for i in range(10):\n"
        "    out.send_heap(h)\n"
        "stream = spead2.recv.Stream(tp, ring_config=spead2.recv.RingStreamConfig(heaps=1))\n"
        "stream.add_buffer_reader(out.getvalue())\n"
        "print('done')\n"
    )
    import subprocess
    import sys

    env = dict(os.environ)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"


def test_max_heap_size_bounds_what_the_wire_can_allocate(thread_pool):
    """StreamConfig.max_heap_size (an extension: spead2 has no limit) drops a heap whose
    HEAP_LENGTH is larger, and keeps one that fits."""
    assert recv.StreamConfig().max_heap_size == 2**32 == recv.StreamConfig.DEFAULT_MAX_HEAP_SIZE
    with pytest.raises(ValueError, match="max_heap_size cannot be 0"):
        recv.StreamConfig(max_heap_size=0)
    data = _packets(thread_pool, 1, payload=b"x" * 2000)
    for limit, heaps in ((1000, 0), (2000, 1)):
        stream = recv.Stream(thread_pool, recv.StreamConfig(max_heap_size=limit))
        stream.add_buffer_reader(data)
        assert len(list(stream)) == heaps, limit
