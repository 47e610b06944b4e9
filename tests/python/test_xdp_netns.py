# SPDX-License-Identifier: LGPL-3.0-or-later
"""AF_XDP through the C++ tools, between the two private network namespaces of
test_multicast_netns.py (its netns_pair fixture: a veth pair without GSO, as a NIC sends):

* spead2_send --xdp to spead2_recv --xdp --verify over IPv4 multicast, and a kernel UDP sender
  (spead2_send) to spead2_recv --xdp over unicast;
* mcdump --xdp capturing a sender's frames, read back with spead2_recv;
* the program is attached while a reader runs (``ip link`` shows it) and gone when it exits.

Skipped, with the reason, where namespaces are not permitted or the tools lack AF_XDP.
"""

import os
import subprocess
import time

import pytest
from test_multicast_netns import TIMEOUT, _kill, _start, netns_pair  # noqa: F401
from test_tools import SENT_RE, find_tool, parse_stats

HEAPS = 20
HEAP_SIZE = 65536


def _tools_have_xdp():
    result = subprocess.run([find_tool("spead2_recv"), "--help"], capture_output=True, text=True)
    return "--xdp" in result.stdout


pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="AF_XDP needs root (CAP_NET_ADMIN, CAP_BPF)")


def _xdp_attached(ns, iface):
    out = subprocess.run(["ip", "-n", ns, "link", "show", "dev", iface], capture_output=True, text=True).stdout
    return " xdp" in out


def _start_xdp_receiver(pair, *args):
    """spead2_recv --xdp in the receiving namespace, returned once its program is attached."""
    if not _tools_have_xdp():
        pytest.skip("spead2_recv has no --xdp (built without AF_XDP)")
    recv_args = ["--quiet", "--verify", "--xdp", "--bind", pair.recv_addr4, *args]
    receiver = _start(pair.exec_args(pair.recv_ns, find_tool("spead2_recv"), *recv_args))
    deadline = time.monotonic() + TIMEOUT
    while not _xdp_attached(pair.recv_ns, pair.recv_if):
        if receiver.poll() is not None:
            out, err = receiver.communicate()
            raise AssertionError(f"spead2_recv exited early ({receiver.returncode}): {out}\n{err}")
        assert time.monotonic() < deadline, "spead2_recv never attached its XDP program"
        time.sleep(0.02)
    return receiver


def _send(pair, *args):
    sent = subprocess.run(
        pair.exec_args(
            pair.send_ns, find_tool("spead2_send"), "--verify", "--heaps", str(HEAPS),
            "--heap-size", str(HEAP_SIZE), "--items", "3", "--rate", "0.2", *args,
        ),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    m = SENT_RE.search(sent.stdout)
    assert m and int(m.group(1)) > HEAPS * HEAP_SIZE, sent.stdout


def _check_receiver(pair, receiver):
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
    assert stats["incomplete_heaps_flushed"] == 0
    # The reader let go of the interface when the stream stopped.
    assert not _xdp_attached(pair.recv_ns, pair.recv_if)


def test_tools_xdp_to_xdp_multicast(netns_pair):
    """spead2_send --xdp --bind <addr> to spead2_recv --xdp --bind <addr> --verify."""
    dest = f"239.200.{netns_pair.subnet}.10:8890"
    receiver = _start_xdp_receiver(netns_pair, dest)
    _send(netns_pair, "--xdp", "--bind", netns_pair.send_addr4, "--ttl", "1", dest)
    _check_receiver(netns_pair, receiver)


@pytest.mark.parametrize(
    "options", [[], ["--xdp-attach", "native", "--xdp-busy-poll", "20"]], ids=["plain", "busy-poll"]
)
def test_tools_kernel_sender_to_xdp_unicast(netns_pair, options):
    """A kernel UDP sender (spead2_send) to spead2_recv --xdp on the receiver's own address."""
    dest = f"{netns_pair.recv_addr4}:8891"
    receiver = _start_xdp_receiver(netns_pair, *options, dest)
    _send(netns_pair, dest)
    _check_receiver(netns_pair, receiver)


def test_mcdump_xdp(netns_pair, tmp_path):
    """mcdump --xdp writes the frames as they were on the wire; spead2_recv reads the file back."""
    if not _tools_have_xdp():
        pytest.skip("built without AF_XDP")
    group = f"239.200.{netns_pair.subnet}.11"
    capture = tmp_path / "capture.pcap"
    dump = _start(
        netns_pair.exec_args(
            netns_pair.recv_ns, find_tool("mcdump"), "--quiet", "--xdp", "-i", netns_pair.recv_addr4,
            str(capture), f"{group}:8892",
        )
    )  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT
        while not _xdp_attached(netns_pair.recv_ns, netns_pair.recv_if):
            assert dump.poll() is None, dump.communicate()
            assert time.monotonic() < deadline, "mcdump never attached its XDP program"
            time.sleep(0.02)
        _send(netns_pair, "--xdp", "--bind", netns_pair.send_addr4, f"{group}:8892")
        time.sleep(0.2)
        dump.terminate()
        out, err = dump.communicate(timeout=TIMEOUT)
    finally:
        _kill(dump)
    assert dump.returncode == 0, err
    assert "0 dropped by the kernel" in out, out
    replay = subprocess.run(
        [find_tool("spead2_recv"), "--quiet", "--verify", str(capture)], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert replay.returncode == 0, replay.stderr
    count, stats = parse_stats(replay.stdout)
    assert count == HEAPS
    assert stats["incomplete_heaps_evicted"] == 0


def test_program_is_detached_when_the_reader_is_killed(netns_pair):
    """The program hangs on a BPF link that only the process holds: SIGKILL detaches it too."""
    receiver = _start_xdp_receiver(netns_pair, f"{netns_pair.recv_addr4}:8893")
    receiver.kill()
    receiver.communicate()
    deadline = time.monotonic() + 10
    while _xdp_attached(netns_pair.recv_ns, netns_pair.recv_if):
        assert time.monotonic() < deadline, "the XDP program outlived its process"
        time.sleep(0.02)


def test_missing_privileges_are_named():
    """Without privileges (a user namespace's root has none in the initial namespace) the tool
    says what is missing: locked memory for a large UMEM, then CAP_BPF for the program."""
    if not _tools_have_xdp():
        pytest.skip("built without AF_XDP")
    if subprocess.run(["unshare", "-U", "-r", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare -U -r -n is not permitted here")

    def run(*options):
        tool = find_tool("spead2_recv")
        script = f"ip link set lo up && exec {tool} --xdp --bind 127.0.0.1 {' '.join(options)} 127.0.0.1:8894"
        result = subprocess.run(["unshare", "-U", "-r", "-n", "sh", "-c", script], capture_output=True, text=True,
                                timeout=TIMEOUT)  # fmt: skip
        assert result.returncode != 0
        return result.stderr

    limit_text = subprocess.run(["sh", "-c", "ulimit -l"], capture_output=True, text=True).stdout.strip()
    limit = 1 << 40 if limit_text == "unlimited" else int(limit_text or 0)
    if limit < 1 << 20:  # 1 GiB of frames is beyond a limit under 1 GiB (in KiB)
        assert "raise RLIMIT_MEMLOCK (ulimit -l), give CAP_IPC_LOCK" in run("--buffer 1073741824")
    if limit * 1024 < 512 * 1024:
        pytest.skip(f"memlock limit {limit} KiB is too small for the smallest UMEM")
    assert "needs CAP_BPF and CAP_NET_ADMIN, or root" in run("--buffer 262144")
