# SPDX-License-Identifier: LGPL-3.0-or-later
"""Captures written by tcpdump read back with add_udp_pcap_file_reader.

tcpdump captures loopback only (``-i lo``, one UDP port) while a sender in a subprocess sends a
few heaps to 127.0.0.1: our UdpStream as it sends by default (UDP GSO where the kernel has it,
so the capture holds multi-packet super-frames), our UdpStream with SPEAD2_UDP_GSO=0 (one
packet per frame) and the reference spead2 4.5.1's UdpStream. Each file is then replayed and
every heap and item value checked; the captured UDP payloads, split into SPEAD packets by a small
parser here, must be exactly the bytes that BytesStream produces for the same heaps.

tcpdump on lo writes link type EN10MB (Ethernet) with zeroed MAC addresses; the file header and
frames are checked too. Skips when tcpdump is missing or may not capture here.
"""

import functools
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import spead2
import spead2.recv as recv

TIMEOUT = 60
N_HEAPS = 12
RATE = 50e6  # bytes per second: ~0.5 MB in all
MAX_PACKET = 1472
SNAPLEN = 65600  # an Ethernet frame of the largest UDP datagram is 65549 bytes
REF_PYTHON = Path(__file__).resolve().parents[2] / ".cache" / "ref-venv" / "bin" / "python"

# Run by the sender subprocesses (ours and the reference's) and, for the expected bytes, in
# BytesStream mode. Arguments: mode ("udp" or "bytes"), port, n_heaps.
SENDER = r"""
import sys
import numpy as np
import spead2, spead2.send as send

mode, port, n_heaps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tp = spead2.ThreadPool()
config = send.StreamConfig(max_packet_size=%d, rate=%r)
if mode == "udp":
    stream = send.UdpStream(tp, [("127.0.0.1", port)], config)
else:
    stream = send.BytesStream(tp, config)
ig = send.ItemGroup()
ig.add_item(0x1000, "index", "heap number", shape=(), format=[("u", 32)])
ig.add_item(0x1001, "data", "an array over many packets", shape=(9000,), dtype=np.int32)
ig.add_item(0x1002, "scale", "a float", shape=(), dtype=np.float64)
ig.add_item(0x1003, "label", "variable-length text", shape=(None,), format=[("c", 8)])
for i in range(n_heaps):
    ig["index"].value = i
    ig["data"].value = np.arange(9000, dtype=np.int32) * (i + 1) - 4500 * i
    ig["scale"].value = 0.25 * i - 1.5
    ig["label"].value = "heap %%d " %% i + "x" * (i * 37 %% 200)
    stream.send_heap(ig.get_heap())
stream.send_heap(ig.get_end())
if mode == "bytes":
    sys.stdout.buffer.write(stream.getvalue())
else:
    print("sent")
# Stream before thread pool, explicitly: spead2 4.5.1 sometimes hangs at interpreter exit when
# both are left to the module's teardown.
del stream
del tp
""" % (MAX_PACKET, RATE)


def expected_values(i):
    return {
        "index": i,
        "data": np.arange(9000, dtype=np.int32) * (i + 1) - 4500 * i,
        "scale": 0.25 * i - 1.5,
        "label": "heap %d " % i + "x" * (i * 37 % 200),
    }


def _python(sender):
    if sender == "reference":
        if not REF_PYTHON.exists():
            pytest.skip("the reference spead2 is not installed (.ci/ref-venv)")
        return [str(REF_PYTHON), "-E", "-s"]
    return [sys.executable]


def _sender_env(sender):
    env = dict(os.environ)
    env.pop("SPEAD2_UDP_GSO", None)
    if sender == "ours-no-gso":
        env["SPEAD2_UDP_GSO"] = "0"
    return env


class Tcpdump:
    """tcpdump -i lo writing FILE for one UDP port, started once it prints "listening on"."""

    def __init__(self, path, port, precision):
        tcpdump = shutil.which("tcpdump") or next(
            (p for p in ("/usr/sbin/tcpdump", "/usr/bin/tcpdump") if os.access(p, os.X_OK)), None
        )
        if tcpdump is None:
            pytest.skip("tcpdump is not installed")
        # --immediate-mode: without it packets wait in the kernel's ring until a block times out,
        # and a SIGINT soon after the send finds them not yet written. Immediate mode gives every
        # frame a slot of the snap length, so the snap length is just above the largest UDP
        # datagram (a GSO super-frame) and the ring (-B, KiB) holds ~500 of them: the whole
        # capture, should tcpdump not be scheduled while it arrives.
        args = [tcpdump, "-i", "lo", "-n", "-U", "--immediate-mode", "-s", str(SNAPLEN), "-B", "32768"]
        args.append(f"--time-stamp-precision={precision}")
        self.proc = subprocess.Popen(
            args + ["-w", str(path), "udp", "port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen = ""
        while "listening on" not in seen:
            ready, _, _ = select.select([self.proc.stderr], [], [], TIMEOUT)
            line = self.proc.stderr.readline() if ready else ""
            if not line:
                self.proc.kill()
                _, err = self.proc.communicate()
                pytest.skip(f"tcpdump cannot capture on lo here: {(seen + err).strip() or 'no output'}")
            seen += line

    def stop(self):
        """Stops tcpdump (SIGINT, as a user would) and returns its captured/dropped counts."""
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise AssertionError("tcpdump did not stop on SIGINT")
        assert self.proc.returncode == 0, err
        captured = re.search(r"^(\d+) packets? captured$", err, re.M)
        dropped = re.search(r"^(\d+) packets? dropped by kernel$", err, re.M)
        assert captured and dropped, err
        return int(captured.group(1)), int(dropped.group(1))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def read_pcap(path):
    """The classic pcap file's (magic, link type, snaplen) and its frames' bytes."""
    data = Path(path).read_bytes()
    magic, major, minor, _, _, snaplen, linktype = struct.unpack("<IHHiIII", data[:24])
    assert (major, minor) == (2, 4)
    frames, offset = [], 24
    while offset < len(data):
        _, _, incl, orig = struct.unpack("<IIII", data[offset : offset + 16])
        assert incl == orig, "a frame was truncated by the snap length"
        frames.append(data[offset + 16 : offset + 16 + incl])
        offset += 16 + incl
    assert offset == len(data)
    return magic, linktype, snaplen, frames


def udp_payload(frame, port):
    """Checks an Ethernet/IPv4/UDP frame from lo (zero MACs) to 127.0.0.1:port; its payload."""
    assert frame[:12] == bytes(12), "lo frames have zeroed MAC addresses"
    assert frame[12:14] == b"\x08\x00"
    ihl = (frame[14] & 0x0F) * 4
    assert frame[14] >> 4 == 4 and frame[23] == 17
    assert struct.unpack(">H", frame[16:18])[0] == len(frame) - 14
    assert frame[30:34] == socket.inet_aton("127.0.0.1")
    udp = frame[14 + ihl :]
    _, dst_port, length = struct.unpack(">HHH", udp[:6])
    assert dst_port == port
    assert length == len(udp)
    return udp[8:]


def split_packets(payload):
    """Splits a UDP payload into SPEAD packets: header, item pointers, and the payload length
    (item 0x0004), as the protocol defines them. A GSO super-frame holds several."""
    packets = []
    while payload:
        magic, version, item_width, addr_width, _, n_items = struct.unpack(">BBBBHH", payload[:8])
        assert (magic, version) == (0x53, 4), payload[:8].hex()
        addr_bits = addr_width * 8
        pointers = struct.unpack(">%dQ" % n_items, payload[8 : 8 + 8 * n_items])
        lengths = [p & ((1 << addr_bits) - 1) for p in pointers if (p >> addr_bits) & 0x7FFFFF == 0x0004]
        assert len(lengths) == 1
        size = 8 + 8 * n_items + lengths[0]
        assert size <= len(payload)
        packets.append(payload[:size])
        payload = payload[size:]
    return packets


@functools.lru_cache(maxsize=None)
def expected_bytes(sender):
    """What BytesStream makes of the heaps (in the sender's own library)."""
    result = subprocess.run(
        _python(sender) + ["-c", SENDER, "bytes", "0", str(N_HEAPS)],
        capture_output=True,
        timeout=TIMEOUT,
        env=_sender_env(sender),
        cwd="/",
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def capture(tmp_path, sender, precision):
    """Runs @a sender under tcpdump; returns the file, the port and the captured count. Tries
    again (up to 3 times) if tcpdump reports frames dropped by the kernel."""
    for attempt in range(3):
        path, port, captured, dropped = _capture_once(tmp_path / f"{sender}-{attempt}.pcap", sender, precision)
        if dropped == 0:
            return path, port, captured
    raise AssertionError(f"tcpdump dropped {dropped} frames in each of 3 captures")


def _capture_once(path, sender, precision):
    # A bound socket on the port, so no ICMP port-unreachable answers the sender; nothing
    # reads it (the capture is taken before the socket).
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        port = sink.getsockname()[1]
        dump = Tcpdump(path, port, precision)
        try:
            sent = subprocess.run(
                _python(sender) + ["-c", SENDER, "udp", str(port), str(N_HEAPS)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                env=_sender_env(sender),
                cwd="/",
            )
            assert sent.returncode == 0, sent.stderr
            assert sent.stdout == "sent\n"
            captured, dropped = dump.stop()
        finally:
            dump.kill()
    return path, port, captured, dropped


def gso_available():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.getsockopt(socket.IPPROTO_UDP, 103)  # UDP_SEGMENT
            return True
        except OSError:
            return False


@pytest.mark.parametrize(
    "sender, precision",
    [("ours", "micro"), ("ours-no-gso", "nano"), ("reference", "micro")],
)
def test_capture_reads_back(tmp_path, sender, precision):
    path, port, captured = capture(tmp_path, sender, precision)

    magic, linktype, snaplen, frames = read_pcap(path)
    assert magic == (0xA1B2C3D4 if precision == "micro" else 0xA1B23C4D)
    assert linktype == 1  # EN10MB
    assert snaplen == SNAPLEN
    assert len(frames) == captured
    payloads = [udp_payload(frame, port) for frame in frames]
    per_frame = [split_packets(p) for p in payloads]
    packets = [packet for frame in per_frame for packet in frame]
    # Exactly the packets BytesStream makes of the same heaps, in order.
    assert b"".join(packets) == expected_bytes(sender)
    if sender == "ours-no-gso":
        assert all(len(frame) == 1 for frame in per_frame)
    elif sender == "ours" and gso_available():
        assert max(len(frame) for frame in per_frame) > 1, "no GSO super-frame in the capture"
    assert all(len(p) <= MAX_PACKET for p in packets)

    stream = recv.Stream(spead2.ThreadPool(), recv.StreamConfig(max_heaps=4), recv.RingStreamConfig(heaps=4))
    stream.add_udp_pcap_file_reader(str(path))
    ig = spead2.ItemGroup()
    cnts = []
    for i, heap in enumerate(stream):
        assert not isinstance(heap, recv.IncompleteHeap)
        cnts.append(heap.cnt)
        assert sorted(ig.update(heap)) == ["data", "index", "label", "scale"]
        want = expected_values(i)
        assert ig["index"].value == want["index"]
        assert ig["data"].value.dtype == np.int32
        np.testing.assert_array_equal(ig["data"].value, want["data"])
        assert ig["scale"].value == want["scale"]
        assert ig["label"].value == want["label"]
    assert cnts == list(range(1, N_HEAPS + 1))
    stats = stream.stats
    assert stats.heaps == N_HEAPS
    assert stats.packets == len(packets)
    assert stats.incomplete_heaps_evicted == 0
    assert stats.incomplete_heaps_flushed == 0


def test_capture_with_filter(tmp_path):
    """The reader's BPF filter applies to tcpdump's frames: the port matches everything, another
    port nothing."""
    path, port, _ = capture(tmp_path, "ours", "micro")
    for bpf, heaps in ((f"udp dst port {port}", N_HEAPS), (f"udp dst port {port ^ 1}", 0)):
        stream = recv.Stream(spead2.ThreadPool())
        stream.add_udp_pcap_file_reader(str(path), bpf)
        assert len(list(stream)) == heaps
        assert stream.stats.heaps == heaps
