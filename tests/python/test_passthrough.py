# SPDX-License-Identifier: LGPL-3.0-or-later
"""End-to-end: ItemGroup heaps sent through a transport and decoded with ItemGroup.update.

Transports: "mem" (send.BytesStream -> recv add_buffer_reader) and "inproc" (send.InprocStream ->
recv add_inproc_reader).
"""

import numpy as np
import pytest

import spead2
import spead2.recv as recv
import spead2.send as send


class MemTransport:
    name = "mem"

    def __init__(self, thread_pool, send_config, substreams=1):
        assert substreams == 1
        self.thread_pool = thread_pool
        self.sender = send.BytesStream(thread_pool, send_config)

    def receivers(self, recv_config, ring_config):
        stream = recv.Stream(self.thread_pool, recv_config, ring_config)
        stream.add_buffer_reader(self.sender.getvalue())
        return [stream]

    def finish(self):
        pass


class InprocTransport:
    name = "inproc"

    def __init__(self, thread_pool, send_config, substreams=1):
        self.thread_pool = thread_pool
        self.queues = [spead2.InprocQueue() for _ in range(substreams)]
        self.sender = send.InprocStream(thread_pool, self.queues, send_config)

    def receivers(self, recv_config, ring_config):
        streams = []
        for queue in self.queues:
            stream = recv.Stream(self.thread_pool, recv_config, ring_config)
            stream.add_inproc_reader(queue)
            streams.append(stream)
        return streams

    def finish(self):
        for queue in self.queues:
            queue.stop()


TRANSPORTS = [MemTransport, InprocTransport]


@pytest.fixture(params=TRANSPORTS, ids=lambda t: t.name)
def transport_cls(request):
    return request.param


@pytest.fixture
def thread_pool():
    return spead2.ThreadPool(2)


def _roundtrip(thread_pool, transport_cls, items, flavour=None, packet_size=1472, rounds=1):
    """Send one heap per round (values changed each round) and decode them all."""
    if flavour is None:
        flavour = spead2.Flavour()
    transport = transport_cls(thread_pool, send.StreamConfig(max_packet_size=packet_size, max_heaps=8))
    ig_send = send.ItemGroup(flavour=flavour)
    for kwargs in items:
        kwargs = dict(kwargs)
        kwargs.setdefault("description", "a " + kwargs["name"])
        ig_send.add_item(**kwargs)
    expected = []
    for r in range(rounds):
        if r:
            for item in ig_send.values():
                item.value = _bump(item.value)
        transport.sender.send_heap(ig_send.get_heap())
        expected.append({name: item.value for name, item in ig_send.items()})
    transport.sender.send_heap(ig_send.get_end())
    transport.finish()
    (stream,) = transport.receivers(
        recv.StreamConfig(max_heaps=4, bug_compat=flavour.bug_compat), recv.RingStreamConfig(heaps=8)
    )
    ig_recv = spead2.ItemGroup()
    received = []
    for heap in stream:
        assert isinstance(heap, recv.Heap)
        assert heap.flavour == flavour
        updated = ig_recv.update(heap)
        received.append({name: item.value for name, item in updated.items()})
    assert len(received) == rounds
    for got, want in zip(received, expected):
        assert sorted(got) == sorted(want)
        for name in want:
            _assert_equal(got[name], want[name], name)
    return ig_recv, stream


def _bump(value):
    if isinstance(value, np.ndarray):
        if value.dtype.names:
            return value
        if value.dtype == bool:
            return ~value
        return value + np.array(1).astype(value.dtype) if value.size else value
    if isinstance(value, (bool, np.bool_)):
        return not value
    if isinstance(value, str):
        return value[::-1]
    if isinstance(value, bytes):
        return value[::-1]
    if isinstance(value, (tuple, list)):
        return value
    return value + 1


def _assert_equal(got, want, name):
    if isinstance(want, np.ndarray) or isinstance(got, np.ndarray):
        got = np.asarray(got)
        want = np.asarray(want, dtype=got.dtype)
        assert got.shape == want.shape, name
        if want.dtype.names:
            assert got.dtype.names == want.dtype.names
            for field in want.dtype.names:
                np.testing.assert_array_equal(got[field], want[field], err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)
    elif isinstance(want, float):
        assert got == pytest.approx(want), name
    else:
        assert got == want, name


SCALAR_CASES = {
    "u8": dict(name="u8", id=0x1000, shape=(), dtype=np.uint8, value=200),
    "i16": dict(name="i16", id=0x1001, shape=(), dtype=np.int16, value=-1234),
    "u32_be": dict(name="u32_be", id=0x1002, shape=(), dtype=">u4", value=0xDEADBEEF),
    "u64_le": dict(name="u64_le", id=0x1003, shape=(), dtype="<u8", value=2**63 + 5),
    "i64": dict(name="i64", id=0x1004, shape=(), dtype=np.int64, value=-(2**62)),
    "f32": dict(name="f32", id=0x1005, shape=(), dtype=np.float32, value=1.5),
    "f64_be": dict(name="f64_be", id=0x1006, shape=(), dtype=">f8", value=-2.25e100),
    "c64": dict(name="c64", id=0x1007, shape=(), dtype=np.complex64, value=1 + 2j),
    "c128": dict(name="c128", id=0x1008, shape=(), dtype=np.complex128, value=3 - 4j),
    "bool": dict(name="bool", id=0x1009, shape=(), dtype=np.bool_, value=True),
    "fmt_u8": dict(name="fmt_u8", id=0x100A, shape=(), format=[("u", 8)], value=7),
    "fmt_i32": dict(name="fmt_i32", id=0x100B, shape=(), format=[("i", 32)], value=-70000),
    "fmt_f64": dict(name="fmt_f64", id=0x100C, shape=(), format=[("f", 64)], value=0.125),
    "fmt_u48": dict(name="fmt_u48", id=0x100D, shape=(), format=[("u", 48)], value=2**47 + 3),
}

ARRAY_CASES = {
    "u8_array": dict(name="u8_array", id=0x1100, shape=(7,), dtype=np.uint8, value=np.arange(7, dtype=np.uint8)),
    "i32_2d": dict(
        name="i32_2d", id=0x1101, shape=(3, 4), dtype=np.int32, value=np.arange(12, dtype=np.int32).reshape(3, 4) - 5
    ),
    "f64_fortran": dict(
        name="f64_fortran",
        id=0x1102,
        shape=(2, 3),
        dtype=np.float64,
        order="F",
        value=np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    ),
    "big_u16": dict(
        name="big_u16", id=0x1103, shape=(50000,), dtype=">u2", value=np.arange(50000, dtype=">u2")
    ),
    "structured": dict(
        name="structured",
        id=0x1105,
        shape=(3,),
        dtype=np.dtype([("a", np.uint8), ("b", ">i4")]),
        value=np.array([(1, -2), (3, 4), (5, 6)], dtype=[("a", np.uint8), ("b", ">i4")]),
    ),
    "string": dict(name="string", id=0x1106, shape=(None,), format=[("c", 8)], value="hello world"),
    "var_u8": dict(name="var_u8", id=0x1107, shape=(None,), format=[("u", 8)], value=[1, 2, 3, 4, 5]),
    "fmt_tuple": dict(name="fmt_tuple", id=0x1108, shape=(2,), format=[("u", 8), ("i", 16)], value=[(1, -1), (2, 300)]),
    "small_fixed": dict(name="small_fixed", id=0x1109, shape=(2,), dtype=np.uint8, value=np.array([9, 8], np.uint8)),
}


@pytest.mark.parametrize("case", sorted(SCALAR_CASES) + sorted(ARRAY_CASES))
def test_item(thread_pool, transport_cls, case):
    item = SCALAR_CASES.get(case) or ARRAY_CASES[case]
    _roundtrip(thread_pool, transport_cls, [item], rounds=2)


@pytest.mark.parametrize(
    "flavour_args",
    [(4, 64, 40, 0), (4, 64, 48, 0), (4, 64, 56, 0), (4, 64, 40, spead2.BUG_COMPAT_PYSPEAD_0_5_2)],
    ids=["hab40", "hab48", "hab56", "pyspead"],
)
def test_flavours(thread_pool, transport_cls, flavour_args):
    flavour = spead2.Flavour(*flavour_args)
    items = [dict(d) for d in SCALAR_CASES.values() if "format" not in d or flavour.bug_compat == 0]
    items += [dict(ARRAY_CASES[k]) for k in ("u8_array", "i32_2d", "big_u16")]
    for i, item in enumerate(items):
        item["id"] = 0x10 + i  # small enough for 56-bit heap addresses
    _roundtrip(thread_pool, transport_cls, items, flavour=flavour, rounds=2)


@pytest.mark.parametrize("packet_size", [56, 64, 200, 1472, 9000])
def test_packet_sizes(thread_pool, transport_cls, packet_size):
    items = [SCALAR_CASES["u32_be"], ARRAY_CASES["i32_2d"], ARRAY_CASES["big_u16"], ARRAY_CASES["string"]]
    _roundtrip(thread_pool, transport_cls, items, packet_size=packet_size)


def test_many_items(thread_pool, transport_cls):
    items = [
        dict(name="item%d" % i, id=0x2000 + i, shape=(i % 5 + 1,), dtype=np.int16, value=np.arange(i % 5 + 1, dtype=np.int16))
        for i in range(300)
    ]
    _roundtrip(thread_pool, transport_cls, items, packet_size=512)


def _send_and_receive(thread_pool, transport_cls, heaps_fn, recv_config=None, ring_config=None, substreams=1):
    transport = transport_cls(thread_pool, send.StreamConfig(max_heaps=8), substreams=substreams)
    heaps_fn(transport.sender)
    transport.finish()
    streams = transport.receivers(
        recv_config if recv_config is not None else recv.StreamConfig(),
        ring_config if ring_config is not None else recv.RingStreamConfig(heaps=16),
    )
    return [list(stream) for stream in streams], streams


def test_descriptors_only(thread_pool, transport_cls):
    ig = send.ItemGroup()
    ig.add_item(0x1000, "x", "an x", (), np.uint32, value=5)
    ig.add_item(0x1001, "y", "a y", (None,), format=[("c", 8)])

    def fn(sender):
        sender.send_heap(ig.get_heap(data="none"))
        sender.send_heap(ig.get_heap(descriptors="none", data="all"))

    (heaps,), _ = _send_and_receive(thread_pool, transport_cls, fn)
    assert len(heaps) == 2
    received = spead2.ItemGroup()
    assert len(heaps[0].get_descriptors()) == 2
    assert received.update(heaps[0]) == {}
    assert sorted(received.keys()) == ["x", "y"]
    assert received["x"].value is None
    assert received["y"].description == "a y"
    assert heaps[1].get_descriptors() == []
    updated = received.update(heaps[1])
    assert sorted(updated) == ["x"]
    assert received["x"].value == 5


def test_start_and_stop_heaps(thread_pool, transport_cls):
    ig = send.ItemGroup()
    ig.add_item(0x1000, "x", "an x", (), np.uint32, value=5)

    def fn(sender):
        sender.send_heap(ig.get_start())
        sender.send_heap(ig.get_heap())
        sender.send_heap(ig.get_end())
        sender.send_heap(ig.get_heap(descriptors="all", data="all"))  # after the stop: not received

    (heaps,), (stream,) = _send_and_receive(thread_pool, transport_cls, fn)
    assert [h.is_start_of_stream() for h in heaps] == [True, False]
    assert [h.is_end_of_stream() for h in heaps] == [False, False]
    assert stream.stats.heaps == 2  # the stop heap is not counted


def test_stop_item_delivered(thread_pool, transport_cls):
    ig = send.ItemGroup()
    ig.add_item(0x1000, "x", "an x", (), np.uint32, value=5)

    def fn(sender):
        sender.send_heap(ig.get_heap())
        sender.send_heap(ig.get_end())
        ig["x"].value = 6
        sender.send_heap(ig.get_heap())

    (heaps,), _ = _send_and_receive(
        thread_pool, transport_cls, fn, recv_config=recv.StreamConfig(stop_on_stop_item=False)
    )
    assert [h.is_end_of_stream() for h in heaps] == [False, True, False]
    received = spead2.ItemGroup()
    for h in heaps:
        received.update(h)
    assert received["x"].value == 6


def test_substreams(thread_pool):
    """InprocStream with one queue per substream: each receiver sees its own heaps."""
    ig = send.ItemGroup()
    ig.add_item(0x1000, "x", "an x", (), np.uint32, value=0)
    sent = {0: [], 1: [], 2: []}

    def fn(sender):
        for i in range(9):
            ig["x"].value = i
            heap = ig.get_heap(descriptors="all", data="all")
            sender.send_heap(heap, substream_index=i % 3)
            sent[i % 3].append((i + 1, i))

    heaps_per_stream, _ = _send_and_receive(thread_pool, InprocTransport, fn, substreams=3)
    for index, heaps in enumerate(heaps_per_stream):
        got = []
        for heap in heaps:
            received = spead2.ItemGroup()
            received.update(heap)
            got.append((heap.cnt, received["x"].value))
        assert got == sent[index]


def test_send_heaps_group(thread_pool, transport_cls):
    heaps = []
    for i in range(3):
        ig = send.ItemGroup()
        ig.add_item(0x1000, "x", "an x", (1000,), np.uint16, value=np.full(1000, i, np.uint16))
        heaps.append(ig.get_heap())

    def fn(sender):
        refs = [send.HeapReference(h, cnt=10 + i) for i, h in enumerate(heaps)]
        sender.send_heaps(refs, send.GroupMode.ROUND_ROBIN)
        sender.send_heaps(send.HeapReferenceList(refs[::-1]), send.GroupMode.SERIAL)

    (received,), _ = _send_and_receive(
        thread_pool, transport_cls, fn, recv_config=recv.StreamConfig(max_heaps=3)
    )
    assert sorted(h.cnt for h in received[:3]) == [10, 11, 12]
    assert [h.cnt for h in received[3:]] == [12, 11, 10]
    for heap in received:
        ig = spead2.ItemGroup()
        ig.update(heap)
        np.testing.assert_array_equal(ig["x"].value, np.full(1000, heap.cnt - 10, np.uint16))
