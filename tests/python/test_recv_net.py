# SPDX-License-Identifier: LGPL-3.0-or-later
"""Network readers of recv._Stream: add_udp_reader (4 overloads), add_tcp_reader (2) and
add_udp_pcap_file_reader. Expected exception types and messages are those spead2 4.5.1 gives
(probed by running it); only loopback is used."""

import os
import re
import socket
import struct
import time

import numpy as np
import pytest

import spead2
import spead2.recv as recv
import spead2.send as send
from test_passthrough_net import write_pcap

UDP_BUFFER = 1024 * 1024


@pytest.fixture
def thread_pool():
    return spead2.ThreadPool(1)


def make_stream(thread_pool, **kwargs):
    return recv.Stream(thread_pool, recv.StreamConfig(**kwargs), recv.RingStreamConfig(heaps=8))


def heap_packets(value, cnt, packet_size=1472, items=1, end=False):
    """The packets of a heap holding `items` uint32 arrays of 100 elements (value, value+1, ...)."""
    ig = send.ItemGroup()
    for i in range(items):
        ig.add_item(0x1000 + i, "x%d" % i, "", (100,), np.uint32, value=np.full(100, value + i, np.uint32))
    heap = ig.get_end() if end else ig.get_heap(descriptors="all", data="all")
    return [bytes(p) for p in send.PacketGenerator(heap, cnt, packet_size)]


def stop_packet():
    heap = send.Heap()
    heap.add_end()
    (packet,) = [bytes(p) for p in send.PacketGenerator(heap, 999, 1472)]
    return packet


def values(heap):
    ig = spead2.ItemGroup()
    ig.update(heap)
    return {name: int(item.value[0]) for name, item in ig.items()}


def free_port(family=socket.AF_INET, kind=socket.SOCK_DGRAM):
    with socket.socket(family, kind) as s:
        s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return s.getsockname()[1]


def udp_send(port, packets, host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        for p in packets:
            s.sendto(p, (host, port))


HOST_NOT_FOUND = re.compile(r"^resolve: Host not found \((authoritative|non-authoritative\), try again later)\) \[asio\.netdb:[12]\]$")


# ---------------------------------------------------------------------------------------------
# Constants and signatures


def test_constants():
    assert recv._Stream.DEFAULT_UDP_MAX_SIZE == 9200
    assert recv._Stream.DEFAULT_UDP_BUFFER_SIZE == 8388608
    assert recv._Stream.DEFAULT_TCP_MAX_SIZE == 65536
    assert recv._Stream.DEFAULT_TCP_BUFFER_SIZE == 212992
    assert recv.Stream.DEFAULT_UDP_MAX_SIZE == 9200


# ---------------------------------------------------------------------------------------------
# UDP: overloads (checked by their effect or their own error messages)


@pytest.mark.parametrize(
    "call",
    [
        lambda s, port: s.add_udp_reader(port, bind_hostname="127.0.0.1"),
        lambda s, port: s.add_udp_reader(port, 9200, UDP_BUFFER, "127.0.0.1"),
        lambda s, port: s.add_udp_reader(port=port, max_size=9200, buffer_size=0, bind_hostname="127.0.0.1"),
        lambda s, port: s.add_udp_reader(port),  # 0.0.0.0
        lambda s, port: s.add_udp_reader("127.0.0.1", port, interface_address="127.0.0.1"),
        lambda s, port: s.add_udp_reader("127.0.0.1", port, 9200, UDP_BUFFER, "127.0.0.1"),
        lambda s, port: s.add_udp_reader(multicast_group="0.0.0.0", port=port, interface_address="127.0.0.1"),
    ],
    ids=["port", "port-positional", "port-keywords", "port-any", "iface", "iface-positional", "iface-unspecified"],
)
def test_udp_receives(thread_pool, call):
    stream = make_stream(thread_pool)
    port = free_port()
    call(stream, port)
    udp_send(port, heap_packets(5, 1) + [stop_packet()])
    heaps = list(stream)
    assert [values(h) for h in heaps] == [{"x0": 5}]
    assert heaps[0].cnt == 1


def test_udp_ipv6(thread_pool):
    stream = make_stream(thread_pool)
    port = free_port(socket.AF_INET6)
    stream.add_udp_reader(port, bind_hostname="::1")
    udp_send(port, heap_packets(7, 3) + [stop_packet()], host="::1")
    assert [values(h) for h in stream] == [{"x0": 7}]


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        # A string first picks the interface-address form, whose default interface is 0.0.0.0.
        (("127.0.0.1", 0), {}, "endpoint is not multicast and does not match interface address"),
        (("10.0.0.1", 0), {"interface_address": "127.0.0.1"}, "endpoint is not multicast and does not match interface address"),
        (("::1", 0), {}, "endpoint is not an IPv4 address"),
        (("239.1.2.3", 0), {"interface_address": "::1"}, "interface address is not an IPv4 address"),
        # An integer fifth argument picks the interface-index (IPv6) form.
        (("239.1.2.3", 0, 9200, 0, 0), {}, "endpoint is not an IPv6 multicast address"),
        (("::1", 0), {"interface_index": 0}, "endpoint is not an IPv6 multicast address"),
        (("127.0.0.1", 0), {"interface_index": 1}, "endpoint is not an IPv6 multicast address"),
    ],
)
def test_udp_bad_interface_combinations(thread_pool, args, kwargs, message):
    stream = make_stream(thread_pool)
    with pytest.raises(ValueError) as info:
        stream.add_udp_reader(*args, **kwargs)
    assert type(info.value) is ValueError
    assert str(info.value) == message


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((65536,), {}),
        ((-1,), {}),
        ((1.5,), {}),
        ((0,), {"max_size": -1}),
        ((0,), {"buffer_size": -1}),
        (("239.1.2.3", 70000), {}),
        (("ff14::1", 0), {"interface_index": -1}),
        ((), {"socket": 5}),
        ((0,), {"bad_keyword": 1}),
        ((0,), {"interface_address": "127.0.0.1"}),  # the port form has no interface
        ((None,), {}),
    ],
)
def test_udp_argument_type_errors(thread_pool, args, kwargs):
    stream = make_stream(thread_pool)
    with pytest.raises(TypeError, match="incompatible function arguments"):
        stream.add_udp_reader(*args, **kwargs)


def test_udp_bind_in_use(thread_pool):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        stream = make_stream(thread_pool)
        with pytest.raises(RuntimeError) as info:
            stream.add_udp_reader(port, bind_hostname="127.0.0.1")
        assert type(info.value) is RuntimeError
        assert str(info.value) == "bind: Address already in use [system:98]"


def test_udp_bind_in_use_explicit_start(thread_pool):
    """With explicit_start the socket is bound (and fails) in start()."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        stream = make_stream(thread_pool, explicit_start=True)
        stream.add_udp_reader(busy.getsockname()[1], bind_hostname="127.0.0.1")
        with pytest.raises(RuntimeError) as info:
            stream.start()
        assert str(info.value) == "bind: Address already in use [system:98]"


def test_udp_bind_not_local(thread_pool):
    stream = make_stream(thread_pool)
    with pytest.raises(RuntimeError) as info:
        stream.add_udp_reader(0, bind_hostname="192.0.2.1")  # TEST-NET-1, not ours
    assert str(info.value) == "bind: Cannot assign requested address [system:99]"


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.add_udp_reader(0, bind_hostname="nonexistent.invalid"),
        lambda s: s.add_udp_reader("nonexistent.invalid", 0, interface_address="127.0.0.1"),
        lambda s: s.add_udp_reader("239.1.2.3", 0, interface_address="nonexistent.invalid"),
        lambda s: s.add_tcp_reader(0, bind_hostname="nonexistent.invalid"),
    ],
)
def test_unresolvable(thread_pool, call):
    stream = make_stream(thread_pool)
    with pytest.raises(RuntimeError) as info:
        call(stream)
    assert type(info.value) is RuntimeError
    assert HOST_NOT_FOUND.match(str(info.value)), str(info.value)


def test_udp_host_name(thread_pool):
    stream = make_stream(thread_pool)
    port = free_port()
    stream.add_udp_reader(port, bind_hostname="localhost")
    udp_send(port, heap_packets(1, 1) + [stop_packet()])
    assert len(list(stream)) == 1


# ---------------------------------------------------------------------------------------------
# UDP: socket objects


def test_udp_socket(thread_pool):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    stream = make_stream(thread_pool)
    stream.add_udp_reader(sock, max_size=2000)
    sock.close()  # the stream has its own duplicate
    udp_send(port, heap_packets(3, 1) + heap_packets(4, 2) + [stop_packet()])
    assert [values(h) for h in stream] == [{"x0": 3}, {"x0": 4}]


def test_udp_socket_keyword_and_duck(thread_pool):
    """Any object with fileno() of a UDP socket will do, as for spead2."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.bind(("::1", 0))

    class Duck:
        def fileno(self):
            return sock.fileno()

    stream = make_stream(thread_pool)
    stream.add_udp_reader(socket=Duck())
    udp_send(sock.getsockname()[1], heap_packets(9, 1) + [stop_packet()], host="::1")
    sock.close()
    assert [values(h) for h in stream] == [{"x0": 9}]


def test_udp_socket_wrong_kinds(thread_pool):
    stream = make_stream(thread_pool)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        with pytest.raises(TypeError):
            stream.add_udp_reader(tcp)
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.close()
    with pytest.raises(TypeError):
        stream.add_udp_reader(closed)
    r, w = os.pipe()
    try:

        class Pipe:
            def fileno(self):
                return r

        with pytest.raises(TypeError):
            stream.add_udp_reader(Pipe())
    finally:
        os.close(r)
        os.close(w)


# ---------------------------------------------------------------------------------------------
# UDP: datagrams that are not one whole SPEAD packet are dropped and counted


def test_udp_drops_counted(thread_pool):
    config = recv.StreamConfig()
    index = config.add_stat("udp_dropped")
    stream = recv.Stream(thread_pool, config, recv.RingStreamConfig(heaps=8))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    stream.add_udp_reader(sock, max_size=1000)
    port = sock.getsockname()[1]
    sock.close()
    (good,) = heap_packets(1, 1, packet_size=1000)
    big = heap_packets(2, 2, packet_size=4000, items=3)  # one 1000+ byte packet: over max_size
    assert len(big) == 1 and len(big[0]) > 1000
    udp_send(
        port,
        [
            b"garbage!" * 4,  # no SPEAD header
            good[: len(good) // 2],  # truncated: decodes to more than it holds
            good + b"\0" * 8,  # trailing bytes: decodes to less than it holds
            big[0],
            b"",
            good,
            stop_packet(),
        ],
    )
    heaps = list(stream)
    assert [values(h) for h in heaps] == [{"x0": 1}]
    # The batch with the stop packet publishes its counts just after the ring stops.
    deadline = time.monotonic() + 5
    while stream.stats["udp_dropped"] < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    stats = stream.stats
    assert stats["udp_dropped"] == 5
    assert stats[index] == 5
    assert stats.packets == 2  # the good one and the stop packet


def test_udp_drops_without_stat(thread_pool):
    """Without the custom stat drops are only logged; the stream carries on."""
    stream = make_stream(thread_pool)
    port = free_port()
    stream.add_udp_reader(port, bind_hostname="127.0.0.1")
    udp_send(port, [b"x" * 100] + heap_packets(6, 1) + [stop_packet()])
    assert [values(h) for h in stream] == [{"x0": 6}]
    assert stream.stats.packets == 2


# ---------------------------------------------------------------------------------------------
# TCP


def tcp_connect(port, host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(100):
        try:
            return socket.create_connection((host, port))
        except ConnectionRefusedError:  # the reader listens once its stream runs the start
            time.sleep(0.01)
    raise AssertionError("no TCP listener")


def test_tcp_port_and_keywords(thread_pool):
    stream = make_stream(thread_pool)
    port = free_port(kind=socket.SOCK_STREAM)
    stream.add_tcp_reader(port=port, max_size=9000, buffer_size=0, bind_hostname="127.0.0.1")
    with tcp_connect(port) as c:
        c.sendall(b"".join(heap_packets(11, 5, packet_size=300)))
    heaps = list(stream)  # the peer closing stops the stream
    assert [values(h) for h in heaps] == [{"x0": 11}]
    assert heaps[0].cnt == 5


def test_tcp_ipv6_positional(thread_pool):
    stream = make_stream(thread_pool)
    port = free_port(socket.AF_INET6, socket.SOCK_STREAM)
    stream.add_tcp_reader(port, 65536, 212992, "::1")
    with tcp_connect(port, "::1") as c:
        c.sendall(b"".join(heap_packets(12, 1)))
    assert [values(h) for h in stream] == [{"x0": 12}]


def test_tcp_acceptor(thread_pool):
    acceptor = socket.socket()
    acceptor.bind(("127.0.0.1", 0))
    acceptor.listen(1)
    port = acceptor.getsockname()[1]
    stream = make_stream(thread_pool)
    stream.add_tcp_reader(acceptor=acceptor, max_size=2000)
    acceptor.close()  # duplicated by the reader
    with tcp_connect(port) as c:
        c.sendall(b"".join(heap_packets(13, 1) + heap_packets(14, 2)))
    assert [values(h) for h in stream] == [{"x0": 13}, {"x0": 14}]


def test_tcp_garbage_then_valid(thread_pool):
    """A bad header skips 8 bytes at a time until packets parse again."""
    config = recv.StreamConfig()
    config.add_stat("tcp_dropped")
    stream = recv.Stream(thread_pool, config)
    with socket.socket() as acceptor:
        acceptor.bind(("127.0.0.1", 0))
        acceptor.listen(1)
        stream.add_tcp_reader(acceptor)
        port = acceptor.getsockname()[1]
    with tcp_connect(port) as c:
        c.sendall(b"\x01\x02\x03\x04\x05\x06\x07\x08" * 5 + b"".join(heap_packets(15, 1, packet_size=200)))
        c.sendall(b"\xff" * 16 + b"".join(heap_packets(16, 2)))
    assert [values(h) for h in stream] == [{"x0": 15}, {"x0": 16}]
    assert stream.stats.heaps == 2
    assert stream.stats["tcp_dropped"] == 2  # two runs of garbage


def test_tcp_oversized_packet_skipped(thread_pool):
    config = recv.StreamConfig()
    config.add_stat("tcp_dropped")
    stream = recv.Stream(thread_pool, config)
    with socket.socket() as acceptor:
        acceptor.bind(("127.0.0.1", 0))
        acceptor.listen(1)
        stream.add_tcp_reader(acceptor, max_size=500)
        port = acceptor.getsockname()[1]
    with tcp_connect(port) as c:
        c.sendall(b"".join(heap_packets(17, 1, packet_size=4000)))  # one packet over 500 bytes
        c.sendall(b"".join(heap_packets(18, 2, packet_size=400)))
    assert [values(h) for h in stream] == [{"x0": 18}]
    assert stream.stats["tcp_dropped"] == 1


def test_tcp_peer_closes_mid_packet(thread_pool):
    stream = make_stream(thread_pool)
    with socket.socket() as acceptor:
        acceptor.bind(("127.0.0.1", 0))
        acceptor.listen(1)
        stream.add_tcp_reader(acceptor)
        port = acceptor.getsockname()[1]
    (first,) = heap_packets(19, 1)
    (second,) = heap_packets(20, 2)
    with tcp_connect(port) as c:
        c.sendall(first + second[: len(second) // 2])
    # The stream stops; the half packet is dropped; iteration ends instead of hanging.
    heaps = list(stream)
    assert [values(h) for h in heaps] == [{"x0": 19}]
    with pytest.raises(spead2.Stopped):
        stream.get()


def test_tcp_incomplete_heap_flushed_on_close(thread_pool):
    stream = recv.Stream(thread_pool, recv.StreamConfig(), recv.RingStreamConfig(contiguous_only=False))
    with socket.socket() as acceptor:
        acceptor.bind(("127.0.0.1", 0))
        acceptor.listen(1)
        stream.add_tcp_reader(acceptor)
        port = acceptor.getsockname()[1]
    packets = heap_packets(21, 1, packet_size=200)
    assert len(packets) > 2
    with tcp_connect(port) as c:
        c.sendall(b"".join(packets[:-1]))
    heaps = list(stream)
    assert len(heaps) == 1 and isinstance(heaps[0], recv.IncompleteHeap)
    assert stream.stats.incomplete_heaps_flushed == 1


def test_tcp_max_size_zero_accepted(thread_pool):
    """spead2 takes max_size 0 (then skips every packet)."""
    stream = make_stream(thread_pool)
    with socket.socket() as acceptor:
        acceptor.bind(("127.0.0.1", 0))
        acceptor.listen(1)
        stream.add_tcp_reader(acceptor, max_size=0)
        port = acceptor.getsockname()[1]
    with tcp_connect(port) as c:
        c.sendall(b"".join(heap_packets(22, 1)))
    assert list(stream) == []


def test_tcp_bind_in_use(thread_pool):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        stream = make_stream(thread_pool)
        with pytest.raises(RuntimeError) as info:
            stream.add_tcp_reader(busy.getsockname()[1], bind_hostname="127.0.0.1")
        assert type(info.value) is RuntimeError
        # spead2: "bind: Address already in use [system:98 at <boost source location>]"
        assert str(info.value).endswith(": Address already in use [system:98]")


@pytest.mark.parametrize(
    "args, kwargs",
    [((65536,), {}), ((0,), {"max_size": -1}), ((), {"acceptor": 3}), (("127.0.0.1",), {}), ((0,), {"interface_index": 0})],
)
def test_tcp_argument_type_errors(thread_pool, args, kwargs):
    stream = make_stream(thread_pool)
    with pytest.raises(TypeError, match="incompatible function arguments"):
        stream.add_tcp_reader(*args, **kwargs)


def test_tcp_acceptor_wrong_kind(thread_pool):
    stream = make_stream(thread_pool)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        with pytest.raises(TypeError):
            stream.add_tcp_reader(udp)


# ---------------------------------------------------------------------------------------------
# pcap files

pcap = pytest.mark.skipif(not hasattr(recv._Stream, "add_udp_pcap_file_reader"), reason="built without libpcap")


@pcap
def test_pcap_filter(thread_pool, tmp_path):
    path = str(tmp_path / "two.pcap")
    # Heaps 1 and 3 to port 8888, heap 2 to port 9999, in one file.
    datagrams = []
    write_pcap(path, heap_packets(1, 1) + heap_packets(3, 3), dst=("127.0.0.1", 8888))
    with open(path, "rb") as f:
        data_8888 = f.read()
    write_pcap(path, heap_packets(2, 2), dst=("127.0.0.1", 9999))
    with open(path, "rb") as f:
        data_9999 = f.read()
    with open(path, "wb") as f:
        f.write(data_8888 + data_9999[24:])  # one header, then all records
    del datagrams
    stream = make_stream(thread_pool)
    stream.add_udp_pcap_file_reader(path, "udp dst port 8888")
    assert [values(h) for h in stream] == [{"x0": 1}, {"x0": 3}]
    stream = make_stream(thread_pool)
    stream.add_udp_pcap_file_reader(path, filter="udp dst port 9999")
    assert [values(h) for h in stream] == [{"x0": 2}]
    stream = make_stream(thread_pool)
    stream.add_udp_pcap_file_reader(filename=path)
    assert [values(h) for h in stream] == [{"x0": 1}, {"x0": 3}, {"x0": 2}]


@pcap
def test_pcap_truncated_file(thread_pool, tmp_path):
    """A capture cut off inside a record: what comes before is read, then the stream stops."""
    path = str(tmp_path / "cut.pcap")
    write_pcap(path, heap_packets(1, 1) + heap_packets(2, 2))
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:-30])
    stream = make_stream(thread_pool)
    stream.add_udp_pcap_file_reader(path)
    assert [values(h) for h in stream] == [{"x0": 1}]


def _pcap_header(linktype):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)


@pcap
@pytest.mark.parametrize(
    "content, message",
    [
        (None, "{path}: No such file or directory"),
        (b"garbage garbage garbage garbage!", "unknown file format"),
        (b"", "truncated dump file; tried to read 4 file header bytes, only got 0"),
        (_pcap_header(105), "pcap linktype is neither ethernet nor linux sll"),
    ],
    ids=["missing", "corrupt", "empty", "linktype"],
)
def test_pcap_open_errors(thread_pool, tmp_path, content, message):
    path = str(tmp_path / "bad.pcap")
    if content is not None:
        with open(path, "wb") as f:
            f.write(content)
    stream = make_stream(thread_pool)
    with pytest.raises(RuntimeError) as info:
        stream.add_udp_pcap_file_reader(path)
    assert type(info.value) is RuntimeError
    assert str(info.value) == message.format(path=path)


@pcap
def test_pcap_bad_filter(thread_pool, tmp_path):
    path = str(tmp_path / "empty.pcap")
    with open(path, "wb") as f:
        f.write(_pcap_header(1))
    stream = make_stream(thread_pool)
    with pytest.raises(RuntimeError) as info:
        stream.add_udp_pcap_file_reader(path, "nonsense filter (")
    assert type(info.value) is RuntimeError
    assert str(info.value) == "syntax error in filter expression"
    stream.add_udp_pcap_file_reader(path, "udp port 1")  # a good one, on an empty capture
    assert list(stream) == []
