# SPDX-License-Identifier: LGPL-3.0-or-later
"""The passthrough suite in asyncio: spead2.recv.asyncio.Stream receivers (and, where spead2 has
one, spead2.send.asyncio senders) running together on one event loop.

Live transports (receivers listen before anything is sent, and a stop heap ends each stream):
inproc (InprocQueue), udp (127.0.0.1, rate-limited so that loopback loses nothing), udp6 (::1,
the socket forms), tcp (127.0.0.1, TcpStream.connect), tcp6 (::1, the socket form of TcpStream)
and, inside a private network namespace, udp_mc (IPv4 multicast on lo, see test_udp_multicast) and
xdp (AF_XDP sender to AF_XDP reader across a veth pair there, where the extension has AF_XDP).

Deferred transports (the receiver reads bytes that all exist before it starts): mem
(send.BytesStream, which has no asyncio form, behind the asyncio sender interface, read back with
add_buffer_reader) and pcap (send.asyncio.UdpStream to a plain socket that a thread drains, the
datagrams written with test_passthrough_net.write_pcap and read with add_udp_pcap_file_reader).

The item cases and comparison helpers are those of test_passthrough.py.
"""

import asyncio
import os
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest
from test_passthrough import ARRAY_CASES, SCALAR_CASES, _assert_equal, _bump
from test_passthrough_net import (
    NETNS_ENV,
    NETNS_XDP_SETUP,
    XDP_MAX_PACKET_SIZE,
    XDP_RECV_ADDRESS,
    XDP_SEND_ADDRESS,
    _free_port,
    _netns_command,
    _retry_bind,
    write_pcap,
    xdp_available,
)

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

    def add_reader(self, stream):
        """Adds the UDP reader and returns the endpoint to send to."""

        def add():
            port = _free_port(socket.AF_INET, socket.SOCK_DGRAM)
            stream.add_udp_reader(port, buffer_size=UDP_BUFFER, bind_hostname="127.0.0.1")
            return port

        return ("127.0.0.1", _retry_bind(add))

    def make_sender(self, thread_pool, endpoints, config):
        return spead2.send.asyncio.UdpStream(thread_pool, endpoints, config, UDP_BUFFER)

    async def open(self, thread_pool, send_config, recv_config, ring_config, substreams=1):
        receivers = []
        endpoints = []
        for _ in range(substreams):
            stream = spead2.recv.asyncio.Stream(thread_pool, recv_config, ring_config)
            endpoints.append(self.add_reader(stream))
            receivers.append(stream)
        return self.make_sender(thread_pool, endpoints, _with_rate(send_config, UDP_RATE)), receivers


class Udp6Transport(UdpTransport):
    name = "udp6"

    def add_reader(self, stream):
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER)
            sock.bind(("::1", 0))
            stream.add_udp_reader(sock)
            return ("::1", sock.getsockname()[1])

    def make_sender(self, thread_pool, endpoints, config):
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as src:
            src.bind(("::1", 0))
            return spead2.send.asyncio.UdpStream(thread_pool, src, endpoints, config)


class UdpMulticastTransport(UdpTransport):
    """Only inside a private network namespace (multicast route on lo), see test_udp_multicast.
    Substream i goes to group 239.10.11.(12 + i)."""

    name = "udp_mc"

    def __init__(self):
        self._next_group = 12

    def add_reader(self, stream):
        group = f"239.10.11.{self._next_group}"
        self._next_group += 1

        def add():
            port = _free_port(socket.AF_INET, socket.SOCK_DGRAM)
            stream.add_udp_reader(group, port, buffer_size=UDP_BUFFER, interface_address="127.0.0.1")
            return port

        return (group, _retry_bind(add))

    def make_sender(self, thread_pool, endpoints, config):
        return spead2.send.asyncio.UdpStream(
            thread_pool, endpoints, config, UDP_BUFFER, ttl=1, interface_address="127.0.0.1"
        )


class XdpTransport(UdpTransport):
    """Only inside a private network namespace: spead2.send.asyncio.UdpXdpStream out of one end
    of a veth pair to an AF_XDP reader on the other, over IPv4 multicast (one substream: one
    XDP program per interface)."""

    name = "xdp"
    group = "239.10.12.14"

    def add_reader(self, stream):
        port = _free_port(socket.AF_INET, socket.SOCK_DGRAM)
        config = spead2.recv.UdpXdpConfig(
            endpoints=[(self.group, port)], interface_address=XDP_RECV_ADDRESS
        )
        stream.add_udp_xdp_reader(config)
        return (self.group, port)

    def make_sender(self, thread_pool, endpoints, config):
        config = spead2.send.StreamConfig(
            max_packet_size=min(config.max_packet_size, XDP_MAX_PACKET_SIZE),
            max_heaps=config.max_heaps,
            rate=config.rate,
            burst_size=config.burst_size,
        )
        xdp_config = spead2.send.UdpXdpConfig(endpoints=endpoints, interface_address=XDP_SEND_ADDRESS)
        return spead2.send.asyncio.UdpXdpStream(thread_pool, config, xdp_config)


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


class _DoneFutureSender:
    """A synchronous sender behind the asyncio sender interface: each call sends at once and
    returns a future that is already done (with the byte count, or the exception)."""

    def __init__(self, sender):
        self._sender = sender
        self.num_substreams = sender.num_substreams

    def _done(self, fn, *args):
        future = asyncio.get_running_loop().create_future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def async_send_heap(self, heap, cnt=-1, substream_index=0, rate=-1.0):
        return self._done(self._sender.send_heap, heap, cnt, substream_index, rate)

    def async_send_heaps(self, heaps, mode):
        return self._done(self._sender.send_heaps, heaps, mode)

    async def async_flush(self):
        pass


class MemTransport:
    """Deferred: open() returns no receivers; receivers() reads what was sent."""

    name = "mem"

    async def open(self, thread_pool, send_config, recv_config, ring_config, substreams=1):
        assert substreams == 1
        self._sender = spead2.send.BytesStream(thread_pool, send_config)
        return _DoneFutureSender(self._sender), None

    def receivers(self, thread_pool, recv_config, ring_config):
        stream = spead2.recv.asyncio.Stream(thread_pool, recv_config, ring_config)
        stream.add_buffer_reader(self._sender.getvalue())
        return [stream]


class PcapTransport:
    """Deferred: an asyncio UdpStream to a plain socket that a thread drains while the test
    sends; receivers() writes the datagrams to a pcap file (in tmp_path, set by the fixture)."""

    name = "pcap"
    tmp_path = None

    async def open(self, thread_pool, send_config, recv_config, ring_config, substreams=1):
        assert substreams == 1
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self._datagrams = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._drain)
        self._thread.start()
        # The drain is a Python loop, a call per datagram, and the socket buffer holds a few
        # thousand of them whatever their size: keep the datagram rate, not the byte rate, bounded.
        config = _with_rate(send_config, UDP_RATE * min(1.0, send_config.max_packet_size / 1472))
        return spead2.send.asyncio.UdpStream(thread_pool, [self._sock.getsockname()], config, UDP_BUFFER), None

    def _drain(self):
        while True:
            try:
                self._datagrams.append(self._sock.recv(65536))
            except socket.timeout:
                if self._done.is_set():
                    return

    def close(self):
        if getattr(self, "_sock", None) is not None and self._sock.fileno() >= 0:
            self._done.set()
            self._thread.join()
            self._sock.close()

    def receivers(self, thread_pool, recv_config, ring_config):
        self.close()  # everything was flushed: what is still queued is drained first
        path = os.path.join(str(self.tmp_path), "capture.pcap")
        write_pcap(path, self._datagrams)
        stream = spead2.recv.asyncio.Stream(thread_pool, recv_config, ring_config)
        stream.add_udp_pcap_file_reader(path)
        return [stream]


IN_NETNS = bool(os.environ.get(NETNS_ENV))
if IN_NETNS:
    TRANSPORTS = [UdpMulticastTransport] + ([XdpTransport] if xdp_available() else [])
    SUBSTREAM_TRANSPORTS = [UdpMulticastTransport]
else:
    TRANSPORTS = [
        MemTransport,
        InprocTransport,
        UdpTransport,
        Udp6Transport,
        TcpTransport,
        Tcp6Transport,
        PcapTransport,
    ]
    SUBSTREAM_TRANSPORTS = [InprocTransport, UdpTransport, Udp6Transport]


@pytest.fixture(params=TRANSPORTS, ids=lambda t: t.name)
def transport(request, tmp_path):
    result = request.param()
    result.tmp_path = tmp_path
    yield result
    if isinstance(result, PcapTransport):
        result.close()  # stops the drain thread of a test that failed before receivers()


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

    async def produce():
        flavour = await send_fn(sender) or spead2.Flavour()
        for i in range(substreams):
            end = spead2.send.Heap(flavour)
            end.add_end()
            await sender.async_send_heap(end, substream_index=i)
        await sender.async_flush()

    if receivers is None:  # deferred: the receivers read what was sent
        await asyncio.wait_for(produce(), TIMEOUT)
        receivers = transport.receivers(thread_pool, recv_config, ring_config)
        return await asyncio.wait_for(asyncio.gather(*(_collect(stream) for stream in receivers)), TIMEOUT)
    collectors = [asyncio.ensure_future(_collect(stream)) for stream in receivers]
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
@pytest.mark.parametrize("transport_cls", SUBSTREAM_TRANSPORTS, ids=lambda t: t.name)
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


@pytest.mark.skipif(IN_NETNS, reason="already inside the namespace")
def test_udp_multicast():
    """The whole asyncio suite over IPv4 multicast on lo, in a private network namespace (no
    traffic leaves it): pytest runs this module again there with only the multicast transport."""
    cmd, reason = _netns_command()
    if cmd is None:
        pytest.skip(f"no private network namespace: {reason}")
    script = (
        "set -e; ip link set lo up; ip route add 239.0.0.0/8 dev lo; "
        + NETNS_XDP_SETUP
        + f'exec "{sys.executable}" -m pytest -q -p no:cacheprovider -x -k "not test_udp_multicast" "{os.path.abspath(__file__)}"'
    )
    result = subprocess.run(
        [*cmd, "sh", "-c", script],
        capture_output=True,
        text=True,
        env=dict(os.environ, **{NETNS_ENV: "1"}),
        cwd=os.path.dirname(os.path.abspath(__file__)),
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    # Everything ran and passed over multicast (the ids name the transport), none skipped.
    summary = output.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, summary
    assert int(summary.split(" passed")[0]) >= 30, summary
