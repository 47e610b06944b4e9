# SPDX-License-Identifier: LGPL-3.0-or-later
"""Differential tests of Python-level behaviour against the reference spead2 4.5.1 (black box).

Each case is one script, run unchanged under our package (``sys.executable``) and under the
reference interpreter (``-E -s``, see conftest.py); both must print exactly the same lines. The
scripts cover what user programs observe through the public API:

* ``ItemGroup.update`` over real received heaps: which items change, their versions and values, the
  descriptor replacement rules (same ID, same name, both), descriptor-only updates, reserved IDs,
  unknown IDs (the warning text), ``new_order``;
* reassembly statistics and the heaps a ring stream yields after lossy input (dropped, reordered,
  duplicated and interleaved packets) through ``add_buffer_reader``, with several configurations;
* the exception type, and the message where it is part of the API, for invalid arguments across the
  public API (configs, Flavour, Descriptor, ThreadPool, MemoryPool, HeapReferenceList, ...).

TypeError messages for wrong argument types are compared by type only: their text comes from the
binding library (pybind11 there, nanobind here) and names its signatures.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from conftest import HERE

# Helpers shared by every script (pure spead2 public API, nothing implementation-specific).
PRELUDE = textwrap.dedent(
    """
    import logging
    import sys
    import zlib

    import numpy as np
    import spead2
    import spead2.recv
    import spead2.send

    FLAVOUR = spead2.Flavour(4, 64, 48, 0)

    def attempt(label, fn, message=True):
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - the type is what we print
            text = f" {exc}" if message and not isinstance(exc, TypeError) else ""
            print(f"{label}: {type(exc).__name__}{text}")
        else:
            text = repr(result)
            if " at 0x" in text:  # a default repr: the address differs from run to run
                text = f"<{type(result).__name__}>"
            print(f"{label}: ok {text}" if result is not None else f"{label}: ok")

    def packets_of(heap, cnt, max_packet_size=1472):
        return [bytes(p) for p in spead2.send.PacketGenerator(heap, cnt, max_packet_size)]

    def receive(data, config=None, ring_config=None):
        pool = spead2.ThreadPool()
        stream = spead2.recv.Stream(
            pool,
            config if config is not None else spead2.recv.StreamConfig(),
            ring_config if ring_config is not None else spead2.recv.RingStreamConfig(heaps=64),
        )
        stream.add_buffer_reader(data)
        heaps = list(stream)
        # The reference may hand out the last heap before it has folded the batch's counters into
        # the stats; stop() waits for the batch, so the snapshot after it is final in both.
        stream.stop()
        stats = stream.stats
        return heaps, stats

    def describe_heap(heap):
        if isinstance(heap, spead2.recv.IncompleteHeap):
            items = sorted((i.id, i.immediate_value if i.is_immediate else bytes(i)) for i in heap.get_items())
            return (
                f"incomplete cnt={heap.cnt} length={heap.heap_length} received={heap.received_length} "
                f"ranges={heap.payload_ranges} items={items}"
            )
        items = sorted((i.id, len(bytes(i)), zlib.crc32(bytes(i))) for i in heap.get_items())
        return f"heap cnt={heap.cnt} items={items} descriptors={len(heap.get_descriptors())}"

    def print_stats(stats):
        print("stats", [(name, value) for name, value in stats.items()])

    class Collect(logging.Handler):
        def __init__(self):
            super().__init__()
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())
    """
)

ITEM_GROUP_UPDATES = """
collect = Collect()
logging.getLogger("spead2").addHandler(collect)

def item(id, name, shape=(), dtype=None, format=None, value=None, description="d"):
    return spead2.Item(id, name, description, shape, dtype=dtype, format=format, value=value)

def heap(cnt, descriptors=(), values=()):
    h = spead2.send.Heap(FLAVOUR)
    for d in descriptors:
        h.add_descriptor(d)
    for v in values:
        h.add_item(v)
    return packets_of(h, cnt)

a = item(0x1000, "a", format=[("u", 32)], value=5)
b = item(0x1001, "b", shape=(3,), dtype=">i2", value=np.array([1, -2, 3], ">i2"))
a6 = item(0x1000, "a", format=[("u", 32)], value=6)
a2 = item(0x1000, "a2", shape=(2,), dtype="<u2", value=np.array([7, 8], "<u2"))
b_moved = item(0x1002, "b", format=[("u", 8)], value=9)
clash = item(0x1002, "a2", format=[("u", 16)], value=10)
c = item(0x1003, "c", shape=(None,), format=[("c", 8)], value="hello")
d = item(0x1004, "d", shape=(2,), dtype="<u4", value=np.array([1, 2], "<u4"))
unknown = item(0x1234, "unknown", format=[("u", 8)], value=1)
reserved = item(0x0005, "reserved", format=[("u", 8)], value=2)

steps = [
    ("first", heap(1, [a, b], [a])),
    ("identical descriptor and value", heap(2, [a], [a6])),
    ("identical descriptor only", heap(3, [a], [])),
    ("value only", heap(4, [], [b])),
    ("same id, new name, descriptor only", heap(5, [a2], [])),
    ("value for replaced item", heap(6, [], [a2])),
    ("same name, new id", heap(7, [b_moved], [b_moved])),
    ("id of one item, name of another", heap(8, [clash], [clash])),
    ("string", heap(9, [c], [c])),
    ("unknown id", heap(10, [], [unknown])),
    ("reserved id", heap(11, [], [reserved])),
    ("little-endian value", heap(12, [d], [d])),
]
ig = spead2.ItemGroup()
for label, packets in steps:
    heaps, _ = receive(b"".join(packets))
    for h in heaps:
        changed = ig.update(h)
        print(label, "changed:", sorted((k, v.id, v.version, repr(v.value)) for k, v in changed.items()))
    print(
        "  group:",
        sorted((i.id, i.name, i.version, repr(i.value)) for i in ig.values()),
        sorted(ig.keys()),
        sorted(ig.ids()),
        len(ig),
    )

# new_order: '|' keeps the wire order, '=' gives native order, '>' forces big-endian.
for order in ["|", "=", ">", "<"]:
    g = spead2.ItemGroup()
    heaps, _ = receive(b"".join(heap(20, [d], [d])))
    changed = g.update(heaps[0], new_order=order)
    value = changed["d"].value
    print("new_order", order, value.dtype.str, value.tolist())

# Versions after several replacements of one ID.
g = spead2.ItemGroup()
for n in range(4):
    x = item(0x1010, "x" if n % 2 == 0 else "y", format=[("u", 8)], value=n)
    heaps, _ = receive(b"".join(heap(30 + n, [x], [x] if n != 2 else [])))
    changed = g.update(heaps[0])
    print("replacement", n, sorted((k, v.version, v.value) for k, v in changed.items()),
          sorted((i.name, i.version) for i in g.values()))

# The ItemGroup warning about unknown IDs is logged synchronously from Python.
print("warnings", [m for m in collect.messages if m.startswith("Item with ID")])
"""

LOSSY_STREAMS = """
def heap_of(cnt, size, immediate=None):
    h = spead2.send.Heap(FLAVOUR)
    data = np.arange(size, dtype=np.uint8)
    h.add_item(spead2.Item(0x1000, "payload", "", (size,), dtype=np.uint8, value=data))
    if immediate is not None:
        h.add_item(spead2.Item(0x1001, "imm", "", (), format=[("u", 48)], value=immediate))
    return packets_of(h, cnt, 256)

heaps = {cnt: heap_of(cnt, 600, immediate=cnt * 11) for cnt in range(1, 9)}
print("packets per heap", sorted((cnt, len(p)) for cnt, p in heaps.items()))

scenarios = {
    "in order": [p for cnt in sorted(heaps) for p in heaps[cnt]],
    "drop middle packet of heap 2": heaps[1] + heaps[2][:1] + heaps[2][2:] + heaps[3],
    "drop last packet of heap 2": heaps[1] + heaps[2][:-1] + heaps[3],
    "drop first packet of heap 2": heaps[1] + heaps[2][1:] + heaps[3],
    "reorder heap 2": heaps[1] + heaps[2][::-1] + heaps[3],
    "duplicate packet": heaps[1] + heaps[1][1:2] + heaps[2],
    "interleave 4 heaps": [p for group in zip(*(heaps[c] for c in (1, 2, 3, 4))) for p in group],
    "interleave 6 heaps": [p for group in zip(*(heaps[c] for c in range(1, 7))) for p in group],
    "garbage after heap 1": heaps[1] + [b"not a SPEAD packet at all"] + heaps[2],
    "truncated packet": heaps[1] + [heaps[2][0][:40]] + heaps[2][1:] + heaps[3],
}
configs = {
    "default": (dict(), dict(heaps=64)),
    "out of order": (dict(allow_out_of_order=True), dict(heaps=64)),
    "max_heaps=1": (dict(max_heaps=1), dict(heaps=64)),
    "incomplete": (dict(), dict(heaps=64, contiguous_only=False)),
    "incomplete ranges": (dict(allow_out_of_order=True), dict(heaps=64, contiguous_only=False,
                                                              incomplete_keep_payload_ranges=True)),
    "substreams": (dict(substreams=2, max_heaps=2), dict(heaps=64, contiguous_only=False)),
}
for sname, packets in scenarios.items():
    for cname, (config, ring) in configs.items():
        print(f"== {sname} / {cname}")
        received, stats = receive(
            b"".join(packets), spead2.recv.StreamConfig(**config), spead2.recv.RingStreamConfig(**ring)
        )
        for h in received:
            print(" ", describe_heap(h))
        print_stats(stats)
"""

# Each line: a label and an expression; the script prints the outcome of evaluating it.
ERROR_CASES = r"""
pool = spead2.ThreadPool()
cases = [
    # recv.StreamConfig
    ("recv max_heaps=0", "spead2.recv.StreamConfig(max_heaps=0)"),
    ("recv substreams=0", "spead2.recv.StreamConfig(substreams=0)"),
    ("recv negative max_heaps", "spead2.recv.StreamConfig(max_heaps=-1)"),
    ("recv unknown keyword", "spead2.recv.StreamConfig(foo=1)"),
    ("recv positional", "spead2.recv.StreamConfig(4)"),
    ("recv bad memcpy", "spead2.recv.StreamConfig(memcpy=99)"),
    ("recv bad allocator", "spead2.recv.StreamConfig(memory_allocator=3)"),
    ("recv add_stat duplicate", "spead2.recv.StreamConfig().add_stat('heaps')"),
    ("recv add_stat new", "spead2.recv.StreamConfig().add_stat('mine')"),
    ("recv get_stat_index unknown", "spead2.recv.StreamConfig().get_stat_index('nope')"),
    ("recv get_stat_index known", "spead2.recv.StreamConfig().get_stat_index('packets')"),
    ("recv next_stat_index", "spead2.recv.StreamConfig().next_stat_index()"),
    ("recv stats readonly", "setattr(spead2.recv.StreamConfig(), 'stats', [])"),
    # RingStreamConfig
    ("ring heaps=0", "spead2.recv.RingStreamConfig(heaps=0)"),
    ("ring unknown keyword", "spead2.recv.RingStreamConfig(bar=2)"),
    ("ring negative heaps", "spead2.recv.RingStreamConfig(heaps=-5)"),
    # recv.Stream
    ("stream no pool", "spead2.recv.Stream(None)"),
    ("stream get_nowait empty", "spead2.recv.Stream(pool).get_nowait()"),
    ("stream bad buffer", "spead2.recv.Stream(pool).add_buffer_reader(5)"),
    ("stream stats index", "spead2.recv.Stream(pool).stats[99]"),
    ("stream stats negative", "spead2.recv.Stream(pool).stats[-1]"),
    ("stream stats name", "spead2.recv.Stream(pool).stats['nope']"),
    ("stream stats get", "spead2.recv.Stream(pool).stats.get('nope', 7)"),
    ("stats add mismatch", "spead2.recv.StreamStats() + spead2.recv.StreamStats(spead2.recv.StreamConfig().stats[:3])"),
    # send.StreamConfig
    ("send max_packet_size=0", "spead2.send.StreamConfig(max_packet_size=0)"),
    ("send max_packet_size small", "spead2.send.StreamConfig(max_packet_size=10)"),
    ("send negative rate", "spead2.send.StreamConfig(rate=-1.0)"),
    ("send nan rate", "spead2.send.StreamConfig(rate=float('nan'))"),
    ("send max_heaps=0", "spead2.send.StreamConfig(max_heaps=0)"),
    ("send burst_rate_ratio<1", "spead2.send.StreamConfig(burst_rate_ratio=0.5)"),
    ("send unknown keyword", "spead2.send.StreamConfig(fast=True)"),
    ("send rate_method bad", "spead2.send.StreamConfig(rate_method=7)"),
    ("send rate method names", "sorted(m.name for m in spead2.send.RateMethod.__members__.values())"),
    ("send group modes", "sorted(m.name for m in spead2.send.GroupMode.__members__.values())"),
    # Flavour
    ("flavour bad version", "spead2.Flavour(3, 64, 40, 0)"),
    ("flavour bad pointer bits", "spead2.Flavour(4, 32, 24, 0)"),
    ("flavour address bits 0", "spead2.Flavour(4, 64, 0, 0)"),
    ("flavour address bits 64", "spead2.Flavour(4, 64, 64, 0)"),
    ("flavour address bits odd", "spead2.Flavour(4, 64, 41, 0)"),
    ("flavour address bits 63", "spead2.Flavour(4, 64, 56, 0).heap_address_bits"),
    ("flavour partial args", "spead2.Flavour(4, 64)"),
    ("flavour equality", "(spead2.Flavour() == spead2.Flavour(4, 64, 40, 0), spead2.Flavour() != spead2.Flavour(4, 64, 48, 0))"),
    ("flavour readonly", "setattr(spead2.Flavour(), 'version', 5)"),
    # Descriptor
    ("descriptor two None", "spead2.Descriptor(1, 'x', '', (None, None), format=[('u', 8)])"),
    ("descriptor dtype and format", "spead2.Descriptor(1, 'x', '', (), dtype=np.uint8, format=[('u', 8)])"),
    ("descriptor neither", "spead2.Descriptor(1, 'x', '', ())"),
    ("descriptor None with dtype", "spead2.Descriptor(1, 'x', '', (None,), dtype=np.uint8)"),
    ("descriptor format with F", "spead2.Descriptor(1, 'x', '', (2,), format=[('u', 8)], order='F')"),
    ("descriptor bad order", "spead2.Descriptor(1, 'x', '', (2,), dtype=np.uint8, order='X')"),
    ("descriptor object dtype", "spead2.Descriptor(1, 'x', '', (2,), dtype=object)"),
    ("descriptor zero size dtype", "spead2.Descriptor(1, 'x', '', (2,), dtype=np.dtype([]))"),
    ("descriptor empty format", "spead2.Descriptor(1, 'x', '', (2,), format=[])"),
    ("descriptor non-ascii", "spead2.Descriptor(1, 'x\u00e9', '', (2,), dtype=np.uint8).to_raw(FLAVOUR)"),
    ("descriptor methods", "(lambda d: (d.is_variable_size(), d.allow_immediate(), d.itemsize_bits, d.dynamic_shape(10), d.compatible_shape((4,))))(spead2.Descriptor(1, 'x', '', (None,), format=[('u', 16)]))"),
    ("item value None", "setattr(spead2.Item(1, 'x', '', (), format=[('u', 8)], value=1), 'value', None)"),
    ("item version", "spead2.Item(1, 'x', '', (), format=[('u', 8)], value=1).version"),
    ("item non-ascii", "spead2.Item(1, 'x', '', (None,), format=[('c', 8)], value='\u00e9').to_buffer()"),
    ("item too few", "spead2.Item(1, 'x', '', (4,), dtype='>u2', value=[1, 2]).to_buffer()"),
    ("item bad shape", "spead2.Item(1, 'x', '', (2, 2), dtype='>u2', value=np.zeros(3)).to_buffer()"),
    ("item group missing", "spead2.ItemGroup()['nope']"),
    ("item group add auto id", "spead2.ItemGroup().add_item(None, 'x', '', (), format=[('u', 8)]).id"),
    ("heap generator bad mode", "spead2.send.ItemGroup().get_heap(descriptors='some')"),
    ("heap generator bad data", "spead2.send.ItemGroup().get_heap(data='fresh')"),
    # ThreadPool / MemoryPool / allocators
    ("thread pool 0", "spead2.ThreadPool(0)"),
    ("thread pool negative", "spead2.ThreadPool(-1)"),
    ("thread pool empty affinity", "spead2.ThreadPool(1, [])"),
    ("memory pool lower > upper", "spead2.MemoryPool(100, 10, 4, 2)"),
    ("memory pool initial > max_free", "spead2.MemoryPool(10, 100, 2, 4)"),
    ("memory pool low_water > initial", "spead2.MemoryPool(pool, 10, 100, 8, 2, 4)"),
    ("memory pool warn_on_empty", "spead2.MemoryPool(10, 100, 4, 2).warn_on_empty"),
    ("mmap allocator", "type(spead2.MmapAllocator(0, True)).__name__"),
    # Heaps and references
    ("heap reference list empty", "len(spead2.send.HeapReferenceList([]))"),
    ("heap reference list bad", "spead2.send.HeapReferenceList([1])"),
    ("heap reference bad", "spead2.send.HeapReference(None)"),
    ("heap repeat pointers", "setattr(spead2.send.Heap(), 'repeat_pointers', True)"),
    ("heap flavour", "spead2.send.Heap(FLAVOUR).flavour == FLAVOUR"),
    ("packet generator", "len(list(spead2.send.PacketGenerator(spead2.send.Heap(), 1, 1472)))"),
    ("bytes stream send", "spead2.send.BytesStream(pool).send_heap(spead2.send.Heap())"),
    ("bytes stream bad substream", "spead2.send.BytesStream(pool).send_heap(spead2.send.Heap(), substream_index=1)"),
    ("bytes stream cnt sequence", "spead2.send.BytesStream(pool).set_cnt_sequence(0, 0)"),
    ("inproc stream no queues", "spead2.send.InprocStream(pool, [])"),
    ("inproc queue stopped", "(lambda q: (q.stop(), q.add_packet(b'x')))(spead2.InprocQueue())"),
    # Enum arguments take members only, not plain ints or bools
    ("send rate_method int", "spead2.send.StreamConfig(rate_method=0)"),
    ("send rate_method bool", "spead2.send.StreamConfig(rate_method=True)"),
    ("send rate_method setattr int", "setattr(spead2.send.StreamConfig(), 'rate_method', 1)"),
    ("send rate_method member", "spead2.send.StreamConfig(rate_method=spead2.send.RateMethod.SW).rate_method"),
    ("send_heaps mode int", "spead2.send.BytesStream(pool).send_heaps([spead2.send.HeapReference(spead2.send.Heap())], 1)"),
    ("send_heaps mode member", "spead2.send.BytesStream(pool).send_heaps([spead2.send.HeapReference(spead2.send.Heap())], spead2.send.GroupMode.SERIAL)"),
    ("stat config mode int", "spead2.recv.StreamStatConfig('x', 1)"),
    ("stat config mode keyword int", "spead2.recv.StreamStatConfig('x', mode=1)"),
    ("add_stat mode int", "spead2.recv.StreamConfig().add_stat('x', 1)"),
    ("group eviction_mode int", "spead2.recv.ChunkStreamGroupConfig(eviction_mode=0)"),
    ("group eviction_mode setattr int", "setattr(spead2.recv.ChunkStreamGroupConfig(), 'eviction_mode', 1)"),
    # misc
    ("parse_range_list", "spead2.parse_range_list('1,4-6,9')"),
    ("parse_range_list empty", "spead2.parse_range_list('')"),
    ("parse_range_list bad", "spead2.parse_range_list('a-b')"),
    ("exception bases", "[c.__mro__[1].__name__ for c in (spead2.Stopped, spead2.Empty, spead2.Full)]"),
    ("stat indices", "[getattr(spead2.recv.stream_stat_indices, n) for n in ('HEAPS', 'PACKETS', 'WORKER_BLOCKED')]"),
    ("constants", "(spead2.BUG_COMPAT_PYSPEAD_0_5_2, spead2.MEMCPY_NONTEMPORAL, spead2.CTRL_STREAM_STOP, spead2.DESCRIPTOR_ID)"),
]
for label, expr in cases:
    attempt(label, lambda: eval(expr))
"""

DESCRIPTOR_VALUES = r"""
# DESCRIPTOR (0x05) values that hold more than one packet, as a sender other than spead2 may
# write them: spead2 feeds the value through a private stream, one heap at a time.
import struct

def ptr(imm, id, val):
    return struct.pack(">Q", (imm << 63) | (id << 40) | val)

def pkt(ptrs, payload, total, offset, cnt=1):
    p = [ptr(1, 1, cnt), ptr(1, 2, total), ptr(1, 3, offset), ptr(1, 4, len(payload))] + ptrs
    return struct.pack(">BBBBHH", 0x53, 4, 3, 5, 0, len(p)) + b"".join(p) + payload

def fields(did, name, bits, description=b"", extra=()):
    payload = name + description + b"u" + bits.to_bytes(3, "big")
    ptrs = [ptr(0, 0x10, 0), ptr(0, 0x11, len(name)), ptr(0, 0x13, len(name) + len(description)),
            ptr(1, 0x14, did), *extra]
    return ptrs, payload

def whole(did, name, bits, cnt=1):
    ptrs, payload = fields(did, name, bits)
    return pkt(ptrs, payload, len(payload), 0, cnt)

def split(did, name, bits, cuts, cnt=1, order=None, extra=()):
    ptrs, payload = fields(did, name, bits, b"a description", extra)
    bounds = [0, *cuts, len(payload)]
    pieces = [pkt(ptrs if i == 0 else [], payload[a:b], len(payload), a, cnt)
              for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]
    return [pieces[i] for i in (order or range(len(pieces)))]

a1, a2 = split(0x1234, b"alpha", 16, [7], cnt=1)
b1, b2 = split(0x1235, b"beta", 32, [5], cnt=2)
stop = split(0x1236, b"gamma", 8, [9], extra=[ptr(1, 6, 2)])
cases = {
    "one packet": whole(0x1234, b"a", 8),
    "two descriptors back to back": whole(0x1234, b"a", 8, 1) + whole(0x1235, b"b", 16, 2),
    "same cnt back to back": whole(0x1234, b"a", 8, 1) + whole(0x1235, b"b", 16, 1),
    "split in two": a1 + a2,
    "split in three, out of order": b"".join(split(0x1234, b"name", 64, [3, 12], order=[2, 0, 1])),
    "split, a piece missing": b"".join(split(0x1234, b"name", 64, [3, 12])[:2]),
    "split, a piece twice": a1 + a2 + a2,
    "two split heaps interleaved": a1 + b1 + a2 + b2,
    "two split heaps in turn": a1 + a2 + b1 + b2,
    "complete then garbage": whole(0x1234, b"a", 8) + b"\x00garbage",
    "split then garbage": a1 + a2 + b"\x53\x04",
    "split with a stop item": b"".join(stop),
    "split with a stop item, then another": b"".join(stop) + whole(0x1235, b"b", 16, 2),
    "piece claiming a huge heap": pkt([ptr(1, 0x14, 0x1234)], b"xyz", 1 << 40, 0),
    "empty then whole": pkt([], b"", 0, 0, 7) + whole(0x1234, b"a", 8),
}

class Raw:
    def __init__(self, value):
        self.id, self.value = spead2.DESCRIPTOR_ID, np.frombuffer(value, np.uint8)

    def to_buffer(self):
        return self.value

    def allow_immediate(self):
        return False

pool = spead2.ThreadPool()
for label, value in cases.items():
    heap = spead2.send.Heap()
    heap.add_item(Raw(value))
    heaps, _ = receive(b"".join(packets_of(heap, 1, 9000)))
    (received,) = heaps
    print(label, [(d.id, d.name, d.description, d.format, d.shape) for d in received.get_descriptors()])
"""

HEAP_GENERATOR_SCHEDULES = r"""
# Which descriptors and values send.ItemGroup puts in each heap around item replacements, for
# every resend frequency and replacement time, and with descriptors/data "none"/"all" nearby.
def contents(heap):
    heaps, _ = receive(b"".join(packets_of(heap, 1)))
    if not heaps:
        return "--"
    ids = lambda items: ",".join(f"{i.id:x}"[-1] for i in items)
    return f"D{ids(heaps[0].get_descriptors())}/V{ids(heaps[0].get_items())}"

replacements = 0
def schedule(freq, replace_at, calls=8, kwargs_at=None, kwargs_next=None, value=7, second_item=False):
    global replacements
    ig = spead2.send.ItemGroup(descriptor_frequency=freq)
    ig.add_item(0x1000, "n", "x", (), dtype="<u4", value=1)
    if second_item:
        ig.add_item(0x1001, "m", "x", (), dtype="<u4", value=1)
    out = []
    for cnt in range(calls):
        kwargs = {}
        if cnt == replace_at:
            replacements += 1  # a new description: a different descriptor, so a real replacement
            ig.add_item(0x1000, "n", f"y{replacements}", (), dtype="<u4", value=value)
            out.append("|")
            kwargs = kwargs_at or {}
        elif cnt == replace_at + 1:
            kwargs = kwargs_next or {}
        out.append(contents(ig.get_heap(**kwargs)))
    return " ".join(out)

for freq in (None, 1, 2, 3):
    for at in range(7):
        print(f"freq {freq} replace at {at}:", schedule(freq, at))
for label, kwargs in [
    ("descriptors none at", dict(kwargs_at=dict(descriptors="none"))),
    ("data none at", dict(kwargs_at=dict(data="none"))),
    ("descriptors all at", dict(kwargs_at=dict(descriptors="all"))),
    ("descriptors none after", dict(kwargs_next=dict(descriptors="none"))),
    ("data none after", dict(kwargs_next=dict(data="none"))),
    ("value None", dict(value=None)),
    ("second item", dict(second_item=True)),
]:
    print(label, schedule(2, 2, **kwargs), schedule(2, 3, **kwargs))
"""

NUMPY_HEADERS = r"""
# Numpy headers as other writers may produce them: spead2 reads them with ast.literal_eval, so any
# Python literal spelling of the dict counts (bases, digit separators, bytes and raw strings,
# adjacent literals, comments), and the checks after it decide. (Left out on purpose: ints beyond
# int64, which we refuse; (True,) as a shape, which we return as (1,); a bytes key beside str keys,
# where sorting the keys for its message makes spead2 raise TypeError, and us ValueError.)
import spead2._spead2

HEADERS = [
    b"{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3)}",
    b"{'descr': b'<u2', 'fortran_order': False, 'shape': (2, 3)}",
    b"{'descr': '<u2', 'fortran_order': False, 'shape': (0x10, 0X1f, 0o10, 0b11, 1_000, 0x_f)}",
    b"{'descr': '\\x3cu2', 'fortran_order': False, 'shape': ()}",
    b"{'descr': r'<u2', 'fortran_order': True, 'shape': (2,)}",
    b"{'descr': '<' 'u2', 'fortran_order': False, 'shape': (2,)}",
    b"{'descr': '''<u2''', 'fortran_order': False, 'shape': (2,)}",
    b"{'descr': '<u2', # the type\n 'fortran_order': False, 'shape': (2,)} # end",
    b"{'descr': '<u2', 'fortran_order': False, \\\n 'shape': (2,)}",
    b"{'shape': (2,), 'fortran_order': True, 'descr': '>f8'}",
    b"  {'descr': '<u2', 'fortran_order': False, 'shape': (2,),}  \n",
    b"{'descr': [('a', '<u2'), ('b', '>f4', (3,))], 'fortran_order': False, 'shape': (2,)}",
    b"{'descr': [(b'a', '<u2')], 'fortran_order': False, 'shape': (2,)}",
    b"{'descr': '<u2', 'fortran_order': False, 'shape': (-1,)}",
    b"{'descr': '<u2', 'fortran_order': 0, 'shape': (2,)}",
    b"{'descr': '<u2', 'fortran_order': False, 'shape': [2]}",
    b"{'descr': '<u2', 'fortran_order': False, 'shape': (2,), 'x': 1}",
    b"{'descr': '<u2', 'fortran_order': False, 'shape': (2.0,)}",
    b"{'descr': '<u2', 'fortran_order': False, 'shape': (2**3,)}",
    b"{'descr': '<u2', 'fortran_order': False, 'shape': (1__0,)}",
    b"{'descr': '<u2', 'fortran_order': False, 'shape': (0_1,)}",
    b"{'descr': '<u2' b'x', 'fortran_order': False, 'shape': (2,)}",
    b"{'descr': ur'<u2', 'fortran_order': False, 'shape': (2,)}",
    b"{'descr': f'<u2', 'fortran_order': False, 'shape': (2,)}",
    b"{'descr': 'O', 'fortran_order': False, 'shape': (2,)}",
    b"{'descr': '<u2', 'fortran_order': False, 'shape': (2,)",
    b"{'descr': '\xc3\xa9', 'fortran_order': False, 'shape': (2,)}",
    b"",
]
for i, header in enumerate(HEADERS):
    raw = spead2._spead2.RawDescriptor()
    raw.id = 0x1000
    raw.name = b"x"
    raw.description = b"d"
    raw.numpy_header = header
    try:
        d = spead2.Descriptor.from_raw(raw, FLAVOUR)
    except ValueError:  # the message is the parser's own
        print(f"header {i}: ValueError")
    else:
        print(f"header {i}: {d.shape} {d.order} {d.dtype}")
"""

# What pybind11 converted for spead2 and nanobind does not by itself: numbers and None for bool
# parameters (by truth value), bytes for str ones, any iterable for HeapReferenceList; weak
# references to every extension object; spead2.recv.stream_stat_indices as an importable module.
ARGUMENT_CONVERSIONS = r"""
import weakref

pool = spead2.ThreadPool()


class Immediate:
    def __init__(self, allow):
        self.id, self.allow = 0x1000, allow

    def to_buffer(self):
        return np.zeros(4, np.uint8)

    def allow_immediate(self):
        return self.allow


def sent_bytes(allow):
    heap = spead2.send.Heap()
    heap.add_item(Immediate(allow))
    stream = spead2.send.BytesStream(pool)
    stream.send_heap(heap)
    return len(stream.getvalue())


def set_and_get(obj, name, value):
    setattr(obj, name, value)
    return getattr(obj, name)


BUFFER = np.zeros(64, np.uint8)


def ibv_sender(**kwargs):
    # Checked before any device is opened: the same outcome with and without ibverbs.
    kwargs = {"endpoints": [("239.1.2.3", 7)], "interface_address": "127.0.0.1", **kwargs}
    try:
        spead2.send.UdpIbvStream(pool, spead2.send.StreamConfig(), spead2.send.UdpIbvConfig(**kwargs))
    except RuntimeError as exc:
        return f"RuntimeError {str(exc).split(' (')[0]}"  # the rest names asio's source file


def import_indices():
    from spead2.recv.stream_stat_indices import HEAPS, WORKER_BLOCKED

    return HEAPS, WORKER_BLOCKED, spead2.recv.stream_stat_indices.__name__


cases = [
    ("bool from int", "spead2.recv.StreamConfig(allow_unsized_heaps=0).allow_unsized_heaps"),
    ("bool from numpy", "spead2.recv.StreamConfig(allow_out_of_order=np.True_).allow_out_of_order"),
    ("bool from None", "spead2.recv.StreamConfig(stop_on_stop_item=None).stop_on_stop_item"),
    ("bool from float", "spead2.recv.StreamConfig(explicit_start=2.5).explicit_start"),
    ("bool from str", "spead2.recv.StreamConfig(explicit_start='yes')"),
    ("bool from list", "spead2.recv.StreamConfig(explicit_start=[1])"),
    ("ring bool from int", "spead2.recv.RingStreamConfig(contiguous_only=0).contiguous_only"),
    ("ring bool from numpy", "spead2.recv.RingStreamConfig(incomplete_keep_payload_ranges=np.True_).incomplete_keep_payload_ranges"),
    ("repeat_pointers from int", "set_and_get(spead2.send.Heap(), 'repeat_pointers', 1)"),
    ("warn_on_empty from int", "set_and_get(spead2.MemoryPool(10, 100, 4, 2), 'warn_on_empty', 0)"),
    ("prefer_huge from int", "type(spead2.MmapAllocator(0, 1)).__name__"),
    ("allow_immediate numpy", "sent_bytes(np.True_)"),
    ("allow_immediate int", "sent_bytes(0)"),
    ("allow_immediate None", "sent_bytes(None)"),
    ("heap reference list generator", "len(spead2.send.HeapReferenceList(spead2.send.HeapReference(spead2.send.Heap()) for _ in range(3)))"),
    ("heap reference list tuple", "len(spead2.send.HeapReferenceList((spead2.send.HeapReference(spead2.send.Heap()),)))"),
    ("stat name bytes", "spead2.recv.StreamConfig().get_stat_index(b'heaps')"),
    ("stat config bytes", "spead2.recv.StreamStatConfig(b'x').name"),
    ("stats in bytes", "b'packets' in spead2.recv.StreamStats()"),
    ("udp bind bytes", "spead2.recv.Stream(pool).add_udp_reader(0, buffer_size=0, bind_hostname=b'127.0.0.1')"),
    ("send endpoint bytes", "spead2.send.UdpStream(pool, [(b'127.0.0.1', 9)]).num_substreams"),
    ("stat indices import", "import_indices()"),
    ("ibv send empty region", "ibv_sender(memory_regions=[np.zeros(0, np.uint8)])"),
    ("ibv send overlapping regions", "ibv_sender(memory_regions=[BUFFER[:16], BUFFER[8:24]])"),
    ("ibv send unknown name", "ibv_sender(endpoints=[('no.such.invalid', 7)])"),
]
for label, expr in cases:
    attempt(label, lambda: eval(expr))

makers = {
    "ThreadPool": lambda: pool,
    "Flavour": spead2.Flavour,
    "InprocQueue": spead2.InprocQueue,
    "MemoryAllocator": spead2.MemoryAllocator,
    "MemoryPool": lambda: spead2.MemoryPool(10, 100, 4, 2),
    "send.StreamConfig": spead2.send.StreamConfig,
    "send.Heap": spead2.send.Heap,
    "HeapReference": lambda: spead2.send.HeapReference(spead2.send.Heap()),
    "HeapReferenceList": lambda: spead2.send.HeapReferenceList([]),
    "PacketGenerator": lambda: spead2.send.PacketGenerator(spead2.send.Heap(), 1, 1472),
    "BytesStream": lambda: spead2.send.BytesStream(pool),
    "InprocStream": lambda: spead2.send.InprocStream(pool, [spead2.InprocQueue()]),
    "UdpStream": lambda: spead2.send.UdpStream(pool, [("127.0.0.1", 9)]),
    "recv.StreamConfig": spead2.recv.StreamConfig,
    "RingStreamConfig": spead2.recv.RingStreamConfig,
    "StreamStats": spead2.recv.StreamStats,
    "recv.Stream": lambda: spead2.recv.Stream(pool),
    "ChunkStreamConfig": spead2.recv.ChunkStreamConfig,
    "ChunkStreamGroupConfig": spead2.recv.ChunkStreamGroupConfig,
    "recv.UdpIbvConfig": spead2.recv.UdpIbvConfig,
    "send.UdpIbvConfig": spead2.send.UdpIbvConfig,
}
for name, make in makers.items():
    attempt(f"weakref {name}", lambda: (lambda obj: weakref.ref(obj)() is obj)(make()))
"""

CASES = {
    "argument_conversions": ARGUMENT_CONVERSIONS,
    "item_group_updates": ITEM_GROUP_UPDATES,
    "lossy_streams": LOSSY_STREAMS,
    "invalid_arguments": ERROR_CASES,
    "descriptor_values": DESCRIPTOR_VALUES,
    "heap_generator_schedules": HEAP_GENERATOR_SCHEDULES,
    "numpy_headers": NUMPY_HEADERS,
}


def run_ours(script: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=HERE,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout.decode()


# Lines of the invalid_arguments case where we differ on purpose: label -> (reference, ours).
KNOWN_DIFFERENCES = {
    # The reference's thread-pool overload cannot be called from Python at all (its thread_pool
    # parameter type is not the registered ThreadPool class), so it raises TypeError for any
    # arguments; ours builds the pool with background refill as documented.
    "memory pool low_water > initial": ("TypeError", "ok <MemoryPool>"),
}
# Labels whose message we extend with the offending value (": 3" after the reference's text).
MESSAGE_NAMES_VALUE = {
    "flavour bad version",
    "flavour bad pointer bits",
    "flavour address bits 0",
    "flavour address bits 64",
    "flavour address bits odd",
}


def _split(line: str) -> tuple[str, str]:
    label, _, outcome = line.partition(": ")
    return label, outcome


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_output_as_reference(case, run_ref):
    script = PRELUDE + textwrap.dedent(CASES[case])
    expected = run_ref(script).splitlines()
    actual = run_ours(script).splitlines()
    assert len(actual) > 10  # the script really ran its cases
    # Compare line by line so that a failure names the first case that differs.
    for want, got in zip(expected, actual):
        label, want_outcome = _split(want)
        got_label, got_outcome = _split(got)
        if case == "invalid_arguments" and label == got_label:
            if label in KNOWN_DIFFERENCES:
                assert (want_outcome, got_outcome) == KNOWN_DIFFERENCES[label]
                continue
            if label in MESSAGE_NAMES_VALUE:
                assert got_outcome.startswith(want_outcome + ": "), (want, got)
                continue
        assert got == want
    assert len(actual) == len(expected)


# ---------------------------------------------------------------------------------------------
# The Python tools, side by side with the reference's (run from its venv's bin, -E -s).

import os  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402


def _ref_tool(ref_python, name):
    return [ref_python, "-E", "-s", os.path.join(os.path.dirname(ref_python), name)]


def _our_tool(module):
    return [sys.executable, "-m", f"spead2.tools.{module}"]


def _options(help_text):
    """The option names of a usage message, in order."""
    usage = help_text.split("\n\n")[0]
    return re.findall(r"\[(--?[\w-]+)", usage)


@pytest.mark.parametrize(
    ("ref_name", "module", "extra"),
    [
        ("spead2_send.py", "send_asyncio", []),
        ("spead2_recv.py", "recv_asyncio", []),
        ("spead2_bench.py", "bench_asyncio", []),
        ("spead2_bench.py", "bench_asyncio", ["master"]),
        ("spead2_bench.py", "bench_asyncio", ["agent"]),
    ],
)
def test_tool_options_match_reference(ref_python, ref_name, module, extra):
    ref = subprocess.run([*_ref_tool(ref_python, ref_name), *extra, "--help"], stdout=subprocess.PIPE, text=True)
    ours = subprocess.run([*_our_tool(module), *extra, "--help"], stdout=subprocess.PIPE, text=True)
    assert ref.returncode == ours.returncode == 0
    assert _options(ours.stdout) == _options(ref.stdout)
    assert len(_options(ours.stdout)) > 0 or extra == ["agent"]


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_bound(port):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.05)
    raise TimeoutError(port)


def _tool_run(receiver_cmd, sender_cmd):
    port = _free_port()
    recv = subprocess.Popen(
        [*receiver_cmd, "--values", "--descriptors", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_bound(port)
        sent = subprocess.run(
            [*sender_cmd, "--heaps", "4", "--heap-size", "96", "--items", "3", "--dtype", ">i2", f"127.0.0.1:{port}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
        out, _ = recv.communicate(timeout=60)
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.wait()
    assert sent.returncode == 0, sent.stderr
    assert recv.returncode == 0
    sent_bytes = re.fullmatch(r"Sent (\d+) bytes in [0-9.]+s, [0-9.]+ Gb/s\n", sent.stdout)
    assert sent_bytes, sent.stdout
    # How packets group into reader batches depends on timing, not on the implementation.
    timing = ("batches:", "max_batch:", "worker_blocked:")
    lines = [line for line in out.replace(f":{port}", ":PORT").splitlines() if not line.startswith(timing)]
    return int(sent_bytes.group(1)), lines


def test_tools_output_matches_reference(ref_python):
    """Our spead2_send.py to the reference's spead2_recv.py and the reverse print the same."""
    ref_recv = _ref_tool(ref_python, "spead2_recv.py")
    ref_send = _ref_tool(ref_python, "spead2_send.py")
    ours_to_ref = _tool_run(ref_recv, _our_tool("send_asyncio"))
    ref_to_ours = _tool_run(_our_tool("recv_asyncio"), ref_send)
    ref_to_ref = _tool_run(ref_recv, ref_send)
    assert ours_to_ref == ref_to_ref
    assert ref_to_ours == ref_to_ref
    assert "Received heap 4 on stream 127.0.0.1:PORT" in ref_to_ours[1]
    assert "Shutting down stream 127.0.0.1:PORT after 4 heaps" in ref_to_ours[1]


def test_udp_port_released_by_stop(run_ref):
    port = _free_port()
    script = textwrap.dedent(
        f"""
        import socket, spead2, spead2.recv
        pool = spead2.ThreadPool()
        stream = spead2.recv.Stream(pool)
        stream.add_udp_reader({port}, bind_hostname="127.0.0.1", buffer_size=0)
        stream.stop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(("127.0.0.1", {port}))
            print("released")
        except OSError as exc:
            print("still bound", exc.errno)
        """
    )
    assert run_ref(script) == "released\n"
    assert run_ours(script) == "released\n"
