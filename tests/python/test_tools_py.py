# SPDX-License-Identifier: LGPL-3.0-or-later
"""End-to-end tests of the Python tools spead2_send.py, spead2_recv.py and spead2_bench.py
(spead2.tools.*), run as subprocesses over loopback, plus unit tests of spead2.tools.cmdline.

The output formats are the reference's (see tests/interop/test_python_behaviour.py for the
side-by-side comparison with spead2 4.5.1's tools).
"""

import argparse
import asyncio
import json
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import spead2
import spead2.recv
import spead2.send
from spead2.tools import bench_asyncio, cmdline

TIMEOUT = 60
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


def tool(name):
    return [sys.executable, "-m", f"spead2.tools.{name}"]


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def wait_for_udp(port, timeout=10):
    """Waits until something is bound to UDP 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing bound UDP port {port}")


def wait_for_tcp(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing bound TCP port {port}")


def start_receiver(*args):
    return subprocess.Popen(
        [*tool("recv_asyncio"), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run_tool(name, *args):
    """Runs spead2.tools.<name> to the end; returns the CompletedProcess (text output)."""
    return subprocess.run(
        [*tool(name), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=TIMEOUT
    )


def send(*args):
    result = run_tool("send_asyncio", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def finish(proc):
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    return out.splitlines(), err


def stats_block(lines, start):
    """The 9 'name: value' lines after line index start, as a dict."""
    block = lines[start + 1 : start + 1 + len(CORE_STATS)]
    return {k: int(v) for k, v in (line.split(": ") for line in block)}


def test_send_recv_udp_values_and_descriptors():
    port = free_port()
    recv = start_receiver("--values", "--descriptors", f"127.0.0.1:{port}")
    wait_for_udp(port)
    out = send("--heaps", "3", "--heap-size", "64", "--items", "2", f"127.0.0.1:{port}")
    assert out.startswith("Sent 817 bytes in ") and out.rstrip().endswith(" Gb/s")
    lines, _ = finish(recv)
    name = f"127.0.0.1:{port}"
    assert lines[:13] == [
        f"Received heap 1 on stream {name}",
        "    Descriptor for Test item 0 (0x1000)",
        "      description: A test item with arbitrary value",
        "      format:      None",
        "      dtype:       complex64",
        "      shape:       (4,)",
        "    Descriptor for Test item 1 (0x1001)",
        "      description: A test item with arbitrary value",
        "      format:      None",
        "      dtype:       complex64",
        "      shape:       (4,)",
        "Test item 0 = [0.+0.j 0.+0.j 0.+0.j 0.+0.j]",
        "Test item 1 = [0.+0.j 0.+0.j 0.+0.j 0.+0.j]",
    ]
    assert lines[13:19] == [
        f"Received heap 2 on stream {name}",
        "Test item 0 = [0.+0.j 0.+0.j 0.+0.j 0.+0.j]",
        "Test item 1 = [0.+0.j 0.+0.j 0.+0.j 0.+0.j]",
        f"Received heap 3 on stream {name}",
        "Test item 0 = [0.+0.j 0.+0.j 0.+0.j 0.+0.j]",
        "Test item 1 = [0.+0.j 0.+0.j 0.+0.j 0.+0.j]",
    ]
    assert lines[19] == f"Shutting down stream {name} after 3 heaps"
    stats = stats_block(lines, 19)
    assert list(stats) == CORE_STATS
    assert stats["heaps"] == 3
    assert stats["packets"] == 4  # 3 data heaps and the stop heap, one packet each
    assert len(lines) == 20 + len(CORE_STATS)


def test_send_recv_tcp_dtype_items():
    port = free_port()
    recv = start_receiver("--tcp", f"127.0.0.1:{port}")
    wait_for_tcp(port)
    send("--tcp", "--heaps", "4", "--heap-size", "4096", "--items", "4", "--dtype", ">u2", f"127.0.0.1:{port}")
    lines, _ = finish(recv)
    heap_lines = [line for line in lines if line.startswith("Received heap")]
    assert heap_lines == [f"Received heap {i} on stream 127.0.0.1:{port}" for i in range(1, 5)]
    assert lines[1:5] == ["Test item 0", "Test item 1", "Test item 2", "Test item 3"]
    shutdown = lines.index(f"Shutting down stream 127.0.0.1:{port} after 4 heaps")
    assert stats_block(lines, shutdown)["heaps"] == 4


def test_round_robin_destinations_and_separate_streams():
    ports = [free_port(), free_port()]
    while ports[1] == ports[0]:
        ports[1] = free_port()
    recv = start_receiver(*(f"127.0.0.1:{p}" for p in ports))
    for p in ports:
        wait_for_udp(p)
    send("--heaps", "4", "--heap-size", "64", *(f"127.0.0.1:{p}" for p in ports))
    lines, _ = finish(recv)
    for i, p in enumerate(ports):
        received = sorted(
            int(line.split()[2]) for line in lines if line.startswith("Received heap") and line.endswith(f":{p}")
        )
        assert received == [1 + i, 3 + i]  # heaps alternate between the destinations
        shutdown = lines.index(f"Shutting down stream 127.0.0.1:{p} after 2 heaps")
        assert stats_block(lines, shutdown)["heaps"] == 2
    # The first heap of each destination carries the descriptors, so each stream knows the item.
    assert lines.count("Test item 0") == 4


def test_joint_max_heaps_bare_port():
    ports = [free_port(), free_port()]
    while ports[1] == ports[0]:
        ports[1] = free_port()
    recv = start_receiver("--joint", "--max-heaps", "3", str(ports[0]), f"127.0.0.1:{ports[1]}")
    for p in ports:
        wait_for_udp(p)
    send("--heaps", "5", "--heap-size", "64", "--rate", "0.001", *(f"127.0.0.1:{p}" for p in ports))
    lines, _ = finish(recv)
    heap_lines = [line for line in lines if line.startswith("Received heap")]
    assert len(heap_lines) == 3
    assert all(line.endswith(f" on stream {ports[0]}") for line in heap_lines)  # the first source names it
    assert not any(line.startswith("Shutting down") for line in lines)


def _udp_local_addresses(port):
    """The local addresses of the UDP sockets bound to @a port (from /proc/net/udp)."""
    found = []
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            address, local_port = line.split()[1].split(":")
            if int(local_port, 16) == port:
                found.append(socket.inet_ntoa(int(address, 16).to_bytes(4, "little")))
    return found


@pytest.mark.parametrize("source", ["{port}", ":{port}"])
def test_recv_bind_applies_to_a_bare_port(source):
    """--bind gives the address to bind a bare port to, as spead2's tool does (not 0.0.0.0)."""
    port = free_port()
    recv = start_receiver("--bind", "127.0.0.2", source.format(port=port))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not _udp_local_addresses(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _udp_local_addresses(port) == ["127.0.0.2"]
    finally:
        recv.send_signal(signal.SIGINT)
        finish(recv)


def test_recv_bind_must_be_ipv4():
    result = run_tool("recv_asyncio", "--bind", "::1", str(free_port()))
    assert result.returncode == 1
    assert "ValueError: interface address is not an IPv4 address" in result.stderr


def test_send_errors_are_counted_not_fatal():
    """A heap that cannot be sent (a packet over the UDP limit) is counted and reported once at the
    end; the rest are sent and the exit status is 0, as with spead2's tool."""
    port = free_port()
    result = run_tool("send_asyncio", "--heaps", "2", "--packet", "70000", "--heap-size", "100000", f"127.0.0.1:{port}")
    assert result.returncode == 0, result.stderr
    assert "WARNING:root:2 errors, last one: [Errno 90] Message too long" in result.stderr
    assert result.stdout.startswith("Sent 57 bytes in ")  # the two stop heaps got through


def test_send_warns_when_heap_size_is_rounded():
    port = free_port()
    result = run_tool("send_asyncio", "--heaps", "1", "--heap-size", "1000", "--items", "3", f"127.0.0.1:{port}")
    assert result.returncode == 0, result.stderr
    assert "WARNING:root:Heap size is not an exact multiple: using 984 instead of 1000" in result.stderr


def test_sigint_prints_stats():
    port = free_port()
    recv = start_receiver(f"127.0.0.1:{port}")
    wait_for_udp(port)
    time.sleep(0.2)
    recv.send_signal(signal.SIGINT)
    lines, _ = finish(recv)
    assert lines[0] == f"Shutting down stream 127.0.0.1:{port} after 0 heaps"
    assert stats_block(lines, 0) == {name: 0 for name in CORE_STATS}


def test_send_sigint_exits_quietly():
    """Ctrl-C stops spead2_send.py with status 1 and nothing printed, as spead2's, and at once:
    the 4 MiB heaps still queued would take seconds to send at 0.01 Gb/s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(TIMEOUT)
        port = sock.getsockname()[1]
        sender = subprocess.Popen(
            [*tool("send_asyncio"), "--rate", "0.01", f"127.0.0.1:{port}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            sock.recv(65536)  # sending
            sender.send_signal(signal.SIGINT)
            start = time.monotonic()
            out, err = sender.communicate(timeout=TIMEOUT)
            elapsed = time.monotonic() - start
        finally:
            if sender.poll() is None:
                sender.kill()
                sender.wait()
    assert (sender.returncode, out, err) == (1, "", "")
    assert elapsed < 5


def test_pcap_source(tmp_path):
    """A source whose port is not a number is read as a pcap file (here: an empty capture)."""
    import struct

    path = tmp_path / "empty.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    if not hasattr(spead2.recv.Stream, "add_udp_pcap_file_reader"):
        pytest.skip("no pcap support")
    recv = start_receiver(str(path))
    lines, _ = finish(recv)
    assert lines[0] == f"Shutting down stream {path} after 0 heaps"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tcp", "127.0.0.1:1", "127.0.0.1:2"], "only one destination is supported with TCP"),
        (["--rate-method", "fast", "127.0.0.1:1"], "invalid rate method"),
        (["127.0.0.1:notaport"], "invalid destination"),
        (["--ibv", "127.0.0.1:1"], "--ibv"),
        ([], "the following arguments are required"),
    ],
)
def test_send_bad_options(args, message):
    result = run_tool("send_asyncio", *args)
    assert result.returncode == 2
    assert message in result.stderr


@pytest.mark.parametrize(
    ("name", "options"),
    [
        (
            "send_asyncio",
            "--heap-size --items --dtype --heaps --log --tcp --pyspead --addr-bits --packet --burst "
            "--burst-rate-ratio --max-heaps --rate-method --rate --ttl --buffer --bind --ibv --ibv-vector "
            "--ibv-max-poll --affinity --threads --descriptors",
        ),
        (
            "recv_asyncio",
            "--log --values --descriptors --max-heaps --joint --tcp --pyspead --memcpy-nt --concurrent-heaps "
            "--substreams --ring-heaps --mem-pool --mem-lower --mem-upper --mem-max-free --mem-initial --packet "
            "--buffer --bind --ibv --ibv-vector --ibv-max-poll --affinity --threads",
        ),
    ],
)
def test_help_lists_spec_options(name, options):
    result = subprocess.run([*tool(name), "--help"], stdout=subprocess.PIPE, text=True, timeout=TIMEOUT)
    assert result.returncode == 0
    usage = result.stdout.split("\n\n")[0]
    found = [word.strip("[]") for word in usage.split() if word.startswith("[--")]
    assert found == options.split()


def test_bench_master_help_options():
    result = subprocess.run([*tool("bench_asyncio"), "master", "--help"], stdout=subprocess.PIPE, text=True)
    assert result.returncode == 0
    for option in (
        "--quiet --heap-size --multicast --pyspead --addr-bits --burst --burst-rate-ratio --max-heaps "
        "--rate-method --ttl --send-buffer --send-bind --send-ibv --send-ibv-vector --send-ibv-max-poll "
        "--send-affinity --send-threads --memcpy-nt --concurrent-heaps --substreams --ring-heaps "
        "--mem-max-free --mem-initial --packet --recv-buffer --recv-bind --recv-ibv --recv-ibv-vector "
        "--recv-ibv-max-poll --recv-affinity --recv-threads"
    ).split():
        assert f"[{option}" in result.stdout, option
    for suppressed in ("--tcp", "--rate ", "--mem-pool", "--mem-lower", "--mem-upper"):
        assert f"[{suppressed}" not in result.stdout


def test_bench_agent_protocol():
    """Drive the agent with the JSON-lines protocol and UDP heaps, as the master does."""
    port = free_port()
    agent = subprocess.Popen([*tool("bench_asyncio"), "agent", str(port)], stderr=subprocess.PIPE, text=True)
    try:
        wait_for_tcp(port)

        async def session():
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            protocol = cmdline.ProtocolOptions()
            receiver = cmdline.ReceiverOptions(protocol)
            parser = argparse.ArgumentParser()
            protocol.add_arguments(parser)
            receiver.add_arguments(parser)
            ns = parser.parse_args([])
            protocol.notify(parser, ns)
            receiver.notify(parser, ns)
            command = {
                "cmd": "start",
                "args": {},
                "protocol": bench_asyncio._public(protocol),
                "receiver": bench_asyncio._public(receiver),
            }
            writer.write(json.dumps(command).encode() + b"\n")
            await writer.drain()
            assert await reader.readline() == b"ready\n"
            pool = spead2.ThreadPool()
            stream = spead2.send.UdpStream(pool, [("127.0.0.1", port)], spead2.send.StreamConfig(rate=1e7))
            ig = spead2.send.ItemGroup()
            ig.add_item(0x1000, "x", "", (1000,), dtype="u1")
            ig["x"].value = np.zeros(1000, np.uint8)
            for _ in range(7):
                stream.send_heap(ig.get_heap(data="all"))
            await asyncio.sleep(0.2)
            writer.write(b'{"cmd": "stop"}\n')
            await writer.drain()
            reply = json.loads(await reader.readline())
            writer.write(b'{"cmd": "exit"}\n')
            await writer.drain()
            writer.close()
            return reply

        assert asyncio.run(session()) == {"received_heaps": 7}
    finally:
        agent.send_signal(signal.SIGINT)
        try:
            agent.wait(timeout=10)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()


def test_cmdline_parse_endpoint():
    assert cmdline.parse_endpoint("127.0.0.1:8888") == ("127.0.0.1", 8888)
    assert cmdline.parse_endpoint("8888") == ("", 8888)
    assert cmdline.parse_endpoint("[::1]:8888") == ("[::1]", 8888)
    with pytest.raises(ValueError):
        cmdline.parse_endpoint("file.pcap")


def test_cmdline_defaults_depend_on_protocol():
    protocol = cmdline.ProtocolOptions()
    receiver = cmdline.ReceiverOptions(protocol)
    sender = cmdline.SenderOptions(protocol)
    parser = argparse.ArgumentParser()
    protocol.add_arguments(parser)
    receiver.add_arguments(parser.add_argument_group("r"))
    sparser = argparse.ArgumentParser()
    sender.add_arguments(sparser)
    for argv, recv_buffer, packet, send_buffer in [
        ([], 8388608, 9200, 524288),
        (["--tcp"], 212992, 65536, 212992),
    ]:
        ns = parser.parse_args(argv)
        protocol.notify(parser, ns)
        receiver.notify(parser, ns)
        sender.buffer = None
        sender.notify(sparser, sparser.parse_args([]))
        assert (receiver.buffer, receiver.packet, sender.buffer) == (recv_buffer, packet, send_buffer)
    ns = parser.parse_args(["--pyspead", "--mem-pool", "--memcpy-nt", "--concurrent-heaps", "7"])
    protocol.notify(parser, ns)
    receiver.notify(parser, ns)
    config = receiver.make_stream_config()
    assert (config.max_heaps, config.bug_compat, config.memcpy) == (7, 7, spead2.MEMCPY_NONTEMPORAL)
    assert isinstance(config.memory_allocator, spead2.MemoryPool)
    sns = sparser.parse_args(["--rate", "1", "--rate-method", "sw", "--addr-bits", "48"])
    sender.notify(sparser, sns)
    sconfig = sender.make_stream_config()
    assert sconfig.rate == 125e6  # Gb/s to bytes/s
    assert sconfig.rate_method == spead2.send.RateMethod.SW
    flavour = sender.make_flavour()
    assert (flavour.heap_address_bits, flavour.bug_compat) == (48, 7)


def test_cmdline_name_map():
    protocol = cmdline.ProtocolOptions({"tcp": None})
    receiver = cmdline.ReceiverOptions(protocol, {"bind": "recv_bind", "mem_pool": None})
    parser = argparse.ArgumentParser()
    protocol.add_arguments(parser)
    receiver.add_arguments(parser)
    ns = parser.parse_args(["--recv-bind", "127.0.0.1"])
    assert not hasattr(ns, "tcp") and not hasattr(ns, "mem_pool")
    protocol.notify(parser, ns)
    receiver.notify(parser, ns)
    assert receiver.bind == "127.0.0.1"
    assert protocol.tcp is False and receiver.mem_pool is False


def test_cmdline_defaults_follow_attributes():
    """As in spead2: attributes set before add_arguments are the defaults (help included), and a
    suppressed option keeps the application's value."""
    protocol = cmdline.ProtocolOptions({"tcp": None})
    protocol.tcp = True
    receiver = cmdline.ReceiverOptions(protocol, {"mem_pool": None})
    receiver.mem_pool = True
    receiver.concurrent_heaps = 11
    parser = argparse.ArgumentParser()
    protocol.add_arguments(parser)
    receiver.add_arguments(parser)
    assert "in-flight heaps per substream [11]" in " ".join(parser.format_help().split())
    ns = parser.parse_args([])
    protocol.notify(parser, ns)
    receiver.notify(parser, ns)
    assert protocol.tcp is True and receiver.mem_pool is True and receiver.concurrent_heaps == 11
    assert receiver.buffer == spead2.recv.Stream.DEFAULT_TCP_BUFFER_SIZE


def test_cmdline_thread_pool_affinity(monkeypatch):
    """The workers cycle over the cores after the first, then the first, as spead2's do."""
    calls = []

    class FakeThreadPool:
        set_affinity = staticmethod(lambda core: calls.append(("caller", core)))

        def __init__(self, threads, affinity=()):
            calls.append(("workers", threads, list(affinity)))

    monkeypatch.setattr(spead2, "ThreadPool", FakeThreadPool)
    sender = cmdline.SenderOptions(cmdline.ProtocolOptions())
    sender.affinity = [0, 1]
    sender.threads = 3
    sender.make_thread_pool()
    assert calls == [("caller", 0), ("workers", 3, [1, 0])]


def test_console_scripts_installed():
    for name in ("spead2_send.py", "spead2_recv.py", "spead2_bench.py"):
        path = shutil.which(name)
        if path is None:
            pytest.skip(f"{name} is not on PATH (package not installed into this environment)")
        result = subprocess.run([path, "--help"], stdout=subprocess.PIPE, text=True, timeout=TIMEOUT)
        assert result.returncode == 0
        assert result.stdout.startswith(f"usage: {name}")
