# SPDX-License-Identifier: LGPL-3.0-or-later
"""AF_XDP interoperability with the reference spead2 4.5.1, across a veth pair between two
private network namespaces that this module creates (GSO off, as a NIC sends; deleted at the
end; nothing touches the host's interfaces):

* the reference's UdpStream (kernel UDP, multicast) sends to our AF_XDP reader
  (add_udp_xdp_reader);
* our UdpXdpStream sends to the reference's kernel UDP reader (multicast), and to its unicast
  address.

Every heap and item value is compared with what was sent. Skipped, with the reason, without
root, network namespaces or AF_XDP in our build.
"""

import json
import os
import select
import shutil
import subprocess
import sys
import time

import pytest

TIMEOUT = 60
HEAPS = 10

# Runs under either implementation. argv: send KIND GROUP PORT IFACE_ADDR  |  recv KIND GROUP PORT IFACE_ADDR
# KIND is "kernel" (UdpStream / add_udp_reader) or "xdp" (UdpXdpStream / add_udp_xdp_reader).
PEER = r"""
import json, sys
import numpy as np
import spead2, spead2.recv as recv, spead2.send as send

mode, kind, group, port, iface = sys.argv[1:6]
port = int(port)
n_heaps = %d

def values(i):
    return {"index": i, "data": (np.arange(3000, dtype=np.int32) * (i + 1)).tolist(), "label": "heap %%d" %% i + "x" * (i * 7)}

tp = spead2.ThreadPool()
if mode == "send":
    # Small bursts: a veth pair in native XDP mode queues at most 256 frames for the receiving
    # side's poll, which a loaded machine may run late.
    config = send.StreamConfig(max_packet_size=1472, rate=20e6, burst_size=16384)
    if kind == "xdp":
        stream = send.UdpXdpStream(tp, config, send.UdpXdpConfig(endpoints=[(group, port)], interface_address=iface))
    else:
        stream = send.UdpStream(tp, [(group, port)], config, 1024 * 1024, ttl=1, interface_address=iface)
    ig = send.ItemGroup()
    ig.add_item(0x1000, "index", "heap number", shape=(), format=[("u", 32)])
    ig.add_item(0x1001, "data", "an array", shape=(3000,), dtype=np.int32)
    ig.add_item(0x1002, "label", "text", shape=(None,), format=[("c", 8)])
    for i in range(n_heaps):
        v = values(i)
        ig["index"].value = v["index"]
        ig["data"].value = np.array(v["data"], np.int32)
        ig["label"].value = v["label"]
        stream.send_heap(ig.get_heap())
    stream.send_heap(ig.get_end())
    print("sent", flush=True)
    # Before the interpreter's teardown: spead2 4.5.1's sender can hang there on a loaded machine
    # (its main thread yielding in a loop, its worker waiting on a futex) after sending everything.
    del stream
else:
    stream = recv.Stream(tp, recv.StreamConfig(max_heaps=4), recv.RingStreamConfig(heaps=64))
    if kind == "xdp":
        stream.add_udp_xdp_reader(recv.UdpXdpConfig(endpoints=[(group, port)], interface_address=iface))
    elif group == iface:
        stream.add_udp_reader(port, bind_hostname=iface, buffer_size=4 * 1024 * 1024)
    else:
        stream.add_udp_reader(group, port, buffer_size=4 * 1024 * 1024, interface_address=iface)
    print("ready", flush=True)
    ig = spead2.ItemGroup()
    got = []
    for heap in stream:
        ig.update(heap)
        got.append({"cnt": heap.cnt, "index": int(ig["index"].value), "data": ig["data"].value.tolist(),
                    "label": ig["label"].value if isinstance(ig["label"].value, str) else ig["label"].value.decode()})
    print(json.dumps(got), flush=True)
""" % HEAPS


def _ip(*args, check=True):
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=TIMEOUT)
    if check and result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result


@pytest.fixture(scope="module")
def netns():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for network namespaces")
    pid = os.getpid()
    names = {"send": f"spead2-xi-{pid}-s", "recv": f"spead2-xi-{pid}-r"}
    created = []
    try:
        for ns in names.values():
            result = _ip("netns", "add", ns, check=False)
            if result.returncode != 0:
                pytest.skip(f"cannot create a network namespace: {result.stderr.strip()}")
            created.append(ns)
        result = _ip(
            "-n", names["send"], "link", "add", "xis", "gso_max_segs", "1", "type", "veth",
            "peer", "name", "xir", "netns", names["recv"], "gso_max_segs", "1", check=False,
        )  # fmt: skip
        if result.returncode != 0:
            pytest.skip(f"cannot create a veth pair: {result.stderr.strip()}")
        for ns, iface, addr in ((names["send"], "xis", "10.201.0.1"), (names["recv"], "xir", "10.201.0.2")):
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", iface)
            _ip("-n", ns, "link", "set", iface, "up")
            _ip("-n", ns, "route", "add", "239.0.0.0/8", "dev", iface)
        deadline = time.monotonic() + 10
        while "LOWER_UP" not in _ip("-n", names["recv"], "link", "show", "xir").stdout:
            assert time.monotonic() < deadline, "veth never came up"
            time.sleep(0.02)
        yield names
    finally:
        for ns in created:
            _ip("netns", "del", ns, check=False)


def _ours_have_xdp():
    result = subprocess.run(
        [sys.executable, "-c", "import spead2.recv; print(hasattr(spead2.recv, 'UdpXdpConfig'))"],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() == "True"


def _python(ref_python, side):
    """The command line that runs PEER under the reference or ours."""
    if side == "ref":
        return [ref_python, "-E", "-s", "-c", PEER]
    return [sys.executable, "-c", PEER]


def _round_trip(netns, ref_python, sender, receiver, group):
    """sender/receiver: (side, kind); returns the heaps the receiver decoded."""
    if not _ours_have_xdp():
        pytest.skip("our build has no AF_XDP")
    recv_cmd = ["ip", "netns", "exec", netns["recv"], *_python(ref_python, receiver[0])]
    recv_cmd += ["recv", receiver[1], group, "8895", "10.201.0.2"]
    proc = subprocess.Popen(recv_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        line = proc.stdout.readline() if ready else ""
        assert line.strip() == "ready", (line, proc.stderr.read() if proc.poll() is not None else "")
        send_cmd = ["ip", "netns", "exec", netns["send"], *_python(ref_python, sender[0])]
        send_cmd += ["send", sender[1], group, "8895", "10.201.0.1"]
        sent = subprocess.run(send_cmd, capture_output=True, text=True, timeout=TIMEOUT)
        assert sent.returncode == 0, sent.stderr
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    return json.loads(out)


def _check(heaps):
    assert [h["cnt"] for h in heaps] == list(range(1, HEAPS + 1))
    for i, h in enumerate(heaps):
        assert h["index"] == i
        assert h["data"] == [v * (i + 1) for v in range(3000)]
        assert h["label"] == "heap %d" % i + "x" * (i * 7)


def test_reference_sender_to_our_xdp_reader(netns, ref_python):
    _check(_round_trip(netns, ref_python, ("ref", "kernel"), ("ours", "xdp"), "239.201.0.1"))


def test_our_xdp_sender_to_reference_reader(netns, ref_python):
    _check(_round_trip(netns, ref_python, ("ours", "xdp"), ("ref", "kernel"), "239.201.0.2"))


def test_our_xdp_sender_to_reference_reader_unicast(netns, ref_python):
    """Unicast: our sender finds the reference host's MAC address through ARP."""
    _check(_round_trip(netns, ref_python, ("ours", "xdp"), ("ref", "kernel"), "10.201.0.2"))
