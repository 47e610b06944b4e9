# SPDX-License-Identifier: LGPL-3.0-or-later
"""send.UdpStream and send.TcpStream: overloads, the bytes on the wire (compared with
PacketGenerator), socket objects, and errors as spead2 4.5.1 raises them. Loopback only."""

import re
import socket

import numpy as np
import pytest

import spead2
import spead2.send as send

HOST_NOT_FOUND = re.compile(r"^resolve: Host not found \((authoritative|non-authoritative\), try again later)\) \[asio\.netdb:[12]\]$")


@pytest.fixture
def thread_pool():
    return spead2.ThreadPool(1)


def make_heap(value=1, size=100):
    ig = send.ItemGroup()
    ig.add_item(0x1000, "x", "", (size,), np.uint32, value=np.full(size, value, np.uint32))
    return ig.get_heap(descriptors="all", data="all")


def expected_packets(heap, cnt, packet_size=send.StreamConfig.DEFAULT_MAX_PACKET_SIZE):
    return [bytes(p) for p in send.PacketGenerator(heap, cnt, packet_size)]


@pytest.fixture
def udp_receiver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def receive(sock, n):
    return [sock.recv(65536) for _ in range(n)]


def test_constants():
    assert send.UdpStream.DEFAULT_BUFFER_SIZE == 524288
    assert send.TcpStream.DEFAULT_BUFFER_SIZE == 212992
    assert issubclass(send.UdpStream, send.Stream)
    assert issubclass(send.TcpStream, send.Stream)


# ---------------------------------------------------------------------------------------------
# UdpStream


@pytest.mark.parametrize(
    "make",
    [
        lambda tp, ep, cfg: send.UdpStream(tp, [ep], cfg),
        lambda tp, ep, cfg: send.UdpStream(tp, [ep], cfg, 0, "127.0.0.1"),
        lambda tp, ep, cfg: send.UdpStream(
            thread_pool=tp, endpoints=[list(ep)], config=cfg, buffer_size=65536, interface_address="127.0.0.1"
        ),
        lambda tp, ep, cfg: send.UdpStream(tp, [("localhost", ep[1])], cfg),
    ],
    ids=["plain", "positional", "keywords", "hostname"],
)
def test_udp_bytes(thread_pool, udp_receiver, make):
    config = send.StreamConfig(max_packet_size=300)
    stream = make(thread_pool, udp_receiver.getsockname(), config)
    assert stream.num_substreams == 1
    heap = make_heap(3)
    sent = stream.send_heap(heap)
    want = expected_packets(heap, 1, 300)
    assert len(want) > 1
    assert sent == sum(len(p) for p in want)
    assert receive(udp_receiver, len(want)) == want
    stream.send_heap(heap, cnt=0x1234)
    assert receive(udp_receiver, len(want)) == expected_packets(heap, 0x1234, 300)


def test_udp_substreams_and_send_heaps(thread_pool):
    socks = []
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
        socks.append(s)
    try:
        stream = send.UdpStream(thread_pool, [s.getsockname() for s in socks])
        assert stream.num_substreams == 2
        heaps = [make_heap(i) for i in range(2)]
        stream.send_heap(heaps[1], cnt=7, substream_index=1)
        assert receive(socks[1], 1) == expected_packets(heaps[1], 7)
        refs = [send.HeapReference(h, cnt=10 + i, substream_index=i) for i, h in enumerate(heaps)]
        stream.send_heaps(refs, send.GroupMode.ROUND_ROBIN)
        stream.send_heaps(send.HeapReferenceList(refs), send.GroupMode.SERIAL)
        for i, s in enumerate(socks):
            assert receive(s, 2) == expected_packets(heaps[i], 10 + i) * 2
        with pytest.raises(OSError) as info:
            stream.send_heap(heaps[0], substream_index=2)
        assert info.value.args == (22, "Invalid argument [system:22]")
    finally:
        for s in socks:
            s.close()


def test_udp_ipv6(thread_pool):
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as rx:
        rx.bind(("::1", 0))
        rx.settimeout(5)
        stream = send.UdpStream(thread_pool, [("::1", rx.getsockname()[1])])
        heap = make_heap(4)
        stream.send_heap(heap)
        assert receive(rx, 1) == expected_packets(heap, 1)


def test_udp_socket(thread_pool, udp_receiver):
    """The caller's socket (duplicated): packets come from its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    source = sock.getsockname()
    stream = send.UdpStream(thread_pool, sock, [udp_receiver.getsockname()], send.StreamConfig(max_packet_size=9000))
    sock.close()
    heap = make_heap(5)
    stream.send_heap(heap)
    data, addr = udp_receiver.recvfrom(65536)
    assert [data] == expected_packets(heap, 1, 9000)
    assert addr == source
    stream = send.UdpStream(thread_pool=thread_pool, socket=_Duck(udp_receiver), endpoints=[udp_receiver.getsockname()])
    stream.send_heap(heap, cnt=2)
    assert receive(udp_receiver, 1) == expected_packets(heap, 2)


class _Duck:
    def __init__(self, sock):
        self.sock = sock

    def fileno(self):
        return self.sock.fileno()


@pytest.mark.parametrize(
    "args, kwargs, exc_type, message",
    [
        (([],), {}, ValueError, "Endpoint list must be non-empty"),
        (([("127.0.0.1", 8888), ("::1", 8888)],), {}, ValueError, "Endpoint does not match protocol of the socket"),
        (([("127.0.0.1", 8888)],), {"ttl": 1}, ValueError, "endpoint is not a multicast address"),
        (([("ff14::1", 8888)],), {"ttl": 1, "interface_address": "127.0.0.1"}, ValueError, "endpoint is not an IPv4 multicast address"),
        (([("127.0.0.1", 8888)],), {"ttl": 1, "interface_address": "127.0.0.1"}, ValueError, "endpoint is not an IPv4 multicast address"),
        (([("239.1.2.3", 8888)],), {"ttl": 1, "interface_address": "::1"}, ValueError, "interface address is not an IPv4 address"),
        # spead2 4.5.1 names the wrong family in this one; we say the same.
        (([("239.1.2.3", 8888)],), {"ttl": 1, "interface_index": 0}, ValueError, "endpoint is not an IPv4 multicast address"),
        (([("::1", 8888)],), {"ttl": 1, "interface_index": 0}, ValueError, "endpoint is not an IPv4 multicast address"),
        (([("127.0.0.1", 8888)],), {"interface_address": "192.0.2.1"}, RuntimeError, "bind: Cannot assign requested address [system:99]"),
        (([("127.0.0.1", 8888)],), {"interface_address": "::1"}, RuntimeError, "bind: Address family not supported by protocol [system:97]"),
    ],
)
def test_udp_errors(thread_pool, args, kwargs, exc_type, message):
    with pytest.raises(exc_type) as info:
        send.UdpStream(thread_pool, *args, **kwargs)
    assert type(info.value) is exc_type
    assert str(info.value) == message


def test_udp_unresolvable(thread_pool):
    with pytest.raises(RuntimeError) as info:
        send.UdpStream(thread_pool, [("nonexistent.invalid", 8888)])
    assert HOST_NOT_FOUND.match(str(info.value)), str(info.value)


def test_udp_multicast_forms(thread_pool):
    """The TTL forms construct for multicast endpoints (nothing is sent)."""
    cfg = send.StreamConfig()
    send.UdpStream(thread_pool, [("239.1.2.3", 8888)], cfg, 0, 1)
    send.UdpStream(thread_pool, [("239.1.2.3", 8888)], ttl=4)
    send.UdpStream(thread_pool, [("239.1.2.3", 8888)], cfg, 0, 1, "127.0.0.1")
    send.UdpStream(thread_pool, [("ff14::1", 8888)], cfg, 0, 1, 0)
    send.UdpStream(thread_pool, [("ff14::1", 8888)], ttl=2, interface_index=0)


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (([("127.0.0.1", 70000)],), {}),
        (([("127.0.0.1", -1)],), {}),
        (([("127.0.0.1", 8888)],), {"buffer_size": -1}),
        (([("127.0.0.1",)],), {}),
        (([("127.0.0.1", 8888)],), {"interface_index": 0}),  # needs ttl
        ((None,), {}),
    ],
)
def test_udp_type_errors(thread_pool, args, kwargs):
    with pytest.raises(TypeError, match="incompatible function arguments"):
        send.UdpStream(thread_pool, *args, **kwargs)


def test_udp_wrong_socket_kind(thread_pool):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        with pytest.raises(TypeError):
            send.UdpStream(thread_pool, tcp, [("127.0.0.1", 8888)])
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as v6:
        with pytest.raises(ValueError, match="^Endpoint does not match protocol of the socket$"):
            send.UdpStream(thread_pool, v6, [("127.0.0.1", 8888)])


def test_udp_emsgsize(thread_pool, udp_receiver):
    stream = send.UdpStream(thread_pool, [udp_receiver.getsockname()], send.StreamConfig(max_packet_size=70000))
    with pytest.raises(OSError) as info:
        stream.send_heap(make_heap(1, 17000))  # one packet of ~68 kB: over the UDP limit
    assert type(info.value) is OSError
    assert info.value.errno == 90
    assert info.value.args == (90, "Message too long [system:90]")
    # The stream carries on; the failed heap used up cnt 1 (as in spead2).
    heap = make_heap(2)
    stream.send_heap(heap)
    assert receive(udp_receiver, 1) == expected_packets(heap, 2, 70000)


# ---------------------------------------------------------------------------------------------
# TcpStream


@pytest.fixture
def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    sock.settimeout(5)
    yield sock
    sock.close()


def read_all(conn):
    conn.settimeout(5)
    chunks = []
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


@pytest.mark.parametrize(
    "make",
    [
        lambda tp, ep: send.TcpStream(tp, [ep]),
        lambda tp, ep: send.TcpStream(tp, [ep], send.StreamConfig(max_packet_size=500), 0, "127.0.0.1"),
        lambda tp, ep: send.TcpStream(
            thread_pool=tp, endpoints=[ep], config=send.StreamConfig(max_packet_size=500), buffer_size=100000
        ),
        lambda tp, ep: send.TcpStream(tp, [("localhost", ep[1])]),
    ],
    ids=["plain", "positional", "keywords", "hostname"],
)
def test_tcp_bytes(thread_pool, listener, make):
    stream = make(thread_pool, listener.getsockname())
    conn, _ = listener.accept()  # connected already: the constructor waited for it
    heaps = [make_heap(1), make_heap(2, 1000)]
    total = stream.send_heap(heaps[0])
    total += stream.send_heaps([send.HeapReference(heaps[1], cnt=9)], send.GroupMode.SERIAL)
    del stream  # closes the connection
    data = read_all(conn)
    conn.close()
    assert stream_bytes_ok(data, heaps)
    assert total == len(data)


def stream_bytes_ok(data, heaps):
    for size in (1472, 500):
        want = b"".join(expected_packets(heaps[0], 1, size) + expected_packets(heaps[1], 9, size))
        if data == want:
            return True
    return False


def test_tcp_socket(thread_pool, listener):
    client = socket.create_connection(listener.getsockname())
    conn, _ = listener.accept()
    stream = send.TcpStream(thread_pool, client, send.StreamConfig(max_packet_size=500))
    client.close()  # duplicated
    heap = make_heap(7)
    stream.send_heap(heap, cnt=3)
    del stream
    assert read_all(conn) == b"".join(expected_packets(heap, 3, 500))
    conn.close()


def test_tcp_connect_refused(thread_pool):
    port = _closed_port()
    with pytest.raises(ConnectionRefusedError) as info:
        send.TcpStream(thread_pool, [("127.0.0.1", port)])
    assert info.value.errno == 111
    assert info.value.args == (111, "Connection refused [system:111]")


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "endpoints, kwargs, exc_type, message",
    [
        ([], {}, ValueError, "endpoints must contain exactly one element"),
        ([("127.0.0.1", 1), ("127.0.0.1", 2)], {}, ValueError, "endpoints must contain exactly one element"),
        (None, {"interface_address": "::1"}, RuntimeError, "bind: Address family not supported by protocol [system:97]"),
    ],
)
def test_tcp_errors(thread_pool, listener, endpoints, kwargs, exc_type, message):
    if endpoints is None:
        endpoints = [listener.getsockname()]
    with pytest.raises(exc_type) as info:
        send.TcpStream(thread_pool, endpoints, **kwargs)
    assert type(info.value) is exc_type
    assert str(info.value) == message


def test_tcp_bind_not_local(thread_pool, listener):
    with pytest.raises(RuntimeError) as info:
        send.TcpStream(thread_pool, [listener.getsockname()], interface_address="192.0.2.1")
    assert type(info.value) is RuntimeError
    # spead2: "bind: Cannot assign requested address [system:99 at <boost source location>]"
    assert str(info.value).endswith("Cannot assign requested address [system:99]")


def test_tcp_unresolvable(thread_pool):
    with pytest.raises(RuntimeError) as info:
        send.TcpStream(thread_pool, [("nonexistent.invalid", 8888)])
    assert HOST_NOT_FOUND.match(str(info.value)), str(info.value)


def test_tcp_type_errors(thread_pool):
    with pytest.raises(TypeError):
        send.TcpStream(thread_pool, [("127.0.0.1", 70000)])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        with pytest.raises(TypeError):
            send.TcpStream(thread_pool, udp)


def test_tcp_unconnected_socket_accepted(thread_pool):
    """As in spead2, an unconnected socket is taken; sending on it then fails with errno."""
    with socket.socket() as s:
        stream = send.TcpStream(thread_pool, s)
    with pytest.raises(OSError) as info:
        stream.send_heap(make_heap())
    assert info.value.errno is not None


def test_tcp_bind_error_text(thread_pool):
    """A failing bind reads as spead2's does, less its Boost source location (once, not twice)."""
    with pytest.raises(RuntimeError) as info:
        send.TcpStream(thread_pool, [("127.0.0.1", 9)], interface_address="192.0.2.1")  # TEST-NET-1
    assert type(info.value) is RuntimeError
    assert str(info.value) == "bind: Cannot assign requested address [system:99]"
