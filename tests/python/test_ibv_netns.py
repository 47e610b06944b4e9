# SPDX-License-Identifier: LGPL-3.0-or-later
"""ibverbs through the tools, between the two private network namespaces of
test_multicast_netns.py, with the emulated verbs provider (tests/fake_verbs, compiled here and
loaded through SPEAD2_IBV_LIBRARY) in place of rdma-core:

* spead2_send --ibv to spead2_recv --ibv --verify over IPv4 multicast (C++ tools);
* the same with the Python tools (spead2_send.py --ibv, spead2_recv.py --ibv), so through
  UdpIbvConfig, Stream.add_udp_ibv_reader and UdpIbvStream;
* a kernel UDP sender to spead2_recv --ibv on the receiver's own address, busy polling;
* mcdump --ibv capturing a sender's frames, read back with spead2_recv.

Skipped, with the reason, where namespaces are not permitted or no C++ compiler is installed.
"""

import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_multicast_netns import TIMEOUT, _kill, _start, netns_pair  # noqa: F401
from test_tools import SENT_RE, find_tool, parse_stats

HEAPS = 20
HEAP_SIZE = 65536
FAKE_SOURCE = Path(__file__).resolve().parents[1] / "fake_verbs" / "fake_verbs.cpp"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="raw-packet queue pairs need CAP_NET_RAW (root)")


@pytest.fixture(scope="module")
def fake_verbs(tmp_path_factory):
    """The emulated provider, built from its one source file."""
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.skip("no C++ compiler to build the emulated verbs provider")
    out = tmp_path_factory.mktemp("fake_verbs") / "libspead2_fake_verbs.so"
    subprocess.run(
        [compiler, "-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", str(FAKE_SOURCE), "-o", str(out)],
        check=True,
        timeout=300,
    )
    return str(out)


def _env(fake_verbs):
    return dict(os.environ, SPEAD2_IBV_LIBRARY=fake_verbs)


def _wait_for_flow(receiver, seconds=1.0):
    """The reader has no outward sign of readiness; give it time to set up, watching for an exit."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if receiver.poll() is not None:
            out, err = receiver.communicate()
            raise AssertionError(f"receiver exited early ({receiver.returncode}): {out}\n{err}")
        time.sleep(0.05)


def _send(pair, env, tool, *args):
    sent = subprocess.run(
        pair.exec_args(
            pair.send_ns, *tool, "--heaps", str(HEAPS), "--heap-size", str(HEAP_SIZE),
            "--items", "3", "--rate", "0.2", *args,
        ),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    return sent.stdout


def _check_cpp_receiver(receiver):
    try:
        out, err = receiver.communicate(timeout=TIMEOUT)
    finally:
        _kill(receiver)
    assert receiver.returncode == 0, err
    assert "Verification failed" not in err
    count, stats = parse_stats(out)
    assert count == HEAPS
    assert stats["heaps"] == HEAPS
    assert stats["incomplete_heaps_evicted"] == 0


def _start_receiver(pair, fake_verbs, tool, *args):
    receiver = subprocess.Popen(
        pair.exec_args(pair.recv_ns, *tool, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(fake_verbs),
    )
    _wait_for_flow(receiver)
    return receiver


def test_tools_ibv_to_ibv_multicast(netns_pair, fake_verbs):
    dest = f"239.201.{netns_pair.subnet}.10:8890"
    receiver = _start_receiver(
        netns_pair, fake_verbs, [find_tool("spead2_recv")], "--quiet", "--verify", "--ibv", "--bind",
        netns_pair.recv_addr4, dest,
    )  # fmt: skip
    out = _send(netns_pair, _env(fake_verbs), [find_tool("spead2_send")], "--verify", "--ibv", "--bind", netns_pair.send_addr4, dest)
    m = SENT_RE.search(out)
    assert m and int(m.group(1)) > HEAPS * HEAP_SIZE, out
    _check_cpp_receiver(receiver)


def test_tools_kernel_sender_to_ibv_unicast_busy_polling(netns_pair, fake_verbs):
    dest = f"{netns_pair.recv_addr4}:8891"
    receiver = _start_receiver(
        netns_pair, fake_verbs, [find_tool("spead2_recv")], "--quiet", "--verify", "--ibv", "--ibv-vector", "-1",
        "--bind", netns_pair.recv_addr4, dest,
    )  # fmt: skip
    _send(netns_pair, _env(fake_verbs), [find_tool("spead2_send")], "--verify", dest)
    _check_cpp_receiver(receiver)


def test_python_tools_ibv_to_ibv_multicast(netns_pair, fake_verbs):
    dest = f"239.201.{netns_pair.subnet}.12:8892"
    recv_tool = [sys.executable, find_tool("spead2_recv.py")]
    send_tool = [sys.executable, find_tool("spead2_send.py")]
    receiver = _start_receiver(
        netns_pair, fake_verbs, recv_tool, "--ibv", "--bind", netns_pair.recv_addr4, dest
    )
    _send(netns_pair, _env(fake_verbs), send_tool, "--ibv", "--bind", netns_pair.send_addr4, dest)
    try:
        out, err = receiver.communicate(timeout=TIMEOUT)
    finally:
        _kill(receiver)
    assert receiver.returncode == 0, err
    assert out.count("Received heap") == HEAPS, out + err


def test_mcdump_ibv(netns_pair, fake_verbs, tmp_path):
    """mcdump --ibv writes the frames as they were on the wire; spead2_recv reads the file back."""
    group = f"239.201.{netns_pair.subnet}.13"
    capture = tmp_path / "capture.pcap"
    # The fake's NIC clock runs 1000 s behind: the records must carry its timestamps.
    os.environ["SPEAD2_FAKE_VERBS_CLOCK_OFFSET_NS"] = str(-1000 * 10**9)
    try:
        dump = _start_receiver(
            netns_pair, fake_verbs, [find_tool("mcdump")], "--quiet", "--ibv", "-i", netns_pair.recv_addr4,
            str(capture), f"{group}:8893",
        )  # fmt: skip
    finally:
        del os.environ["SPEAD2_FAKE_VERBS_CLOCK_OFFSET_NS"]
    try:
        _send(netns_pair, _env(fake_verbs), [find_tool("spead2_send")], "--verify", f"{group}:8893")
        time.sleep(0.2)
        dump.terminate()
        out, err = dump.communicate(timeout=TIMEOUT)
    finally:
        _kill(dump)
    assert dump.returncode == 0, err
    assert "0 dropped by the kernel" in out, out
    data = capture.read_bytes()
    first_record_seconds = struct.unpack_from("<I", data, 24)[0]
    assert 990 < time.time() - first_record_seconds < 1010
    replay = subprocess.run(
        [find_tool("spead2_recv"), "--quiet", "--verify", str(capture)], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert replay.returncode == 0, replay.stderr
    count, stats = parse_stats(replay.stdout)
    assert count == HEAPS
    assert stats["incomplete_heaps_evicted"] == 0


def test_ibv_interface_variable_in_python(netns_pair, fake_verbs):
    """SPEAD2_IBV_INTERFACE turns Stream.add_udp_reader (IPv4) into an ibverbs reader, as in spead2."""
    script = (
        "import spead2, spead2.recv\n"
        "s = spead2.recv.Stream(spead2.ThreadPool())\n"
        f"s.add_udp_reader(8894, bind_hostname='{netns_pair.recv_addr4}')\n"
    )
    env = dict(_env(fake_verbs), SPEAD2_IBV_INTERFACE=netns_pair.recv_addr4, SPEAD2_FAKE_VERBS_FAIL="ibv_create_qp:1")
    result = subprocess.run(
        netns_pair.exec_args(netns_pair.recv_ns, sys.executable, "-c", script),
        capture_output=True, text=True, timeout=TIMEOUT, env=env,
    )  # fmt: skip
    # The fake refused the queue pair: the reader was an ibverbs reader.
    assert result.returncode != 0
    assert "ibv_create_qp failed: Operation not permitted (raw-packet queue pairs need CAP_NET_RAW)" in result.stderr
    del env["SPEAD2_IBV_INTERFACE"]
    result = subprocess.run(
        netns_pair.exec_args(netns_pair.recv_ns, sys.executable, "-c", script),
        capture_output=True, text=True, timeout=TIMEOUT, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
