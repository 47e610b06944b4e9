# SPDX-License-Identifier: LGPL-3.0-or-later
"""End-to-end tests of the C++ command-line tools (spead2_send, spead2_recv, spead2_bench, mcdump).

The tools run as subprocesses over loopback only. They are found on PATH (CI installs them into
the venv's bin), else in $SPEAD2_TOOLS_DIR, else in the newest build folder under build/*/tools.
"""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ["spead2_send", "spead2_recv", "spead2_bench", "mcdump"]  # the CLI11 tools
CORE_STATS = [
    "heaps",
    "incomplete_heaps_evicted",
    "incomplete_heaps_flushed",
    "packets",
    "batches",
    "max_batch",
    "single_packet_heaps",
    "search_dist",
    "worker_blocked",
]
TIMEOUT = 60


def find_tool(name):
    path = shutil.which(name)
    if path:
        return path
    env_dir = os.environ.get("SPEAD2_TOOLS_DIR")
    if env_dir and (Path(env_dir) / name).is_file():
        return str(Path(env_dir) / name)
    candidates = [p for p in ROOT.glob(f"build/*/tools/{name}") if os.access(p, os.X_OK)]
    if candidates:
        return str(max(candidates, key=lambda p: p.stat().st_mtime))
    pytest.skip(f"{name} is not built")


def free_port(kind=socket.SOCK_DGRAM):
    """A port free for both UDP and TCP on 127.0.0.1 (the tools use the same number for both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
        try:
            with socket.socket(socket.AF_INET, other) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def _bound(port, proto, listening_only):
    for name in (f"/proc/net/{proto}", f"/proc/net/{proto}6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and (not listening_only or fields[3] == "0A"):
                return True
    return False


def wait_bound(port, proto="udp", proc=None):
    """Waits until something has bound UDP port (or listens on TCP port)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if _bound(port, proto, proto == "tcp"):
            return
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process exited early ({proc.returncode}): {out}\n{err}")
        time.sleep(0.02)
    raise AssertionError(f"nothing bound {proto} port {port}")


def start(args):
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)


def finish(proc, sig=None):
    if sig is not None:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"timed out: {out}\n{err}")
    return proc.returncode, out, err


def parse_stats(out):
    """The "Received N heaps" count and the statistic lines after it."""
    lines = out.splitlines()
    idx = max(i for i, line in enumerate(lines) if re.fullmatch(r"Received \d+ heaps", line))
    count = int(lines[idx].split()[1])
    stats = {}
    for line in lines[idx + 1 :]:
        name, value = line.split(": ")
        stats[name] = int(value)
    return count, stats


SENT_RE = re.compile(r"^Sent (\d+) bytes in [0-9.e+-]+ seconds, [0-9.e+-]+ Gb/s$", re.M)


@pytest.mark.parametrize("tool", TOOLS)
def test_help_prints_usage(tool):
    result = run([find_tool(tool), "-h"])
    assert result.returncode == 0
    assert "Usage:" in result.stdout


VALID_ARGS = {
    "spead2_send": ["127.0.0.1:8888"],
    "spead2_recv": ["8888"],
    "spead2_bench": ["mem"],
    "mcdump": ["-i", "127.0.0.1", "-", "127.0.0.1:8888"],
}


@pytest.mark.parametrize("tool", TOOLS)
def test_bad_option_exits_2(tool):
    args = VALID_ARGS[tool]
    result = run([find_tool(tool)] + args + ["--no-such-option", "1"])
    assert result.returncode == 2
    assert "--no-such-option" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["spead2_recv", "--heaps-per-second", "1", "8888"],  # prefixes are never guessed...
        ["spead2_recv", "--quie", "8888"],  # ...neither in full nor in part
        ["spead2_recv", "--threads", "0", "8888"],
        ["spead2_send", "--rate-method", "FAST", "127.0.0.1:8888"],
        ["spead2_send", "--tcp", "127.0.0.1:8888", "127.0.0.1:8889"],
        ["spead2_send", "8888"],  # senders need host:port
        ["spead2_send", "--heaps", "-2", "127.0.0.1:8888"],
        ["spead2_bench", "master", "--send-ibv", "127.0.0.1:8888"],
        ["spead2_bench", "master", "--tcp", "127.0.0.1:8888"],
        ["spead2_bench", "master", "--rate", "1", "127.0.0.1:8888"],
        ["spead2_bench", "master", "--mem-pool", "127.0.0.1:8888"],
        ["spead2_bench", "mem", "--mem-pool"],  # mem mode always has its pool, as spead2's
        ["spead2_bench"],
        ["mcdump", "-", "239.1.2.3:8888"],  # -i is required
    ],
)
def test_bad_command_lines_exit_2(args):
    result = run([find_tool(args[0])] + args[1:])
    assert result.returncode == 2, result.stderr


def test_ibv_errors_are_clear():
    result = run([find_tool("spead2_recv"), "--ibv", "8888"])
    assert result.returncode == 2
    assert "--ibv requires --bind" in result.stderr
    result = run([find_tool("spead2_recv"), "--ibv", "--tcp", "--bind", "127.0.0.1", "8888"])
    assert result.returncode == 2
    assert "--ibv and --tcp are incompatible" in result.stderr
    # As on a machine without rdma-core: the tools say which library is missing.
    env = dict(os.environ, SPEAD2_IBV_LIBRARY="libspead2_no_such_ibverbs.so.1")
    for tool, args in [("spead2_recv", ["8888"]), ("spead2_send", ["239.1.2.3:8888"])]:
        result = run([find_tool(tool), "--ibv", "--bind", "127.0.0.1"] + args, env=env)
        assert result.returncode == 1
        assert "ibverbs support needs libspead2_no_such_ibverbs.so.1" in result.stderr
    # spead2 sends through ibverbs only to multicast groups.
    result = run([find_tool("spead2_send"), "--ibv", "--bind", "127.0.0.1", "127.0.0.1:8888"])
    assert result.returncode == 1
    assert "endpoint is not an IPv4 multicast address" in result.stderr


def send_recv(recv_args, send_args, sources, proto="udp"):
    """Starts spead2_recv on sources, waits for its sockets, runs spead2_send, returns both."""
    recv = start([find_tool("spead2_recv")] + recv_args + sources)
    try:
        for source in sources:
            wait_bound(int(source.rsplit(":", 1)[-1]), proto, recv)
        sent = run([find_tool("spead2_send")] + send_args)
        rc, out, err = finish(recv)
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.communicate()
    return sent, (rc, out, err)


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_send_recv_verify(proto):
    port = free_port()
    extra = ["--tcp"] if proto == "tcp" else []
    dest = f"127.0.0.1:{port}"
    sent, (rc, out, err) = send_recv(
        extra + ["--quiet", "--verify"],
        extra + ["--verify", "--heaps", "20", "--heap-size", "65536", "--items", "3", "--rate", "1", dest],
        [dest],
        proto,
    )
    assert sent.returncode == 0, sent.stderr
    m = SENT_RE.search(sent.stdout)
    assert m and int(m.group(1)) > 20 * 65536
    assert rc == 0, err
    assert "Verification" not in err
    count, stats = parse_stats(out)
    assert count == 20
    assert list(stats)[: len(CORE_STATS)] == CORE_STATS
    assert stats["heaps"] == 20
    assert stats["incomplete_heaps_evicted"] == 0
    assert stats["incomplete_heaps_flushed"] == 0
    assert "Received heap" not in out  # --quiet


def test_verify_detects_wrong_data():
    port = free_port()
    dest = f"127.0.0.1:{port}"
    sent, (rc, out, err) = send_recv(
        ["--quiet", "--verify"], ["--heaps", "3", "--heap-size", "4096", dest], [dest]
    )
    assert sent.returncode == 0
    assert rc == 1
    # spead2's message; the sender without --verify sends zeros.
    assert "Verification mismatch in heap 1, item 0x1000 offset 0\nexpected 0xbc8f, actual 0x0\n" in err
    assert "3 items failed verification" in err
    assert parse_stats(out)[0] == 3


def minstd_values(start, count):
    """Outputs start .. start + count - 1 of std::minstd_rand with its default seed."""
    return [pow(48271, k + 1, 2**31 - 1) for k in range(start, start + count)]


def test_send_verify_pattern_is_spead2s():
    """The --verify values are those of spead2 4.5.1's spead2_send (its first heap starts
    0x0000bc8f 0x0ae257e2 4cf91f46: std::minstd_rand in order), so either tool pairs with the
    other's: item i of heap c starts at value ((c - 1) * items_in_heap + i) * elements."""
    import numpy as np

    import spead2.recv

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        dest = "127.0.0.1:%d" % sock.getsockname()[1]
        sent = run([find_tool("spead2_send"), "--verify", "--heaps", "3", "--heap-size", "64", "--items", "2", dest])
        assert sent.returncode == 0, sent.stderr
        sock.settimeout(1)
        packets = []
        try:
            while True:
                packets.append(sock.recv(65536))
        except socket.timeout:
            pass
    stream = spead2.recv.Stream(spead2.ThreadPool(), spead2.recv.StreamConfig(max_heaps=4))
    stream.add_buffer_reader(b"".join(packets))
    values = {}
    for heap in stream:
        for item in heap.get_items():
            values[(heap.cnt, item.id)] = list(np.frombuffer(item, ">u4"))
    assert values[(1, 0x1000)][:3] == [0x0000BC8F, 0x0AE257E2, 0x4CF91F46]
    assert values == {
        (cnt, 0x1000 + i): minstd_values(((cnt - 1) * 2 + i) * 8, 8) for cnt in (1, 2, 3) for i in range(2)
    }


def test_recv_verify_follows_spead2s_rule():
    """spead2_recv --verify expects what spead2 4.5.1's does: the start of each item follows from
    the heap's cnt and its number of items, descriptors included, whatever heaps came before.
    Here heap 5 comes alone, with one descriptor for two test items (3 items in all)."""
    import numpy as np

    import spead2.send

    def send(first_value):
        port = free_port()
        dest = f"127.0.0.1:{port}"
        recv = start([find_tool("spead2_recv"), "--quiet", "--verify", dest])
        try:
            wait_bound(port, "udp", recv)
            stream = spead2.send.UdpStream(spead2.ThreadPool(), [("127.0.0.1", port)], spead2.send.StreamConfig())
            flavour = spead2.Flavour(4, 64, 40, 0)
            ig = spead2.send.ItemGroup(flavour=flavour)
            heap = spead2.send.Heap(flavour)
            for i in range(2):
                item = ig.add_item(0x1000 + i, f"Test item {i}", "", (8,), dtype=">u4")
                item.value = np.array(minstd_values(first_value + i * 8, 8), ">u4")
                heap.add_item(item)
            heap.add_descriptor(ig[0x1000])
            stream.send_heap(heap, 5)
            stream.send_heap(ig.get_end())
            return finish(recv)
        finally:
            if recv.poll() is None:
                recv.kill()
                recv.communicate()

    rc, out, err = send((5 - 1) * 3 * 8)
    assert rc == 0, err
    assert parse_stats(out)[0] == 1
    rc, out, err = send((5 - 1) * 2 * 8)  # as if descriptors did not count
    assert rc == 1
    expected = minstd_values(96, 1)[0]
    assert f"Verification mismatch in heap 5, item 0x1000 offset 0\nexpected {expected:#x}, actual " in err


def test_heap_output_and_descriptors():
    port = free_port()
    dest = f"127.0.0.1:{port}"
    sent, (rc, out, err) = send_recv(
        ["--descriptors"], ["--heaps", "3", "--heap-size", "64", "--items", "2", dest], [dest]
    )
    assert rc == 0, err
    heap_lines = [line for line in out.splitlines() if line.startswith("Received heap ")]
    assert [line.split()[2] for line in heap_lines] == ["1", "2", "3"]
    assert out.count("Descriptor for Test item 0 (0x1000)") == 1
    assert "Descriptor for Test item 1 (0x1001)" in out
    # spead2's layout and numpy header, byte for byte.
    assert (
        "Descriptor for Test item 0 (0x1000)\n"
        "  description: A test item with arbitrary value\n"
        "  format:      []\n"
        "  dtype:       {'shape': (8,), 'fortran_order': False, 'descr': '>u4'}\n"
        "  shape:       ()\n"
    ) in out
    assert out.count("0x1000 = [32 bytes]") == 3
    assert out.count("0x1001 = [32 bytes]") == 3
    assert parse_stats(out)[0] == 3


def two_ports():
    ports = [free_port(), free_port()]
    while ports[1] == ports[0]:
        ports[1] = free_port()
    return ports


@pytest.mark.parametrize("mode", [[], ["--threads", "2"]])
def test_round_robin_destinations(mode):
    dests = [f"127.0.0.1:{p}" for p in two_ports()]
    sent, (rc, out, err) = send_recv(
        mode + ["--descriptors"],
        ["--heaps", "10", "--heap-size", "4096", "--verify", "--rate", "0.5"] + dests,
        dests,
    )
    assert sent.returncode == 0, sent.stderr
    assert rc == 0, err
    count, stats = parse_stats(out)
    assert count == 10
    assert stats["heaps"] == 10
    # The first heap on each destination carries the descriptors.
    assert out.count("Descriptor for Test item 0 (0x1000)") == 2
    cnts = sorted(int(line.split()[2]) for line in out.splitlines() if line.startswith("Received heap "))
    assert cnts == list(range(1, 11))
    # 3 packets per 4096-byte heap, one more for each descriptor heap, one stop heap per destination.
    assert stats["packets"] == 10 * 3 + 2 + 2


@pytest.mark.parametrize("mode", [["--joint"], ["--ring"]])
def test_joint_stream(mode):
    """One stream for all sources: the first stop heap (on any source) ends it."""
    dests = [f"127.0.0.1:{p}" for p in two_ports()]
    sent, (rc, out, err) = send_recv(
        mode + ["--verify"],
        ["--heaps", "10", "--heap-size", "4096", "--verify", dests[1]],
        dests,
    )
    assert sent.returncode == 0, sent.stderr
    assert rc == 0, err
    count, stats = parse_stats(out)
    assert count == 10
    assert stats["heaps"] == 10
    assert out.count("Received heap ") == 10


def test_pyspead_and_addr_bits():
    port = free_port()
    dest = f"127.0.0.1:{port}"
    sent, (rc, out, err) = send_recv(
        ["--quiet", "--verify", "--pyspead"],
        ["--verify", "--pyspead", "--addr-bits", "48", "--heaps", "5", "--heap-size", "10000", dest],
        [dest],
    )
    assert rc == 0, err
    assert parse_stats(out)[0] == 5


def test_recv_sigint_prints_stats():
    port = free_port()
    recv = start([find_tool("spead2_recv"), "--quiet", f"127.0.0.1:{port}"])
    wait_bound(port, "udp", recv)
    rc, out, err = finish(recv, signal.SIGINT)
    assert rc == 0, err
    count, stats = parse_stats(out)
    assert count == 0
    assert stats["heaps"] == 0


def test_send_infinite_until_sigint():
    port = free_port()
    dest = f"127.0.0.1:{port}"
    recv = start([find_tool("spead2_recv"), "--quiet", dest])
    try:
        wait_bound(port, "udp", recv)
        send = start([find_tool("spead2_send"), "--heaps", "-1", "--heap-size", "8192", "--rate", "0.1", dest])
        time.sleep(1.0)
        assert send.poll() is None
        rc, out, err = finish(send, signal.SIGINT)
        assert rc == 0, err
        assert SENT_RE.search(out)
        # The stop heap still went out, so the receiver ends by itself.
        rc, out, err = finish(recv)
        assert rc == 0
        assert parse_stats(out)[0] > 10
    finally:
        for p in (recv,):
            if p.poll() is None:
                p.kill()
                p.communicate()


def test_tcp_send_without_receiver_fails():
    port = free_port(socket.SOCK_STREAM)
    result = run([find_tool("spead2_send"), "--tcp", "--heaps", "1", f"127.0.0.1:{port}"])
    assert result.returncode == 1
    assert "spead2_send:" in result.stderr


def _mcdump_capture(mcdump_args, port, send_args, while_running=None):
    """Runs mcdump on 127.0.0.1:port, sends with spead2_send, stops mcdump with SIGINT and returns
    the packets it says it captured (none dropped). while_running(pid) runs before the send."""
    dest = f"127.0.0.1:{port}"
    dump = start([find_tool("mcdump"), "-q", *mcdump_args, "-i", "127.0.0.1", dest])
    try:
        wait_bound(port, "udp", dump)
        if while_running:
            while_running(dump.pid)
        sent = run([find_tool("spead2_send"), "--verify", *send_args, dest])
        assert sent.returncode == 0, sent.stderr
        time.sleep(0.3)
        rc, out, err = finish(dump, signal.SIGINT)
    finally:
        if dump.poll() is None:
            dump.kill()
            dump.communicate()
    assert rc == 0, err
    m = re.search(r"Captured (\d+) packets \((\d+) bytes\), 0 dropped by the kernel", out)
    assert m, out
    return int(m.group(1))


def test_mcdump_pcap_round_trip(tmp_path):
    port = free_port()
    capture = tmp_path / "capture.pcap"
    packets = _mcdump_capture([str(capture)], port, ["--heaps", "30", "--heap-size", "20000", "--items", "2"])
    # 20000-byte heaps in 1472-byte packets: 14 packets each, one more for the first heap (its
    # descriptors), plus a stop packet.
    assert packets == 30 * 14 + 2
    data = capture.read_bytes()
    magic, vmaj, vmin, _, _, snaplen, linktype = struct.unpack("=IHHiIII", data[:24])
    assert (magic, vmaj, vmin, snaplen, linktype) == (0xA1B23C4D, 2, 4, 9230, 1)
    # First record: a full Ethernet/IPv4/UDP frame to our port.
    _, _, incl, orig = struct.unpack("=IIII", data[24:40])
    assert incl == orig
    frame = data[40 : 40 + incl]
    assert frame[12:14] == b"\x08\x00"
    assert frame[14] == 0x45 and frame[23] == 17
    assert frame[30:34] == socket.inet_aton("127.0.0.1")
    assert struct.unpack(">H", frame[36:38])[0] == port
    assert struct.unpack(">H", frame[38:40])[0] == incl - 34
    assert frame[42:44] == b"\x53\x04"  # SPEAD magic and version

    result = run([find_tool("spead2_recv"), "--quiet", "--verify", str(capture)])
    assert result.returncode == 0, result.stderr
    count, stats = parse_stats(result.stdout)
    assert count == 30
    assert stats["packets"] == packets


def test_mcdump_snaplen_and_count(tmp_path):
    port = free_port()
    dest = f"127.0.0.1:{port}"
    capture = tmp_path / "short.pcap"
    dump = start([find_tool("mcdump"), "-q", "-s", "100", "-c", "20", "-i", "127.0.0.1", str(capture), dest])
    try:
        wait_bound(port, "udp", dump)
        sent = run([find_tool("spead2_send"), "--heaps", "10", "--heap-size", "20000", dest])
        assert sent.returncode == 0
        rc, out, err = finish(dump)
    finally:
        if dump.poll() is None:
            dump.kill()
            dump.communicate()
    assert rc == 0, err
    assert "Captured 20 packets" in out
    data = capture.read_bytes()
    offset, records = 24, 0
    while offset < len(data):
        _, _, incl, orig = struct.unpack("=IIII", data[offset : offset + 16])
        assert incl == min(100, orig)
        assert 42 + 40 < orig <= 42 + 1472
        offset += 16 + incl
        records += 1
    assert records == 20


def _disk_threads(pid):
    """CPUs allowed for each of mcdump's disk threads (named mcdump-disk), sorted."""
    allowed = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        task = Path(f"/proc/{pid}/task/{tid}")
        if task.joinpath("comm").read_text().strip() == "mcdump-disk":
            status = task.joinpath("status").read_text()
            allowed.append(re.search(r"^Cpus_allowed_list:\s*(\S+)", status, re.M).group(1))
    return sorted(allowed)


@pytest.mark.parametrize("direct_io", [False, True], ids=["buffered", "direct-io"])
def test_mcdump_disk_threads(tmp_path, direct_io):
    """One disk thread per -D, on its core, each writing 1 MiB chunks at their own offsets: the
    file reads back whole, with records split across chunk boundaries and, under O_DIRECT, the
    unaligned tail written too."""
    if os.cpu_count() < 2:
        pytest.skip("needs two CPUs to pin the disk threads to")
    port = free_port()
    capture = tmp_path / "threads.pcap"
    # --disk-buffer 0: the smallest pool (a chunk per disk thread and one being filled), so that
    # the threads take turns.
    args = ["-D", "0", "-D", "1", "-D", "0", "--disk-buffer", "0"] + (["--direct-io"] if direct_io else [])

    def check_threads(pid):
        # Each thread names and pins itself as it starts, which may come after the port is bound.
        deadline = time.monotonic() + 10
        while _disk_threads(pid) != ["0", "0", "1"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _disk_threads(pid) == ["0", "0", "1"]

    heaps = 400
    packets = _mcdump_capture(
        args + [str(capture)],
        port,
        ["--heaps", str(heaps), "--heap-size", "20000", "--items", "2", "--rate", "1"],
        while_running=check_threads,
    )
    assert packets == heaps * 14 + 2
    data = capture.read_bytes()
    assert len(data) > 5 * 2**20  # several chunks
    assert len(data) % 4096 != 0 or not direct_io  # a tail that O_DIRECT alone could not write
    offset, records = 24, 0
    while offset < len(data):
        _, _, incl, orig = struct.unpack("=IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + incl]
        assert incl == orig == len(frame)
        assert struct.unpack(">H", frame[36:38])[0] == port
        assert frame[42:44] == b"\x53\x04"
        offset += 16 + incl
        records += 1
    assert offset == len(data)
    assert records == packets
    result = run([find_tool("spead2_recv"), "--quiet", "--verify", str(capture)])
    assert result.returncode == 0, result.stderr
    assert parse_stats(result.stdout)[0] == heaps


def test_mcdump_count_only():
    port = free_port()
    dest = f"127.0.0.1:{port}"
    dump = start([find_tool("mcdump"), "-i", "127.0.0.1", "-c", "5", "-", dest])
    try:
        wait_bound(port, "udp", dump)
        sent = run([find_tool("spead2_send"), "--heaps", "10", "--heap-size", "1000", dest])
        assert sent.returncode == 0
        rc, out, err = finish(dump)
    finally:
        if dump.poll() is None:
            dump.kill()
            dump.communicate()
    assert rc == 0, err
    assert "Captured 5 packets" in out


def test_bench_mem():
    result = run(
        [find_tool("spead2_bench"), "mem", "--heap-size", "65536", "--size", "2000000", "--passes", "2"]
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^Decoded \d+ heaps \(\d+ bytes\) 2 times in", result.stdout, re.M)
    assert re.search(r"^Rate: [0-9.e+]+ Gbps$", result.stdout, re.M)


@pytest.mark.parametrize("ring", [[], ["--ring", "--ring-heaps", "2"]])
def test_bench_mem_quiet(ring):
    """--quiet prints the rate alone, as spead2's tool does; --ring goes through a ring stream."""
    result = run(
        [find_tool("spead2_bench"), "mem", "--quiet", "--heap-size", "65536", "--size", "2000000", "--passes", "2"]
        + ring
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"[0-9.e+]+\n", result.stdout)
    assert float(result.stdout) > 0


def test_bench_agent_master():
    port = free_port()
    agent = start([find_tool("spead2_bench"), "agent", str(port)])
    try:
        wait_bound(port, "tcp", agent)
        args = [find_tool("spead2_bench"), "master", "--heap-size", "65536", "--run-bytes", "1000000"]
        result = run(args + [f"127.0.0.1:{port}"])
        assert result.returncode == 0, result.stderr
        # spead2's format: the first rate, then "Limited by send speed" or the search, then the result.
        lines = result.stdout.splitlines()
        assert re.fullmatch(r"Send rate: \d+\.\d{3} Gbps", lines[0]), lines
        for line in lines[1:-1]:
            assert line == "Limited by send speed" or re.fullmatch(
                r"Rate: \d+\.\d{3} Gbps \(\d+\.\d{3} actual\): (GOOD|BAD)", line
            ), lines
        m = re.fullmatch(r"Sustainable rate: (\d+\.\d{3}) Gbps", lines[-1])
        assert m and float(m.group(1)) > 0
        result = run(args + ["--quiet", f"127.0.0.1:{port}"])
        assert result.returncode == 0, result.stderr
        assert float(result.stdout.strip()) > 0
        # A raw session of the control protocol.
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            f = s.makefile("rw")
            f.write("start\npacket = 9200\nheap-size = 4096\nend_config\n")
            f.flush()
            assert f.readline() == "ready\n"
            f.write("stop\n")
            f.flush()
            assert f.readline() == "0\n"
            f.write("start\nno-such-setting = 1\nend_config\n")
            f.flush()
            assert f.readline().startswith("error: unknown setting 'no-such-setting'")
            f.write("exit\n")
            f.flush()
            assert f.readline() == ""
        rc, out, err = finish(agent, signal.SIGINT)
        assert rc == 0, err
        # The agent prints each run's heap count, as spead2's does; the raw session's run got none.
        counts = out.splitlines()
        assert all(c.isdigit() for c in counts) and counts[-1] == "0", counts
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.communicate()


# What spead2 4.5.1's C++ `spead2_bench master --heap-size 65536` sends to its agent (captured from
# the reference's tool with a TCP listener); `ring = 1` with --ring.
REFERENCE_MASTER_SETTINGS = [
    ("multicast", ""), ("tcp", "0"), ("pyspead", "0"), ("bind", ""), ("packet", "9200"),
    ("buffer", "8388608"), ("concurrent-heaps", "4"), ("substreams", "1"), ("ring-heaps", "4"),
    ("mem-pool", "1"), ("mem-lower", "65536"), ("mem-upper", "66560"), ("mem-max-free", "12"),
    ("mem-initial", "8"), ("ring", "0"), ("memcpy-nt", "0"), ("ibv", "0"), ("ibv-vector", "0"),
    ("ibv-max-poll", "10"),
]  # fmt: skip


@pytest.mark.parametrize("ring", ["0", "1"])
def test_bench_agent_takes_reference_master_settings(ring):
    """Our agent serves spead2's master: its settings (ring, mem-pool, ibv, ...) are understood,
    and heaps sent to it are counted through callbacks or a ring."""
    port = free_port()
    agent = start([find_tool("spead2_bench"), "agent", str(port)])
    try:
        wait_bound(port, "tcp", agent)
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
            f = s.makefile("rw")
            settings = [(k, ring if k == "ring" else v) for k, v in REFERENCE_MASTER_SETTINGS]
            f.write("start\n" + "".join(f"{k} = {v}\n" for k, v in settings) + "end_config\n")
            f.flush()
            assert f.readline() == "ready\n"
            sender = run([find_tool("spead2_send"), "--heaps", "20", "--heap-size", "65536", "--packet", "9200",
                          "--rate", "0.5", f"127.0.0.1:{port}"])  # fmt: skip
            assert sender.returncode == 0, sender.stderr
            time.sleep(0.2)
            f.write("stop\n")
            f.flush()
            # 20 data heaps (and the end-of-stream heap, which also counts as complete)
            assert int(f.readline()) >= 20
            f.write("exit\n")
            f.flush()
    finally:
        finish(agent, signal.SIGINT)


@pytest.mark.parametrize("ring", [False, True])
def test_bench_master_sends_reference_settings(ring):
    """Our master sends spead2's settings, in spead2's order, so spead2's agent understands it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        args = [find_tool("spead2_bench"), "master", "--heap-size", "65536", f"127.0.0.1:{port}"]
        master = start(args + (["--ring"] if ring else []))
        try:
            listener.settimeout(TIMEOUT)
            conn, _ = listener.accept()
            with conn:
                f = conn.makefile("rw")
                assert f.readline() == "start\n"
                lines = []
                while (line := f.readline()) != "end_config\n":
                    lines.append(tuple(part.strip() for part in line.split("=", 1)))
                expected = [(k, ("1" if ring else "0") if k == "ring" else v) for k, v in REFERENCE_MASTER_SETTINGS]
                assert lines == expected
                f.write("error: test over\n")
                f.flush()
        finally:
            rc, _, err = finish(master)
        assert rc != 0 and "test over" in err


def test_net_raw_usage():
    tool = find_tool("spead2_net_raw")
    result = run([tool])
    assert result.returncode == 2
    assert "Usage: spead2_net_raw <program>" in result.stderr
    assert run([tool, "--bogus"]).returncode == 2
    result = run([tool, "-h"])
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_net_raw_raises_ambient_capability():
    tool = find_tool("spead2_net_raw")
    result = run([tool, "sh", "-c", "grep CapAmb /proc/self/status; exit 3"])
    status = Path("/proc/self/status").read_text()
    permitted = int(re.search(r"CapPrm:\s*([0-9a-f]+)", status).group(1), 16)
    if permitted & (1 << 13):  # CAP_NET_RAW: we may grant it to the child
        assert result.returncode == 3, result.stderr
        ambient = int(result.stdout.split()[1], 16)
        assert ambient & (1 << 13)
    else:
        assert result.returncode == 1
        assert "setcap cap_net_raw+p" in result.stderr


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_ipv6_loopback(proto):
    if not socket.has_ipv6 or not Path("/proc/net/if_inet6").exists():
        pytest.skip("no IPv6")
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback")
        port = s.getsockname()[1]
    extra = ["--tcp"] if proto == "tcp" else []
    # Both spellings of an IPv6 endpoint: bare (split at the last colon) and bracketed.
    sent, (rc, out, err) = send_recv(
        extra + ["--quiet", "--verify"],
        extra + ["--verify", "--heaps", "10", "--heap-size", "10000", f"[::1]:{port}"],
        [f"::1:{port}"],
        proto,
    )
    assert sent.returncode == 0, sent.stderr
    assert rc == 0, err
    assert parse_stats(out)[0] == 10
