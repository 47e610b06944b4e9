# SPDX-License-Identifier: LGPL-3.0-or-later
"""Network interoperability with the reference spead2 4.5.1, over loopback UDP and TCP.

* the reference's Python API sends to our receiver, and ours to the reference's, for the
  flavours SPEAD-64-40, SPEAD-64-48 and PySPEAD (bug-compat 7): every heap arrives, with the
  values sent (senders are rate limited, so nothing is lost on UDP);
* the reference's spead2_send.py tool sends to our receiver, and our sender to its
  spead2_recv.py tool.
Both sides run as subprocesses (the reference isolated with -E -s); ports are picked by binding
to port 0.
"""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FLAVOURS = ["64-40", "64-48", "pyspead"]
TRANSPORTS = ["udp", "tcp"]
HEAPS = 20
RATE = 100e6 / 8  # bytes per second (100 Mb/s)

# Runs under either implementation. argv: recv TRANSPORT FLAVOUR
#                                      send TRANSPORT FLAVOUR PORT HEAPS RATE
PEER = r"""
import json, socket, sys, time
import numpy as np
import spead2, spead2.recv as recv, spead2.send as send

mode, transport, flavour_name = sys.argv[1:4]
bug_compat = spead2.BUG_COMPAT_PYSPEAD_0_5_2 if flavour_name == "pyspead" else 0
bits = 48 if flavour_name == "64-48" else 40
flavour = spead2.Flavour(4, 64, bits, bug_compat)

def plain(value):
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            return [[float(v.real), float(v.imag)] for v in value.ravel()]
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    return value

tp = spead2.ThreadPool()
if mode == "recv":
    stream = recv.Stream(tp, recv.StreamConfig(bug_compat=bug_compat, max_heaps=8), recv.RingStreamConfig(heaps=64))
    if transport == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.bind(("127.0.0.1", 0))
        stream.add_udp_reader(sock)
    else:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        stream.add_tcp_reader(sock)
    print("PORT", sock.getsockname()[1], flush=True)
    sock.close()
    ig = spead2.ItemGroup()
    heaps = []
    for heap in stream:
        updated = ig.update(heap)
        heaps.append({"cnt": heap.cnt, "values": {name: plain(item.value) for name, item in updated.items()}})
    print(json.dumps({"heaps": heaps, "packets": stream.stats.packets}), flush=True)
else:
    port, heaps, rate = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    config = send.StreamConfig(rate=rate, max_packet_size=1472)
    if transport == "udp":
        stream = send.UdpStream(tp, [("127.0.0.1", port)], config)
    else:
        deadline = time.monotonic() + 20
        while True:
            try:
                stream = send.TcpStream(tp, [("127.0.0.1", port)], config)
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    ig = send.ItemGroup(flavour=flavour)
    ig.add_item(0x1000, "counter", "heap number", (), np.uint32)
    ig.add_item(0x1001, "array", "an int16 array", (3000,), np.int16)
    ig.add_item(0x1002, "small", "a float64 array", (2, 3), ">f8")
    if not bug_compat:
        ig.add_item(0x1003, "text", "a string", (None,), format=[("c", 8)])
    sent = []
    for i in range(heaps):
        ig["counter"].value = i
        ig["array"].value = (np.arange(3000) * (i + 1) % 30000).astype(np.int16)
        ig["small"].value = np.arange(6.0).reshape(2, 3) / (i + 1)
        if not bug_compat:
            ig["text"].value = "heap %d" % i
        stream.send_heap(ig.get_heap())
        sent.append({name: plain(item.value) for name, item in ig.items()})
    stream.send_heap(ig.get_end())
    print(json.dumps(sent), flush=True)
    del stream  # before teardown, where spead2 4.5.1's sender can hang on a loaded machine
"""


def _python(impl, ref_python):
    return [ref_python, "-E", "-s"] if impl == "ref" else [sys.executable]


def _start_receiver(cmd):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE)
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise AssertionError(f"receiver did not start: {line!r} {proc.stderr.read()}")
    return proc, int(line.split()[1])


def _finish(proc, timeout=60):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"timed out; stderr: {err}")
    assert proc.returncode == 0, err
    return out


def _approx_equal(got, want):
    if isinstance(want, float):
        return got == pytest.approx(want)
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(_approx_equal(g, w) for g, w in zip(got, want))
    return got == want


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", ["ref-to-ours", "ours-to-ref"])
def test_api(ref_python, direction, transport, flavour):
    sender, receiver = direction.split("-to-")
    recv_proc, port = _start_receiver([*_python(receiver, ref_python), "-c", PEER, "recv", transport, flavour])
    try:
        send_out = subprocess.run(
            [*_python(sender, ref_python), "-c", PEER, "send", transport, flavour, str(port), str(HEAPS), str(RATE)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=HERE,
            timeout=60,
        )
        assert send_out.returncode == 0, send_out.stderr
        sent = json.loads(send_out.stdout)
        received = json.loads(_finish(recv_proc))
    finally:
        if recv_proc.poll() is None:
            recv_proc.kill()
    heaps = received["heaps"]
    assert [h["cnt"] for h in heaps] == list(range(1, HEAPS + 1))
    assert len(sent) == HEAPS
    for i, (heap, want) in enumerate(zip(heaps, sent)):
        got = heap["values"]
        assert sorted(got) == sorted(want), i
        for name in want:
            assert _approx_equal(got[name], want[name]), (i, name)
    # 3000 int16 take three 1472-byte packets, plus one for the rest; one stop packet.
    assert received["packets"] >= HEAPS * 3 + 1


def _free_port(kind):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ref_tool(ref_python, name):
    path = os.path.join(os.path.dirname(ref_python), name)
    if not os.path.exists(path):
        pytest.skip(f"the reference has no {name}")
    return [ref_python, "-E", "-s", path]


def _flavour_options(flavour):
    if flavour == "pyspead":
        return ["--pyspead"]
    return ["--addr-bits", "48"] if flavour == "64-48" else []


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ref_send_tool_to_our_receiver(ref_python, transport, flavour):
    recv_proc, port = _start_receiver([sys.executable, "-c", PEER, "recv", transport, flavour])
    try:
        cmd = _ref_tool(ref_python, "spead2_send.py") + [
            "--heaps", str(HEAPS), "--items", "3", "--heap-size", "24000", "--rate", "0.1",
        ]
        cmd += _flavour_options(flavour) + (["--tcp"] if transport == "tcp" else []) + [f"127.0.0.1:{port}"]
        tool = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        assert tool.returncode == 0, tool.stderr
        assert tool.stdout.startswith("Sent "), tool.stdout
        received = json.loads(_finish(recv_proc))
    finally:
        if recv_proc.poll() is None:
            recv_proc.kill()
    heaps = received["heaps"]
    assert len(heaps) == HEAPS
    for heap in heaps:
        values = heap["values"]
        # 24000 bytes over 3 complex64 items: 1000 elements each.
        assert sorted(values) == ["Test item 0", "Test item 1", "Test item 2"]
        for value in values.values():
            assert len(value) == 1000


def _wait_bound(port, kind, proc, timeout=20):
    """Until the reference tool has bound the port (our own bind attempt then fails)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.05)
    raise AssertionError("the reference receiver did not bind")


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_our_sender_to_ref_recv_tool(ref_python, transport, flavour):
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    port = _free_port(kind)
    cmd = _ref_tool(ref_python, "spead2_recv.py") + ["--values"]
    cmd += (["--pyspead"] if flavour == "pyspead" else []) + (["--tcp"] if transport == "tcp" else [])
    cmd += [f"127.0.0.1:{port}"]
    tool = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if transport == "udp":
            _wait_bound(port, kind, tool)
        send_out = subprocess.run(
            [sys.executable, "-c", PEER, "send", transport, flavour, str(port), str(HEAPS), str(RATE)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
        assert send_out.returncode == 0, send_out.stderr
        sent = json.loads(send_out.stdout)
        out = _finish(tool)
    finally:
        if tool.poll() is None:
            tool.kill()
    lines = out.splitlines()
    assert sum(line.startswith("Received heap ") for line in lines) == HEAPS, out[-2000:]
    assert f"heaps: {HEAPS}" in lines
    counters = [int(line.split(" = ")[1]) for line in lines if line.startswith("counter = ")]
    assert counters == [heap["counter"] for heap in sent]
    if flavour != "pyspead":
        texts = [line.split(" = ", 1)[1] for line in lines if line.startswith("text = ")]
        assert texts == [heap["text"] for heap in sent]
