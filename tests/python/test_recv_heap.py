# SPDX-License-Identifier: LGPL-3.0-or-later
"""recv.Heap, IncompleteHeap and RawItem (API.md §2.4)."""

import gc
import weakref

import numpy as np
import pytest

import spead2
import spead2._spead2
import spead2.recv as recv
import spead2.send as send


@pytest.fixture
def thread_pool():
    return spead2.ThreadPool()


class _Item:
    """Minimal item for send.Heap.add_item."""

    def __init__(self, id, data, immediate=True):
        self.id = id
        self._data = data
        self._immediate = immediate

    def to_buffer(self):
        return self._data

    def allow_immediate(self):
        return self._immediate


def _receive(thread_pool, packets, ring_config=None, **kwargs):
    stream = recv.Stream(
        thread_pool, recv.StreamConfig(**kwargs), ring_config if ring_config is not None else recv.RingStreamConfig()
    )
    stream.add_buffer_reader(b"".join(packets))
    return list(stream), stream


def _heap(*items, flavour=None):
    heap = send.Heap(flavour) if flavour is not None else send.Heap()
    for item in items:
        heap.add_item(item)
    return heap


def test_heap_fields(thread_pool):
    flavour = spead2.Flavour(4, 64, 48, 0)
    heap = _heap(_Item(0x1000, b"\x01\x02\x03"), _Item(0x1001, bytes(range(100))), flavour=flavour)
    d = spead2.Descriptor(0x1000, "x", "an x", (3,), "u1")
    heap.add_descriptor(d)
    heap.add_start()
    (received,), _ = _receive(thread_pool, send.PacketGenerator(heap, 12345, 1472))
    assert type(received) is recv.Heap
    assert isinstance(received, spead2._spead2.recv.HeapBase)
    assert received.cnt == 12345
    assert received.flavour == flavour
    assert received.is_start_of_stream()
    assert not received.is_end_of_stream()
    items = {item.id: item for item in received.get_items()}
    assert spead2.DESCRIPTOR_ID not in items  # descriptors are left out
    assert sorted(items) == [spead2.STREAM_CTRL_ID, 0x1000, 0x1001]
    small = items[0x1000]
    assert small.is_immediate
    assert small.immediate_value == 0x010203
    assert bytes(small) == b"\x00\x00\x00\x01\x02\x03"  # HAB/8 = 6 bytes, big-endian
    large = items[0x1001]
    assert not large.is_immediate
    assert bytes(large) == bytes(range(100))
    assert items[spead2.STREAM_CTRL_ID].immediate_value == spead2.CTRL_STREAM_START
    (raw,) = received.get_descriptors()
    assert isinstance(raw, spead2._spead2.RawDescriptor)
    assert (raw.id, raw.name, raw.description) == (0x1000, b"x", b"an x")


def test_raw_item_buffer(thread_pool):
    heap = _heap(_Item(0x1000, bytes(range(50))))
    (received,), _ = _receive(thread_pool, send.PacketGenerator(heap, 1, 1472))
    (item,) = received.get_items()
    view = memoryview(item)
    assert view.format == "B"
    assert view.shape == (50,)
    assert view.ndim == 1
    assert view.c_contiguous
    assert not view.readonly  # as in spead2: received arrays are writable
    array = np.frombuffer(item, np.uint8)
    np.testing.assert_array_equal(array, np.arange(50, dtype=np.uint8))
    with pytest.raises(AttributeError):
        item.id = 3
    with pytest.raises(AttributeError):
        item.immediate_value = 3


def test_raw_item_keeps_heap_alive(thread_pool):
    heap = _heap(_Item(0x1000, bytes(range(200))))
    heaps, stream = _receive(thread_pool, send.PacketGenerator(heap, 1, 1472))
    (item,) = heaps[0].get_items()
    ref = weakref.ref(heaps[0])
    del heaps, stream
    gc.collect()
    assert ref() is not None
    view = memoryview(item)
    del item
    gc.collect()
    assert ref() is not None  # the memoryview holds the item, which holds the heap
    assert bytes(view) == bytes(range(200))
    del view
    gc.collect()
    assert ref() is None


def test_get_items_fresh_objects(thread_pool):
    heap = _heap(_Item(0x1000, b"ab"), _Item(0x1001, b"c" * 20))
    (received,), _ = _receive(thread_pool, send.PacketGenerator(heap, 1, 1472))
    first = received.get_items()
    second = received.get_items()
    assert [i.id for i in first] == [i.id for i in second]
    assert first[0] is not second[0]


def _multi_packet_heap():
    heap = _heap(_Item(0x1000, b"\x05", immediate=True), _Item(0x1001, bytes(range(256)) * 2, immediate=False))
    return heap, list(send.PacketGenerator(heap, 7, 128))


def test_incomplete_heap(thread_pool):
    heap, packets = _multi_packet_heap()
    assert len(packets) >= 4
    del packets[2]
    heaps, stream = _receive(
        thread_pool,
        packets,
        recv.RingStreamConfig(contiguous_only=False),
        allow_out_of_order=True,
    )
    (received,) = heaps
    assert type(received) is recv.IncompleteHeap
    assert received.cnt == 7
    assert received.heap_length == 512
    per_packet = 128 - 8 * 7  # header, 4 specials and 2 pointers in the first packet
    assert 0 < received.received_length < 512
    assert received.payload_ranges == []  # not requested
    items = received.get_items()
    assert [(i.id, i.is_immediate, i.immediate_value) for i in items] == [(0x1000, True, 5)]
    assert not received.is_start_of_stream()
    assert not received.is_end_of_stream()
    assert stream.stats.incomplete_heaps_flushed == 1
    del per_packet


def test_incomplete_heap_payload_ranges(thread_pool):
    heap, packets = _multi_packet_heap()
    lengths = []
    offsets = []
    for packet in packets:
        # PAYLOAD_OFFSET and PAYLOAD_LENGTH are the 3rd and 4th item pointers (5-byte values).
        offsets.append(int.from_bytes(packet[8 + 16 + 3 : 8 + 24], "big"))
        lengths.append(int.from_bytes(packet[8 + 24 + 3 : 8 + 32], "big"))
    heaps, _ = _receive(
        thread_pool,
        packets[:1] + packets[2:],
        recv.RingStreamConfig(contiguous_only=False, incomplete_keep_payload_ranges=True),
        allow_out_of_order=True,
    )
    (received,) = heaps
    assert received.payload_ranges == [(0, offsets[0] + lengths[0]), (offsets[2], 512)]
    assert received.received_length == 512 - lengths[1]


def test_incomplete_heap_in_order_ranges(thread_pool):
    """In in-order mode the ranges are synthesised as [(0, received_length)]."""
    heap, packets = _multi_packet_heap()
    heaps, _ = _receive(
        thread_pool,
        packets[:2],
        recv.RingStreamConfig(contiguous_only=False, incomplete_keep_payload_ranges=True),
    )
    (received,) = heaps
    assert received.payload_ranges == [(0, received.received_length)]


def test_contiguous_only_drops_incomplete(thread_pool):
    heap, packets = _multi_packet_heap()
    heaps, stream = _receive(thread_pool, packets[:2])
    assert heaps == []
    assert stream.stats.heaps == 1
    assert stream.stats.incomplete_heaps_flushed == 1
