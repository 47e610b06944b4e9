# SPDX-License-Identifier: LGPL-3.0-or-later
"""The passthrough suite of test_passthrough.py over the network transports.

Transports: udp (127.0.0.1, port form), udp6 (::1, socket form), tcp (127.0.0.1, acceptor form),
tcp6 (::1, port form), pcap (datagrams sent by UdpStream over loopback, captured by a plain
socket into a pcap file, replayed with add_udp_pcap_file_reader) and, inside a private network
namespace, udp multicast (239.x on lo) and xdp (AF_XDP sender to AF_XDP reader across a veth pair
in that namespace, where the extension has AF_XDP).

The suite's tests send everything before they create the receivers, which a network cannot do,
so the sender a test sees records its calls, and ``receivers()`` replays them through the real
network stream once the receivers listen.
"""

import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

import spead2
import spead2.recv as recv
import spead2.send as send

# The suite itself (collected here again, with this module's transport_cls fixture).
from test_passthrough import (  # noqa: F401
    test_descriptors_only,
    test_flavours,
    test_item,
    test_many_items,
    test_packet_sizes,
    test_send_heaps_group,
    test_start_and_stop_heaps,
    test_stop_item_delivered,
    thread_pool,
)

NETNS_ENV = "SPEAD2_TEST_IN_NETNS"
# Bytes per second for the UDP senders: the smallest packets (56 bytes) then come at ~90k/s,
# which the receiver keeps up with on a busy 2-core machine, with the socket buffer as slack.
UDP_RATE = 5e6
UDP_BUFFER = 4 * 1024 * 1024
# cnt of the heap that ends a UDP replay (a stop heap).
SENTINEL_CNT = 0x7FFFFFFF


class RecordingSender:
    """Records send_heap/send_heaps calls (keeping the heaps alive) for a later replay."""

    def __init__(self):
        self.calls = []
        self.flavour = spead2.Flavour()

    def send_heap(self, heap, cnt=-1, substream_index=0, rate=-1.0):
        self.flavour = heap.flavour
        self.calls.append(("send_heap", (heap, cnt, substream_index, rate)))

    def send_heaps(self, heaps, mode):
        self.calls.append(("send_heaps", (heaps, mode)))

    def replay(self, sender, ignore_connection_errors=False):
        for name, args in self.calls:
            try:
                getattr(sender, name)(*args)
            except (BrokenPipeError, ConnectionResetError):
                # A TCP receiver that stopped at a stop heap closes the connection; what comes
                # after the stop heap is not received anyway.
                if not ignore_connection_errors:
                    raise
                return


def _free_port(family, kind):
    with socket.socket(family, kind) as s:
        s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return s.getsockname()[1]


def _retry_bind(add):
    """Calls add(port) with free ports until one is not taken in between (RuntimeError)."""
    for attempt in range(10):
        try:
            return add()
        except RuntimeError as exc:
            if "Address already in use" not in str(exc) or attempt == 9:
                raise


class EndingStream:
    """A receive stream whose iteration ends at the replay's sentinel heap (delivered as a heap
    when stop_on_stop_item is False); everything else is the stream's."""

    def __init__(self, stream):
        self._stream = stream

    def __iter__(self):
        for heap in self._stream:
            if heap.cnt == SENTINEL_CNT:
                self._stream.stop()
                break
            yield heap

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _NetTransport:
    """Common part: the recording sender, and the real send config (with a rate for UDP)."""

    def __init__(self, thread_pool, send_config, substreams=1):
        assert substreams == 1
        self.thread_pool = thread_pool
        self.send_config = send_config
        self.sender = RecordingSender()

    def finish(self):
        pass

    def real_config(self, rate=0.0):
        return send.StreamConfig(
            max_packet_size=self.send_config.max_packet_size, max_heaps=self.send_config.max_heaps, rate=rate
        )


class _UdpTransport(_NetTransport):
    def add_reader(self, stream):
        """Adds the UDP reader and returns the (host, port) endpoint to send to."""
        raise NotImplementedError

    def make_sender(self, endpoint):
        return send.UdpStream(self.thread_pool, [endpoint], self.real_config(UDP_RATE), UDP_BUFFER)

    def receivers(self, recv_config, ring_config):
        stream = recv.Stream(self.thread_pool, recv_config, ring_config)
        endpoint = self.add_reader(stream)
        sender = self.make_sender(endpoint)
        self.sender.replay(sender)
        sentinel = send.Heap(self.sender.flavour)
        sentinel.add_end()
        sender.send_heap(sentinel, cnt=SENTINEL_CNT)
        return [EndingStream(stream)]


class UdpTransport(_UdpTransport):
    name = "udp"

    def add_reader(self, stream):
        def add():
            port = _free_port(socket.AF_INET, socket.SOCK_DGRAM)
            stream.add_udp_reader(port, buffer_size=UDP_BUFFER, bind_hostname="127.0.0.1")
            return port

        return ("127.0.0.1", _retry_bind(add))


class Udp6Transport(_UdpTransport):
    name = "udp6"

    def add_reader(self, stream):
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER)
        sock.bind(("::1", 0))
        stream.add_udp_reader(sock)
        port = sock.getsockname()[1]
        sock.close()  # the reader has its own descriptor
        return ("::1", port)


class UdpMulticastTransport(_UdpTransport):
    """Only inside a private network namespace (multicast route on lo), see test_udp_multicast."""

    name = "udp_mc"
    group = "239.10.11.12"

    def add_reader(self, stream):
        port = _free_port(socket.AF_INET, socket.SOCK_DGRAM)
        stream.add_udp_reader(self.group, port, buffer_size=UDP_BUFFER, interface_address="127.0.0.1")
        return (self.group, port)

    def make_sender(self, endpoint):
        return send.UdpStream(
            self.thread_pool, [endpoint], self.real_config(UDP_RATE), UDP_BUFFER, ttl=1, interface_address="127.0.0.1"
        )


# Inside the namespace, a veth pair for AF_XDP: the sender out of one end, the reader on the
# other (both in the namespace: AF_XDP frames cross the pair whatever the routes say). GSO is off,
# as on a NIC, so that frames stay MTU-sized.
XDP_ENV = "SPEAD2_TEST_XDP"
XDP_RECV_ADDRESS = "10.98.0.1"
XDP_SEND_ADDRESS = "10.98.0.2"
NETNS_XDP_SETUP = (
    "if ip link add spxdp0 gso_max_segs 1 type veth peer name spxdp1 gso_max_segs 1 2>/dev/null; then "
    f"ip addr add {XDP_RECV_ADDRESS}/24 dev spxdp0; ip addr add {XDP_SEND_ADDRESS}/24 dev spxdp1; "
    f"ip link set spxdp0 up; ip link set spxdp1 up; export {XDP_ENV}=1; fi; "
)
# AF_XDP frames are 4 KiB: larger packets (the suite's 9000) go out as 1472-byte ones.
XDP_MAX_PACKET_SIZE = 1472


def xdp_available():
    """Whether this namespace has the veth pair and the extension has AF_XDP."""
    return bool(os.environ.get(XDP_ENV)) and hasattr(recv.Stream, "add_udp_xdp_reader")


class XdpTransport(_UdpTransport):
    """Only inside a private network namespace: send.UdpXdpStream out of one end of a veth pair
    to an AF_XDP reader (add_udp_xdp_reader) on the other, over IPv4 multicast."""

    name = "xdp"
    group = "239.10.12.13"

    def add_reader(self, stream):
        port = _free_port(socket.AF_INET, socket.SOCK_DGRAM)
        config = recv.UdpXdpConfig(
            endpoints=[(self.group, port)], interface_address=XDP_RECV_ADDRESS
        )
        stream.add_udp_xdp_reader(config)
        return (self.group, port)

    def make_sender(self, endpoint):
        config = send.StreamConfig(
            max_packet_size=min(self.send_config.max_packet_size, XDP_MAX_PACKET_SIZE),
            max_heaps=self.send_config.max_heaps,
            rate=UDP_RATE,
        )
        xdp_config = send.UdpXdpConfig(endpoints=[endpoint], interface_address=XDP_SEND_ADDRESS)
        return send.UdpXdpStream(self.thread_pool, config, xdp_config)


class _TcpTransport(_NetTransport):
    host = "127.0.0.1"

    def add_reader(self, stream):
        raise NotImplementedError

    def receivers(self, recv_config, ring_config):
        stream = recv.Stream(self.thread_pool, recv_config, ring_config)
        port = self.add_reader(stream)
        sender = send.TcpStream(self.thread_pool, [(self.host, port)], self.real_config())
        self.sender.replay(sender, ignore_connection_errors=True)
        del sender  # closing the connection stops the stream after everything sent
        return [stream]


class TcpTransport(_TcpTransport):
    name = "tcp"

    def add_reader(self, stream):
        with socket.socket() as acceptor:
            acceptor.bind((self.host, 0))
            acceptor.listen(1)
            stream.add_tcp_reader(acceptor)
            return acceptor.getsockname()[1]


class Tcp6Transport(_TcpTransport):
    name = "tcp6"
    host = "::1"

    def add_reader(self, stream):
        def add():
            port = _free_port(socket.AF_INET6, socket.SOCK_STREAM)
            stream.add_tcp_reader(port, bind_hostname=self.host)
            return port

        return _retry_bind(add)


def write_pcap(path, datagrams, src=("127.0.0.1", 40000), dst=("127.0.0.1", 8888)):
    """A nanosecond-less classic pcap of Ethernet/IPv4/UDP frames holding @a datagrams."""

    def checksum(data):
        if len(data) % 2:
            data += b"\0"
        total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        return ~total & 0xFFFF

    src_ip, dst_ip = socket.inet_aton(src[0]), socket.inet_aton(dst[0])
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i, payload in enumerate(datagrams):
            udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0, src_ip, dst_ip)
            ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
            frame = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + udp
            f.write(struct.pack("<IIII", i // 1000, (i % 1000) * 1000, len(frame), len(frame)))
            f.write(frame)


class PcapTransport(_NetTransport):
    """UdpStream to a plain socket that a thread drains; the datagrams become a pcap file."""

    name = "pcap"

    def __init__(self, thread_pool, send_config, substreams=1):
        super().__init__(thread_pool, send_config, substreams)
        self.path = os.path.join(PcapTransport.tmpdir, "capture%d.pcap" % id(self))

    def receivers(self, recv_config, ring_config):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.05)
        datagrams = []
        done = threading.Event()

        def drain():
            while True:
                try:
                    datagrams.append(sock.recv(65536))
                except socket.timeout:
                    if done.is_set():
                        return

        thread = threading.Thread(target=drain)
        thread.start()
        try:
            # The drain takes a datagram per Python call, and the socket buffer holds a few
            # thousand whatever their size: bound the datagram rate, not the byte rate.
            rate = UDP_RATE * min(1.0, self.send_config.max_packet_size / 1472)
            sender = send.UdpStream(self.thread_pool, [sock.getsockname()], self.real_config(rate), UDP_BUFFER)
            self.sender.replay(sender)
            del sender
        finally:
            done.set()
            thread.join()
            sock.close()
        write_pcap(self.path, datagrams)
        stream = recv.Stream(self.thread_pool, recv_config, ring_config)
        stream.add_udp_pcap_file_reader(self.path)
        return [stream]


@pytest.fixture(autouse=True)
def _pcap_tmpdir(tmp_path):
    PcapTransport.tmpdir = str(tmp_path)


if os.environ.get(NETNS_ENV):
    TRANSPORTS = [UdpMulticastTransport] + ([XdpTransport] if xdp_available() else [])
else:
    TRANSPORTS = [UdpTransport, Udp6Transport, TcpTransport, Tcp6Transport, PcapTransport]


@pytest.fixture(params=TRANSPORTS, ids=lambda t: t.name)
def transport_cls(request):
    return request.param


def _netns_command():
    """The unshare command that gives a private network namespace here, or None and why not."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return None, "unshare or ip is not installed"
    reasons = []
    for cmd in (["unshare", "-n"], ["unshare", "-rn"]):
        result = subprocess.run([*cmd, "true"], capture_output=True, text=True)
        if result.returncode == 0:
            return cmd, None
        reasons.append(f"{' '.join(cmd)}: {result.stderr.strip()}")
    return None, "; ".join(reasons)


@pytest.mark.skipif(bool(os.environ.get(NETNS_ENV)), reason="already inside the namespace")
def test_udp_multicast():
    """The whole suite over IPv4 multicast on lo, in a private network namespace (no traffic
    leaves it): pytest runs this module again there with only the multicast transport."""
    cmd, reason = _netns_command()
    if cmd is None:
        pytest.skip(f"no private network namespace: {reason}")
    script = (
        "set -e; ip link set lo up; ip route add 239.0.0.0/8 dev lo; "
        + NETNS_XDP_SETUP
        + f'exec "{sys.executable}" -m pytest -q -p no:cacheprovider -x -k "not test_udp_multicast" "{os.path.abspath(__file__)}"'
    )
    env = dict(os.environ, **{NETNS_ENV: "1"})
    started = time.monotonic()
    result = subprocess.run(
        [*cmd, "sh", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=os.path.dirname(os.path.abspath(__file__)),
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    # Everything ran and passed over multicast (the ids name the transport), none skipped.
    summary = output.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, summary
    assert int(summary.split(" passed")[0]) >= 30, summary
    assert time.monotonic() - started < 600
