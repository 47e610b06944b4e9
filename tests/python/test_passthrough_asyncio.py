# SPDX-License-Identifier: LGPL-3.0-or-later
"""The passthrough suite in asyncio: spead2.send.asyncio senders and spead2.recv.asyncio.Stream
receivers running together on one event loop.

Transports: inproc (InprocQueue), udp (127.0.0.1, rate-limited so that loopback loses nothing),
udp6 (::1, the socket forms), tcp (127.0.0.1, TcpStream.connect) and tcp6 (::1, the socket form
of TcpStream). The receivers listen before anything is sent, and a stop heap ends each stream.
The item cases and comparison helpers are those of test_passthrough.py.
"""

import asyncio
import socket

import numpy as np
import pytest
from test_passthrough import ARRAY_CASES, SCALAR_CASES, _assert_equal, _bump

import spead2
import spead2.recv
import spead2.recv.asyncio
import spead2.send
import spead2.send.asyncio

UDP_RATE = 5e6
UDP_BUFFER = 4 * 1024 * 1024
TIMEOUT = 30


class InprocTransport:
    name = "inproc"

    async def open(self, thread_pool, send_config, recv_config, ring_config, substreams=1):
        queues = [spead2.InprocQueue() for _ in range(substreams)]
        receivers = []
        for queue in queues:
            stream = spead2.recv.asyncio.Stream(thread_pool, recv_config, ring_config)
            stream.add_inproc_reader(queue)
            receivers.append(stream)
        return spead2.send.asyncio.InprocStream(thread_pool, queues, send_config), receivers


def _with_rate(config, rate):
    return spead2.send.StreamConfig(
        max_packet_size=config.max_packet_size, max_heaps=config.max_heaps, rate=rate, burst_size=config.burst_size
    )


class UdpTransport:
    name = "udp"

    async def open(self, thread_pool, send_config, recv_config, ring_config, substreams=1):
        receivers = []
        endpoints = []
        for _ in range(substreams):
            stream = spead2.recv.asyncio.Stream(thread_pool, recv_config, ring_config)
            for attempt in range(10):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
                try:
                    stream.add_udp_reader(port, buffer_size=UDP_BUFFER, bind_hostname="127.0.0.1")
                    break
                except RuntimeError as exc:  # taken in between
                    if "Address already in use" not in str(exc) or attempt == 9:
                        raise
            receivers.append(stream)
            endpoints.append(("127.0.0.1", port))
        sender = spead2.send.asyncio.UdpStream(thread_pool, endpoints, _with_rate(send_config, UDP_RATE), UDP_BUFFER)
        return sender, receivers


class Udp6Transport:
    name = "udp6"

    async def open(self, thread_pool, send_config, recv_config, ring_config, substreams=1):
        receivers = []
        endpoints = []
        for _ in range(substreams):
            stream = spead2.recv.asyncio.Stream(thread_pool, recv_config, ring_config)
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER)
                sock.bind(("::1", 0))
                stream.add_udp_reader(sock)
                endpoints.append(("::1", sock.getsockname()[1]))
            receivers.append(stream)
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as src:
            src.bind(("::1", 0))
            sender = spead2.send.asyncio.UdpStream(thread_pool, src, endpoints, _with_rate(send_config, UDP_RATE))
        return sender, receivers


class TcpTransport:
    name = "tcp"

    async def open(self, thread_pool, send_config, recv_config, ring_config, substreams=1):
        assert substreams == 1
        stream = spead2.recv.asyncio.Stream(thread_pool, recv_config, ring_config)
        with socket.socket() as acceptor:
            acceptor.bind(("127.0.0.1", 0))
            acceptor.listen(1)
            stream.add_tcp_reader(acceptor)
            endpoint = acceptor.getsockname()
        sender = await spead2.send.asyncio.TcpStream.connect(thread_pool, [endpoint], send_config)
        return sender, [stream]


class Tcp6Transport:
    name = "tcp6"

    async def open(self, thread_pool, send_config, recv_config, ring_config, substreams=1):
        assert substreams == 1
        stream = spead2.recv.asyncio.Stream(thread_pool, recv_config, ring_config)
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as acceptor:
            acceptor.bind(("::1", 0))
            acceptor.listen(1)
            stream.add_tcp_reader(acceptor)
            client = socket.create_connection(acceptor.getsockname()[:2])
        with client:
            sender = spead2.send.asyncio.TcpStream(thread_pool, client, send_config)
        return sender, [stream]


TRANSPORTS = [InprocTransport, UdpTransport, Udp6Transport, TcpTransport, Tcp6Transport]


@pytest.fixture(params=TRANSPORTS, ids=lambda t: t.name)
def transport(request):
    return request.param()


@pytest.fixture
def thread_pool():
    return spead2.ThreadPool(2)


async def _collect(stream):
    return [heap async for heap in stream]


async def _run(transport, thread_pool, send_fn, send_config=None, recv_config=None, ring_config=None, substreams=1):
    """Opens the transport, runs send_fn(sender) and the receivers concurrently, then ends every
    substream with a stop heap. Returns the heaps of each receiver."""
    send_config = send_config or spead2.send.StreamConfig(max_heaps=8)
    recv_config = recv_config or spead2.recv.StreamConfig(max_heaps=4)
    ring_config = ring_config or spead2.recv.RingStreamConfig(heaps=4)
    sender, receivers = await transport.open(thread_pool, send_config, recv_config, ring_config, substreams)
    collectors = [asyncio.ensure_future(_collect(stream)) for stream in receivers]

    async def produce():
        flavour = await send_fn(sender) or spead2.Flavour()
        for i in range(substreams):
            end = spead2.send.Heap(flavour)
            end.add_end()
            await sender.async_send_heap(end, substream_index=i)
        await sender.async_flush()

    results = await asyncio.wait_for(asyncio.gather(produce(), *collectors), TIMEOUT)
    return results[1:]


async def _roundtrip(transport, thread_pool, items, flavour=None, packet_size=1472, rounds=2, window=3):
    """Sends one heap per round (values changed each round) with up to @a window futures
    outstanding, and decodes them as they arrive."""
    flavour = flavour or spead2.Flavour()
    ig_send = spead2.send.ItemGroup(flavour=flavour)
    for kwargs in items:
        kwargs = dict(kwargs)
        kwargs.setdefault("description", "a " + kwargs["name"])
        ig_send.add_item(**kwargs)
    expected = []

    async def send_fn(sender):
        pending = []
        for r in range(rounds):
            if r:
                for item in ig_send.values():
                    item.value = _bump(item.value)
            pending.append(sender.async_send_heap(ig_send.get_heap()))
            expected.append({name: item.value for name, item in ig_send.items()})
            if len(pending) >= window:
                await pending.pop(0)
        for future in pending:
            assert await future > 0
        return flavour

    (heaps,) = await _run(
        transport,
        thread_pool,
        send_fn,
        send_config=spead2.send.StreamConfig(max_packet_size=packet_size, max_heaps=window + 1),
        recv_config=spead2.recv.StreamConfig(max_heaps=4, bug_compat=flavour.bug_compat),
    )
    ig_recv = spead2.ItemGroup()
    received = []
    for heap in heaps:
        assert isinstance(heap, spead2.recv.Heap)
        assert heap.flavour == flavour
        updated = ig_recv.update(heap)
        received.append({name: item.value for name, item in updated.items()})
    assert len(received) == rounds
    for got, want in zip(received, expected):
        assert sorted(got) == sorted(want)
        for name in want:
            _assert_equal(got[name], want[name], name)


@pytest.mark.asyncio
@pytest.mark.parametrize("case", sorted(SCALAR_CASES) + sorted(ARRAY_CASES))
async def test_item(transport, thread_pool, case):
    item = SCALAR_CASES.get(case) or ARRAY_CASES[case]
    await _roundtrip(transport, thread_pool, [item])


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "flavour_args",
    [(4, 64, 40, 0), (4, 64, 48, 0), (4, 64, 56, 0), (4, 64, 40, spead2.BUG_COMPAT_PYSPEAD_0_5_2)],
    ids=["hab40", "hab48", "hab56", "pyspead"],
)
async def test_flavours(transport, thread_pool, flavour_args):
    flavour = spead2.Flavour(*flavour_args)
    items = [dict(d) for d in SCALAR_CASES.values() if "format" not in d or flavour.bug_compat == 0]
    items += [dict(ARRAY_CASES[k]) for k in ("u8_array", "i32_2d", "big_u16")]
    for i, item in enumerate(items):
        item["id"] = 0x10 + i  # small enough for 56-bit heap addresses
    await _roundtrip(transport, thread_pool, items, flavour=flavour)


@pytest.mark.asyncio
@pytest.mark.parametrize("packet_size", [56, 200, 9000])
async def test_packet_sizes(transport, thread_pool, packet_size):
    items = [SCALAR_CASES["u32_be"], ARRAY_CASES["i32_2d"], ARRAY_CASES["big_u16"], ARRAY_CASES["string"]]
    await _roundtrip(transport, thread_pool, items, packet_size=packet_size)


@pytest.mark.asyncio
async def test_many_heaps_in_flight(transport, thread_pool):
    """100 heaps with up to 6 futures outstanding while the receiver consumes them (ring of 4)."""
    await _roundtrip(transport, thread_pool, [ARRAY_CASES["i32_2d"], SCALAR_CASES["u64_le"]], rounds=100, window=6)


@pytest.mark.asyncio
async def test_send_heaps_group(transport, thread_pool):
    heaps = []
    for i in range(3):
        ig = spead2.send.ItemGroup()
        ig.add_item(0x1000, "x", "an x", (1000,), np.uint16, value=np.full(1000, i, np.uint16))
        heaps.append(ig.get_heap())
    refs = [spead2.send.HeapReference(h, cnt=10 + i) for i, h in enumerate(heaps)]

    async def send_fn(sender):
        n1 = await sender.async_send_heaps(refs, spead2.send.GroupMode.ROUND_ROBIN)
        n2 = await sender.async_send_heaps(spead2.send.HeapReferenceList(refs[::-1]), spead2.send.GroupMode.SERIAL)
        assert n1 == n2 == sum(
            sum(len(p) for p in spead2.send.PacketGenerator(h, 10 + i, 1472)) for i, h in enumerate(heaps)
        )

    (received,) = await _run(transport, thread_pool, send_fn, recv_config=spead2.recv.StreamConfig(max_heaps=3))
    assert sorted(h.cnt for h in received[:3]) == [10, 11, 12]
    assert [h.cnt for h in received[3:]] == [12, 11, 10]
    for heap in received:
        ig = spead2.ItemGroup()
        ig.update(heap)
        np.testing.assert_array_equal(ig["x"].value, np.full(1000, heap.cnt - 10, np.uint16))


@pytest.mark.asyncio
async def test_descriptors_then_data(transport, thread_pool):
    ig = spead2.send.ItemGroup()
    ig.add_item(0x1000, "x", "an x", (), np.uint32, value=5)
    ig.add_item(0x1001, "y", "a y", (None,), format=[("c", 8)], value="why")

    async def send_fn(sender):
        await sender.async_send_heap(ig.get_start())
        await sender.async_send_heap(ig.get_heap(data="none"))
        await sender.async_send_heap(ig.get_heap(descriptors="none", data="all"))

    (heaps,) = await _run(transport, thread_pool, send_fn)
    assert [h.is_start_of_stream() for h in heaps] == [True, False, False]
    received = spead2.ItemGroup()
    assert received.update(heaps[1]) == {}
    assert sorted(received.update(heaps[2])) == ["x", "y"]
    assert received["x"].value == 5
    assert received["y"].value == "why"


@pytest.mark.asyncio
@pytest.mark.parametrize("transport_cls", [InprocTransport, UdpTransport, Udp6Transport], ids=lambda t: t.name)
async def test_substreams(transport_cls, thread_pool):
    ig = spead2.send.ItemGroup()
    ig.add_item(0x1000, "x", "an x", (), np.uint32, value=0)
    sent = {0: [], 1: [], 2: []}

    async def send_fn(sender):
        assert sender.num_substreams == 3
        futures = []
        for i in range(9):
            ig["x"].value = i
            futures.append(sender.async_send_heap(ig.get_heap(descriptors="all", data="all"), substream_index=i % 3))
            sent[i % 3].append((i + 1, i))
        await asyncio.gather(*futures)

    per_stream = await _run(
        transport_cls(), thread_pool, send_fn, send_config=spead2.send.StreamConfig(max_heaps=12), substreams=3
    )
    for index, heaps in enumerate(per_stream):
        got = []
        for heap in heaps:
            received = spead2.ItemGroup()
            received.update(heap)
            got.append((heap.cnt, received["x"].value))
        assert got == sent[index]
