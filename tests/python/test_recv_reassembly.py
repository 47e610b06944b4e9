# SPDX-License-Identifier: LGPL-3.0-or-later
"""Property test of heap reassembly: packets of several heaps from PacketGenerator, shuffled,
duplicated and dropped, fed through add_buffer_reader in out-of-order mode (API.md §2.5, §2.8)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spead2
import spead2.recv as recv
import spead2.send as send

HAB = 40


class _Item:
    def __init__(self, id, data, immediate):
        self.id = id
        self.data = data
        self.immediate = immediate

    def to_buffer(self):
        return self.data

    def allow_immediate(self):
        return self.immediate


def _parse(packet):
    n = int.from_bytes(packet[6:8], "big")
    fields = {}
    for i in range(n):
        word = int.from_bytes(packet[8 + 8 * i : 16 + 8 * i], "big")
        fields.setdefault((word >> HAB) & ((1 << (63 - HAB)) - 1), word & ((1 << HAB) - 1))
    return fields[spead2.HEAP_CNT_ID], fields[spead2.HEAP_LENGTH_ID], fields[
        spead2.PAYLOAD_OFFSET_ID
    ], fields[spead2.PAYLOAD_LENGTH_ID]


def _merge(ranges):
    out = []
    for start, end in sorted(ranges):
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


@st.composite
def scenarios(draw):
    packet_size = draw(st.sampled_from([56, 64, 96, 200]))
    n_heaps = draw(st.integers(1, 6))
    heaps = []
    for i in range(n_heaps):
        length = draw(st.integers(0, 600))
        payload = bytes((i * 37 + j) & 0xFF for j in range(length))
        heap = send.Heap()
        heap.add_item(_Item(0x1000, payload, False))
        heap.add_item(_Item(0x1001, bytes([i + 1]), True))
        packets = list(send.PacketGenerator(heap, i + 1, packet_size))
        # Per packet: 0 = keep, 1 = drop, 2 = keep twice. Duplicates only in heaps that lose a
        # packet: a duplicate arriving after its heap completed would start a new heap.
        actions = draw(st.lists(st.sampled_from([0, 1, 2]), min_size=len(packets), max_size=len(packets)))
        if 1 not in actions:
            actions = [0] * len(packets)
        heaps.append((payload, packets, actions))
    stream_packets = []
    for payload, packets, actions in heaps:
        for packet, action in zip(packets, actions):
            if action != 1:
                stream_packets.append(packet)
            if action == 2:
                stream_packets.append(packet)
    order = draw(st.permutations(range(len(stream_packets))))
    return packet_size, heaps, [stream_packets[i] for i in order]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_reassembly(scenario):
    packet_size, heaps, packets = scenario
    thread_pool = spead2.ThreadPool()
    stream = recv.Stream(
        thread_pool,
        recv.StreamConfig(max_heaps=len(heaps), allow_out_of_order=True),
        recv.RingStreamConfig(heaps=len(heaps) + 1, contiguous_only=False, incomplete_keep_payload_ranges=True),
    )
    stream.add_buffer_reader(b"".join(packets))
    received = {heap.cnt: heap for heap in stream}

    expected_complete = {}
    expected_incomplete = {}
    single = 0
    for i, (payload, sent, actions) in enumerate(heaps):
        kept = [_parse(p) for p, a in zip(sent, actions) if a != 1]
        if not kept:
            continue
        if 1 in actions:
            expected_incomplete[i + 1] = (kept[0][1], sum(k[3] for k in kept), _merge((k[2], k[2] + k[3]) for k in kept))
        else:
            expected_complete[i + 1] = payload
            single += len(sent) == 1
    assert sorted(received) == sorted(list(expected_complete) + list(expected_incomplete))
    for cnt, payload in expected_complete.items():
        heap = received[cnt]
        assert type(heap) is recv.Heap
        items = {item.id: item for item in heap.get_items()}
        if payload:
            assert bytes(items[0x1000]) == payload
        elif 0x1000 in items:
            # A zero-length item whose pointer arrives after the NULL padding pointer at the same
            # address is given the padding as its value (as spead2 does); otherwise it is dropped.
            value = bytes(items[0x1000])
            assert value == bytes(len(value)) and 0 < len(value) <= packet_size
        assert items[0x1001].immediate_value == cnt
    for cnt, (heap_length, received_length, ranges) in expected_incomplete.items():
        heap = received[cnt]
        assert type(heap) is recv.IncompleteHeap
        assert heap.heap_length == heap_length
        assert heap.received_length == received_length
        assert heap.payload_ranges == ranges
        for item in heap.get_items():
            assert item.is_immediate
    stats = stream.stats
    assert stats.heaps == len(received)
    assert stats.incomplete_heaps_flushed == len(expected_incomplete)
    assert stats.incomplete_heaps_evicted == 0
    assert stats.packets == len(packets)
    assert stats.batches == (1 if packets else 0)
    assert stats.max_batch == len(packets)
    assert stats.single_packet_heaps == single
    assert stats.worker_blocked == 0
