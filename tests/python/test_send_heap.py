# SPDX-License-Identifier: LGPL-3.0-or-later
"""send.Heap, PacketGenerator, HeapReference and HeapReferenceList (API.md §3.4, §3.5)."""

import gc
import json
import os
import subprocess
import sys
import weakref

import numpy as np
import pytest

import spead2
import spead2.recv
import spead2.send as send

REF_PYTHON = os.path.join(os.path.dirname(__file__), "..", "..", ".cache", "ref-venv", "bin", "python")


class _Item:
    def __init__(self, id, data, immediate=True):
        self.id = id
        self.data = data
        self.immediate = immediate
        self.calls = 0

    def to_buffer(self):
        self.calls += 1
        return self.data

    def allow_immediate(self):
        return self.immediate


def _fields(packet):
    """(heap cnt, heap length, payload offset, payload length) of a packet with HAB 40."""
    words = [int.from_bytes(packet[8 + 8 * i : 16 + 8 * i], "big") & (2**40 - 1) for i in range(4)]
    return tuple(words)


def test_defaults():
    heap = send.Heap()
    assert heap.flavour == spead2.Flavour()
    assert heap.repeat_pointers is False
    heap.repeat_pointers = True
    assert heap.repeat_pointers is True
    flavour = spead2.Flavour(4, 64, 48, spead2.BUG_COMPAT_PYSPEAD_0_5_2)
    assert send.Heap(flavour).flavour == flavour
    assert send.Heap(flavour=flavour).flavour == flavour
    with pytest.raises(TypeError):
        send.Heap(3)


def test_empty_heap():
    (packet,) = send.PacketGenerator(send.Heap(), 1, 1472)
    # header, 4 specials, a NULL address pointer and one byte of padding
    assert len(packet) == 8 + 5 * 8 + 1
    assert _fields(packet) == (1, 1, 0, 1)


def test_immediate_and_addressed():
    heap = send.Heap()
    heap.add_item(_Item(0x1000, b"abc"))
    heap.add_item(_Item(0x1001, b"abcdef"))  # 6 bytes > HAB/8: addressed
    heap.add_item(_Item(0x1002, b"xy", immediate=False))
    (packet,) = send.PacketGenerator(heap, 5, 1472)
    assert packet[:8] == b"\x53\x04\x03\x05\x00\x00\x00\x07"
    assert _fields(packet) == (5, 8, 0, 8)
    pointers = [int.from_bytes(packet[40 + 8 * i : 48 + 8 * i], "big") for i in range(3)]
    assert pointers == [(1 << 63) | (0x1000 << 40) | 0x616263, 0x1001 << 40, (0x1002 << 40) | 6]
    assert packet[64:] == b"abcdefxy"


def test_add_item_keeps_buffer(recwarn):
    data = bytearray(b"hello world")
    item = _Item(0x1000, data)
    heap = send.Heap()
    heap.add_item(item)
    assert item.calls == 1
    with pytest.raises(BufferError):
        data.append(0)  # exported to the heap
    data[0:5] = b"HELLO"  # zero copy: the heap sees changes
    del item, data
    gc.collect()
    (packet,) = send.PacketGenerator(heap, 1, 1472)
    assert packet.endswith(b"HELLO world")
    del heap
    gc.collect()


def test_add_item_buffer_released():
    array = np.arange(20, dtype=np.uint8)
    heap = send.Heap()
    heap.add_item(_Item(0x1000, array))
    ref = weakref.ref(array)
    del array
    gc.collect()
    assert ref() is not None
    del heap
    gc.collect()
    assert ref() is None


def test_add_item_invalid():
    heap = send.Heap()
    with pytest.raises(AttributeError):
        heap.add_item(3)
    with pytest.raises(TypeError):
        heap.add_item(_Item(0x1000, 3))


def test_add_spead2_item():
    item = spead2.Item(0x1234, "x", "", shape=(3,), dtype=np.uint16, value=np.array([1, 2, 3], np.uint16))
    heap = send.Heap()
    heap.add_item(item)
    (packet,) = send.PacketGenerator(heap, 1, 1472)
    assert packet.endswith(b"\x00\x01\x00\x02\x00\x03") or packet.endswith(b"\x01\x00\x02\x00\x03\x00")


def test_descriptor_and_control():
    heap = send.Heap()
    heap.add_descriptor(spead2.Descriptor(0x1001, "name", "description", (), "u8"))
    heap.add_start()
    heap.add_end()
    (packet,) = send.PacketGenerator(heap, 1, 1472)
    assert len(packet) == 220
    pointers = [int.from_bytes(packet[40 + 8 * i : 48 + 8 * i], "big") for i in range(3)]
    assert pointers[0] >> 40 == spead2.DESCRIPTOR_ID
    assert pointers[1] == (1 << 63) | (spead2.STREAM_CTRL_ID << 40) | spead2.CTRL_STREAM_START
    assert pointers[2] == (1 << 63) | (spead2.STREAM_CTRL_ID << 40) | spead2.CTRL_STREAM_STOP
    with pytest.raises(AttributeError):
        heap.add_descriptor(3)


def test_packet_generator():
    heap = send.Heap()
    heap.add_item(_Item(0x1000, bytes(range(256)) * 4, immediate=False))
    gen = send.PacketGenerator(heap, 9, 256)
    assert iter(gen) is gen
    packets = list(gen)
    assert list(gen) == []
    assert all(len(p) <= 256 for p in packets)
    assert [_fields(p)[2] for p in packets] == [0, 208, 424, 640, 856]
    assert all(_fields(p)[:2] == (9, 1024) for p in packets)
    assert b"".join(p[40 if i else 48 :] for i, p in enumerate(packets)) == bytes(range(256)) * 4


def test_packet_generator_keeps_heap():
    heap = send.Heap()
    heap.add_item(_Item(0x1000, b"abcdefgh"))
    gen = send.PacketGenerator(heap, 1, 1472)
    del heap
    gc.collect()
    assert len(list(gen)) == 1


def test_packet_generator_invalid():
    with pytest.raises(ValueError, match="^packet size is too small$"):
        send.PacketGenerator(send.Heap(), 1, 40)
    with pytest.raises(TypeError):
        send.PacketGenerator(send.Heap(), -1, 1472)
    with pytest.raises(TypeError):
        send.PacketGenerator(send.Heap(), 1, -1)
    heap = send.Heap()
    heap.repeat_pointers = True
    for i in range(30):
        heap.add_item(_Item(0x1000 + i, b"abc"))
    with pytest.raises(ValueError, match="^packet size is too small to repeat item pointers$"):
        send.PacketGenerator(heap, 1, 200)


def test_heap_reference():
    heap = send.Heap()
    ref = send.HeapReference(heap)
    assert (ref.cnt, ref.substream_index, ref.rate) == (-1, 0, -1.0)
    assert ref.heap is heap
    ref = send.HeapReference(heap, cnt=5, substream_index=2, rate=3.5)
    assert (ref.cnt, ref.substream_index, ref.rate) == (5, 2, 3.5)
    ref.cnt = 6
    ref.substream_index = 1
    ref.rate = 0.0
    assert (ref.cnt, ref.substream_index, ref.rate) == (6, 1, 0.0)
    with pytest.raises(AttributeError):
        ref.heap = heap
    with pytest.raises(TypeError):
        send.HeapReference(heap, 3)  # keyword-only
    with pytest.raises(TypeError):
        send.HeapReference(3)


def test_heap_reference_keeps_heap():
    heap = send.Heap()
    wr = weakref.ref(heap)
    ref = send.HeapReference(heap)
    del heap
    gc.collect()
    assert wr() is ref.heap


def test_heap_reference_list():
    heap = send.Heap()
    refs = [send.HeapReference(heap, cnt=i) for i in range(5)]
    hl = send.HeapReferenceList(refs)
    assert len(hl) == 5
    assert len(send.HeapReferenceList(tuple(refs))) == 5
    assert len(hl[::2]) == 3
    assert len(hl[1:3]) == 2
    assert len(hl[::-1]) == 5
    assert len(hl[10:]) == 0
    with pytest.raises(ValueError, match="^slice step cannot be zero$"):
        hl[::0]
    with pytest.raises(TypeError):
        hl[0]
    with pytest.raises(TypeError):
        send.HeapReferenceList([refs[0], 3])
    with pytest.raises(TypeError):
        send.HeapReferenceList(3)


_REF_SCRIPT = r"""
import json, sys, spead2, spead2.send as send, numpy as np
class I:
    def __init__(self, id, data, imm):
        self.id, self.data, self.imm = id, data, imm
    def to_buffer(self): return self.data
    def allow_immediate(self): return self.imm
out = []
for case in json.loads(sys.stdin.read()):
    flavour = spead2.Flavour(4, 64, case["hab"], 0)
    heap = send.Heap(flavour)
    heap.repeat_pointers = case["repeat"]
    for id, data, imm in case["items"]:
        heap.add_item(I(id, bytes.fromhex(data), imm))
    for id in case["descriptors"]:
        heap.add_descriptor(spead2.Descriptor(id, "n%d" % id, "d", (None, 2), format=[("i", 16)]))
    try:
        out.append([p.hex() for p in send.PacketGenerator(heap, case["cnt"], case["size"])])
    except ValueError as e:
        out.append(str(e))
print(json.dumps(out))
"""


@pytest.mark.skipif(not os.path.exists(REF_PYTHON), reason="reference spead2 not installed")
def test_packet_generator_matches_reference():
    rng = np.random.default_rng(1)
    cases = []
    for i in range(60):
        items = []
        for j in range(int(rng.integers(0, 6))):
            length = int(rng.choice([0, 1, 3, 5, 6, 8, 50, 700]))
            items.append([0x20 + j, rng.bytes(length).hex(), bool(rng.integers(0, 2))])
        cases.append(
            {
                "hab": int(rng.choice([40, 48, 56])),
                "repeat": bool(rng.integers(0, 4) == 0),
                "items": items,
                "descriptors": [0x60 + k for k in range(int(rng.integers(0, 2)))],
                "cnt": int(rng.integers(0, 2**32)),
                "size": int(rng.choice([56, 64, 100, 257, 1472])),
            }
        )
    result = subprocess.run(
        [REF_PYTHON, "-c", _REF_SCRIPT], input=json.dumps(cases), capture_output=True, text=True, cwd="/"
    )
    assert result.returncode == 0, result.stderr
    expected = json.loads(result.stdout)
    ours = subprocess.run(
        [sys.executable, "-c", _REF_SCRIPT],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    assert ours.returncode == 0, ours.stderr
    ours = json.loads(ours.stdout)
    for case, a, b in zip(cases, ours, expected):
        if a != b and isinstance(a, list) and isinstance(b, list):
            # The one known difference (see test_short_payload_with_spilled_padding_pointer):
            # spead2 4.5.1 misplaces item bytes next to NULL padding. Accept it only if our
            # packets carry the right values and the reference's demonstrably do not.
            assert _decoded_items(a, case) == _expected_items(case), case
            assert _decoded_items(b, case) != _expected_items(case), case
            continue
        assert a == b, case


def _expected_items(case):
    """The values a receiver must see: id -> bytes (immediates right-aligned in HAB/8 bytes)."""
    width = case["hab"] // 8
    out = {}
    for id, data, imm in case["items"]:
        value = bytes.fromhex(data)
        if imm and len(value) <= width:
            out[id] = value.rjust(width, b"\0")
        elif value:
            out[id] = value
    return out


def _decoded_items(packets, case):
    """Decodes hex packets with our receiver and returns id -> bytes of the case's items."""
    thread_pool = spead2.ThreadPool()
    stream = spead2.recv.Stream(thread_pool, spead2.recv.StreamConfig(max_heaps=1))
    stream.add_buffer_reader(b"".join(bytes.fromhex(p) for p in packets))
    wanted = {id for id, _, _ in case["items"]}
    return {
        item.id: bytes(item) for heap in stream for item in heap.get_items() if item.id in wanted
    }


def test_short_payload_with_spilled_padding_pointer():
    """A 5-byte addressed item whose NULL padding pointer spills into a second packet.

    The item's bytes sit at its address (0), followed by zero padding. spead2 4.5.1 differs here:
    it writes the 8-byte payload of the first packet as 00 00 00 90 91 92 93 94 (the value
    right-aligned, as for an immediate), so its own receiver decodes the item as 00 00 00 90 91.
    We keep the bytes where the item pointer says they are.
    """
    heap = send.Heap()
    heap.add_item(_Item(0x1000, bytes(range(0x90, 0x95)), immediate=False))
    heap.add_item(_Item(0x1001, b"\x05"))
    packets = list(send.PacketGenerator(heap, 5, 64))
    assert len(packets) == 2
    assert packets[0][-8:] == bytes(range(0x90, 0x95)) + bytes(3)
    assert _fields(packets[0]) == (5, 9, 0, 8)
    assert _fields(packets[1]) == (5, 9, 8, 1)
