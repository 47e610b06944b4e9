# SPDX-License-Identifier: LGPL-3.0-or-later
"""Multicast between two private network namespaces joined by a veth pair.

The module fixture creates two namespaces (``ip netns add``, names unique to this process), a veth
pair created inside the first namespace with its peer moved straight into the second (nothing is
configured on the host's interfaces), private addresses 10.200.x.1/24 and 10.200.x.2/24 and
fd00:200:x::1/64 and ::2/64, and multicast routes (239.0.0.0/8 and ff15::/16) on the veth ends.
A sender runs in one namespace and a receiver in the other (``ip netns exec NS ...``):

* the Python API over IPv4 multicast (interface_address on both sides) and IPv6 multicast
  (interface_index on both sides), checking every heap, its cnt and every item value;
* the C++ tools: ``spead2_send --bind`` to ``spead2_recv --bind --verify`` over IPv4 multicast.

The namespaces are always deleted in the fixture's teardown. The tests skip (with the reason) where
the kernel or our permissions forbid network namespaces or veth pairs.
"""

import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from test_tools import SENT_RE, find_tool, parse_stats

TIMEOUT = 60
N_HEAPS = 12
# Bytes per second for the Python sender: ~0.5 MB in all, so a few tens of milliseconds.
RATE = 50e6
BUFFER = 4 * 1024 * 1024

# Shared by the sender and receiver scripts (exec'd in each): the items and the value of heap i.
ITEMS_CODE = r"""
import numpy as np

def add_items(ig):
    ig.add_item(0x1000, "index", "heap number", shape=(), format=[("u", 32)])
    ig.add_item(0x1001, "data", "an array over many packets", shape=(9000,), dtype=np.int32)
    ig.add_item(0x1002, "scale", "a float", shape=(), dtype=np.float64)
    ig.add_item(0x1003, "label", "variable-length text", shape=(None,), format=[("c", 8)])

def values(i):
    return {
        "index": i,
        "data": (np.arange(9000, dtype=np.int32) * (i + 1) - 4500 * i).tolist(),
        "scale": 0.25 * i - 1.5,
        "label": "heap %d " % i + "x" * (i * 37 % 200),
    }
"""

SENDER = (
    ITEMS_CODE
    + r"""
import socket, sys
import spead2, spead2.send as send

family, group, port, iface, n_heaps, rate, buffer_size = sys.argv[1:8]
port, n_heaps, rate, buffer_size = int(port), int(n_heaps), float(rate), int(buffer_size)
tp = spead2.ThreadPool()
config = send.StreamConfig(max_packet_size=1472, rate=rate)
if family == "4":
    stream = send.UdpStream(tp, [(group, port)], config, buffer_size, ttl=1, interface_address=iface)
else:
    index = socket.if_nametoindex(iface)
    stream = send.UdpStream(tp, [(group, port)], config, buffer_size, ttl=1, interface_index=index)
ig = send.ItemGroup()
add_items(ig)
for i in range(n_heaps):
    for name, value in values(i).items():
        ig[name].value = np.array(value, np.int32) if name == "data" else value
    stream.send_heap(ig.get_heap())
stream.send_heap(ig.get_end())
print("sent", flush=True)
"""
)

RECEIVER = (
    ITEMS_CODE
    + r"""
import json, socket, sys
import spead2, spead2.recv as recv

family, group, port, iface, buffer_size = sys.argv[1:6]
port, buffer_size = int(port), int(buffer_size)
tp = spead2.ThreadPool()
stream = recv.Stream(tp, recv.StreamConfig(max_heaps=4), recv.RingStreamConfig(heaps=64))
if family == "4":
    stream.add_udp_reader(group, port, buffer_size=buffer_size, interface_address=iface)
else:
    stream.add_udp_reader(group, port, buffer_size=buffer_size, interface_index=socket.if_nametoindex(iface))
print("ready", flush=True)
ig = spead2.ItemGroup()
heaps = []
for heap in stream:
    updated = ig.update(heap)
    got = {"cnt": heap.cnt, "complete": not isinstance(heap, recv.IncompleteHeap), "updated": sorted(updated)}
    for name in updated:
        value = ig[name].value
        got[name] = value.tolist() if isinstance(value, np.ndarray) else value
        if name == "index":
            got[name] = int(value)
        elif name == "scale":
            got[name] = float(value)
    heaps.append(got)
stats = stream.stats
print(json.dumps({
    "heaps": heaps,
    "stats": {"heaps": stats.heaps, "packets": stats.packets,
              "incomplete_heaps_evicted": stats.incomplete_heaps_evicted,
              "incomplete_heaps_flushed": stats.incomplete_heaps_flushed},
}), flush=True)
"""
)


def _expected_values():
    """The values the scripts send, computed by the same code here."""
    scope = {}
    exec(ITEMS_CODE, scope)
    return [scope["values"](i) for i in range(N_HEAPS)]


def _ip(*args, check=True):
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=TIMEOUT)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


@dataclass
class NetnsPair:
    send_ns: str
    recv_ns: str
    send_if: str
    recv_if: str
    send_addr4: str
    recv_addr4: str
    send_addr6: str
    recv_addr6: str
    subnet: int
    no_ipv6: Optional[str] = None  # why IPv6 is not set up, if it is not

    def exec_args(self, ns, *args):
        return ["ip", "netns", "exec", ns, *args]


@pytest.fixture(scope="module")
def netns_pair():
    if shutil.which("ip") is None:
        pytest.skip("the ip command (iproute2) is not installed")
    pid = os.getpid()
    subnet = pid % 250 + 1
    pair = NetnsPair(
        send_ns=f"spead2-test-{pid}-send",
        recv_ns=f"spead2-test-{pid}-recv",
        send_if=f"sp{pid}s",
        recv_if=f"sp{pid}r",
        send_addr4=f"10.200.{subnet}.1",
        recv_addr4=f"10.200.{subnet}.2",
        send_addr6=f"fd00:200:{subnet:x}::1",
        recv_addr6=f"fd00:200:{subnet:x}::2",
        subnet=subnet,
    )
    created = []
    try:
        result = _ip("netns", "add", pair.send_ns, check=False)
        if result.returncode != 0:
            pytest.skip(f"cannot create a network namespace: {result.stderr.strip()}")
        created.append(pair.send_ns)
        _ip("netns", "add", pair.recv_ns)
        created.append(pair.recv_ns)
        # The pair is born inside the sender's namespace and its peer goes straight to the
        # receiver's, so the host's own namespace never holds either end. No GSO across it (as
        # on a NIC): AF_XDP readers (test_xdp_netns.py) need MTU-sized frames.
        result = _ip(
            "-n", pair.send_ns, "link", "add", pair.send_if, "gso_max_segs", "1", "type", "veth",
            "peer", "name", pair.recv_if, "netns", pair.recv_ns, "gso_max_segs", "1", check=False,
        )  # fmt: skip
        if result.returncode != 0:
            pytest.skip(f"cannot create a veth pair: {result.stderr.strip()}")
        for ns, iface, addr4, addr6 in (
            (pair.send_ns, pair.send_if, pair.send_addr4, pair.send_addr6),
            (pair.recv_ns, pair.recv_if, pair.recv_addr4, pair.recv_addr6),
        ):
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", f"{addr4}/24", "dev", iface)
            _ip("-n", ns, "link", "set", iface, "up")
            _ip("-n", ns, "route", "add", "239.0.0.0/8", "dev", iface)
            if pair.no_ipv6 is None:  # a kernel without IPv6 (ipv6.disable=1) skips only that test
                for args in (
                    ("addr", "add", f"{addr6}/64", "dev", iface, "nodad"),
                    ("route", "add", "ff15::/16", "dev", iface),
                ):
                    result = _ip("-n", ns, "-6", *args, check=False)
                    if result.returncode != 0 and pair.no_ipv6 is None:
                        pair.no_ipv6 = f"ip -6 {' '.join(args)}: {result.stderr.strip()}"
        # Both ends are up once the peer's carrier shows (veth waits for both sides).
        deadline = time.monotonic() + 10
        while "LOWER_UP" not in _ip("-n", pair.recv_ns, "link", "show", pair.recv_if).stdout:
            assert time.monotonic() < deadline, "veth never came up"
            time.sleep(0.02)
        yield pair
    finally:
        for ns in reversed(created):
            _ip("netns", "del", ns, check=False)


def _start(args):
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill(proc):
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


def _wait_line(proc, expected):
    """Reads proc's first stdout line, which must be @a expected, within TIMEOUT."""
    ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
    line = proc.stdout.readline() if ready else ""
    if line.strip() != expected:
        _kill(proc)
        raise AssertionError(f"expected {expected!r}, got {line!r}; stderr: {proc.stderr.read()}")


def _python_round_trip(pair, family, group, port):
    if family == "4":
        send_iface, recv_iface = pair.send_addr4, pair.recv_addr4
    else:
        send_iface, recv_iface = pair.send_if, pair.recv_if
    receiver = _start(
        pair.exec_args(pair.recv_ns, sys.executable, "-c", RECEIVER, family, group, str(port), recv_iface, str(BUFFER))
    )
    try:
        _wait_line(receiver, "ready")
        args = [family, group, str(port), send_iface, str(N_HEAPS), str(RATE), str(BUFFER)]
        sent = subprocess.run(
            pair.exec_args(pair.send_ns, sys.executable, "-c", SENDER, *args),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert sent.returncode == 0, sent.stderr
        assert sent.stdout == "sent\n"
        out, err = receiver.communicate(timeout=TIMEOUT)
    finally:
        _kill(receiver)
    assert receiver.returncode == 0, err
    return json.loads(out)


def _check_heaps(result):
    expected = _expected_values()
    heaps = result["heaps"]
    assert [h["cnt"] for h in heaps] == list(range(1, N_HEAPS + 1))
    assert all(h["complete"] for h in heaps)
    for i, (got, want) in enumerate(zip(heaps, expected)):
        assert got["updated"] == sorted(want), i
        for name, value in want.items():
            assert got[name] == value, (i, name)
    stats = result["stats"]
    assert stats["heaps"] == N_HEAPS  # the end heap stops the stream without counting as one
    assert stats["incomplete_heaps_evicted"] == 0
    assert stats["incomplete_heaps_flushed"] == 0
    # 36000 bytes of data in 1472-byte packets: at least 25 packets a heap, and the end packet.
    assert stats["packets"] > N_HEAPS * 25


def test_ipv4_multicast_interface_address(netns_pair):
    """UdpStream(ttl, interface_address) in one namespace, add_udp_reader(group, port,
    interface_address=...) in the other: every heap and value crosses the veth."""
    group = f"239.200.{netns_pair.subnet}.1"
    _check_heaps(_python_round_trip(netns_pair, "4", group, 8881))


def test_ipv6_multicast_interface_index(netns_pair):
    """UdpStream(ttl, interface_index) to add_udp_reader(group, port, interface_index=...)."""
    if netns_pair.no_ipv6 is not None:
        pytest.skip(f"no IPv6 in the namespaces: {netns_pair.no_ipv6}")
    group = f"ff15::5ead:{netns_pair.subnet:x}"
    _check_heaps(_python_round_trip(netns_pair, "6", group, 8882))


def test_multicast_stays_on_its_interface(netns_pair):
    """Without a membership on the veth the receiver gets nothing: the IPv4 test above passes
    because of the join, not because the traffic reaches every socket on the port. A receiver
    joined on its lo (in the receiving namespace) sees none of the sender's heaps."""
    group = f"239.200.{netns_pair.subnet}.2"
    port = 8883
    receiver = _start(
        netns_pair.exec_args(
            netns_pair.recv_ns, sys.executable, "-c", RECEIVER, "4", group, str(port), "127.0.0.1", str(BUFFER)
        )
    )
    try:
        _wait_line(receiver, "ready")
        args = ["4", group, str(port), netns_pair.send_addr4, "3", str(RATE), str(BUFFER)]
        sent = subprocess.run(
            netns_pair.exec_args(netns_pair.send_ns, sys.executable, "-c", SENDER, *args),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert sent.returncode == 0, sent.stderr
        time.sleep(0.3)
        receiver.send_signal(signal.SIGTERM)
        out, err = receiver.communicate(timeout=TIMEOUT)
    finally:
        _kill(receiver)
    assert out == "", (out, err)  # past its "ready" line: no heap, no end of stream


def _igmp_joined(pid, group):
    """Whether the process's network namespace has joined the IPv4 @a group (/proc/PID/net/igmp
    prints groups as the native-endian hex of the network-order address)."""
    token = "%08X" % struct.unpack("=I", socket.inet_aton(group))[0]
    try:
        return token in Path(f"/proc/{pid}/net/igmp").read_text()
    except OSError:
        return False


def _udp_bound(pid, port):
    try:
        lines = Path(f"/proc/{pid}/net/udp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(int(line.split()[1].rsplit(":", 1)[1], 16) == port for line in lines)


def test_tools_ipv4_multicast(netns_pair):
    """spead2_send --bind <addr> in one namespace to spead2_recv --bind <addr> --verify in the
    other, over IPv4 multicast."""
    send_tool, recv_tool = find_tool("spead2_send"), find_tool("spead2_recv")
    group = f"239.200.{netns_pair.subnet}.3"
    port = 8884
    dest = f"{group}:{port}"
    # ip netns exec execs the tool itself, so the Popen's pid is the tool's and /proc/PID/net
    # shows the receiving namespace.
    recv_args = ["--quiet", "--verify", "--bind", netns_pair.recv_addr4, dest]
    receiver = _start(netns_pair.exec_args(netns_pair.recv_ns, recv_tool, *recv_args))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (_udp_bound(receiver.pid, port) and _igmp_joined(receiver.pid, group)):
            if receiver.poll() is not None:
                out, err = receiver.communicate()
                raise AssertionError(f"spead2_recv exited early ({receiver.returncode}): {out}\n{err}")
            assert time.monotonic() < deadline, "spead2_recv never joined the group"
            time.sleep(0.02)
        sent = subprocess.run(
            netns_pair.exec_args(
                netns_pair.send_ns, send_tool, "--bind", netns_pair.send_addr4, "--ttl", "1", "--verify",
                "--heaps", "20", "--heap-size", "65536", "--items", "3", "--rate", "0.2", dest,
            ),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        m = SENT_RE.search(sent.stdout)
        assert m and int(m.group(1)) > 20 * 65536, sent.stdout
        out, err = receiver.communicate(timeout=TIMEOUT)
    finally:
        _kill(receiver)
    assert receiver.returncode == 0, err
    assert "Verification failed" not in err
    count, stats = parse_stats(out)
    assert count == 20
    assert stats["heaps"] == 20
    assert stats["incomplete_heaps_evicted"] == 0
    assert stats["incomplete_heaps_flushed"] == 0
    # 65536-byte heaps in 1472-byte packets: 47 each (plus the descriptor heap and the stop heap).
    assert stats["packets"] >= 20 * 45


def test_namespaces_are_private(netns_pair):
    """The fixture touched no host interface: neither veth end, nor the addresses, are here."""
    host_links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    assert netns_pair.send_if not in host_links and netns_pair.recv_if not in host_links
    host_addrs = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    assert netns_pair.send_addr4 not in host_addrs and netns_pair.recv_addr4 not in host_addrs
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert netns_pair.send_ns in namespaces and netns_pair.recv_ns in namespaces

