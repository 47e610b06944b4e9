# SPDX-License-Identifier: LGPL-3.0-or-later
"""Smoke runs of the numbered examples (examples/NN_*.py, and their C++ twins when built).

The in-process example's output is compared exactly (it is the output spead2 4.5.1 gives for the
same script); the UDP pairs run over loopback: the receiver starts, says it is listening, the
sender sends 10 heaps and the end-of-stream heap, and the receiver must stop by itself having
printed every heap. C++ twins are found in build/*/examples (the `cpp` CI step builds them) and
are crossed with the Python ones, so the two halves of each pair are checked to interoperate.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import spead2
import spead2.recv
import spead2.send

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TIMEOUT = 60
HEAPS = 10

ITEM_GROUP_OUTPUT = """\
heap 1: changed ['count', 'gain', 'name']
  count (0x1002, version 3) = np.uint32(1)
  gain (0x1000, version 3) = array([1. , 1.5, 2. , 2.5], dtype=float32)
  name (0x1001, version 3) = 'test'
  now holds ['count', 'gain', 'name']
heap 2: changed ['count']
  count (0x1002, version 5) = np.uint32(2)
  now holds ['count', 'gain', 'name']
heap 3: changed ['flags']
  flags (0x1002, version 8) = array([3, 5], dtype=uint8)
  now holds ['flags', 'gain', 'name']
"""


def python_example(name):
    return [sys.executable, str(EXAMPLES / name)]


def cpp_example(name):
    candidates = [p for p in ROOT.glob(f"build/*/examples/{name}") if os.access(p, os.X_OK)]
    if not candidates:
        pytest.skip(f"the C++ example {name} is not built")
    return [str(max(candidates, key=lambda p: p.stat().st_mtime))]


def need_udp():
    if not hasattr(spead2.send, "UdpStream") or not hasattr(spead2.recv.Stream, "add_udp_reader"):
        pytest.skip("this build has no UDP bindings")


def need_asyncio():
    try:
        import spead2.recv.asyncio  # noqa: F401
        import spead2.send.asyncio  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"this build has no asyncio wrappers ({exc})")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_pair(receiver, sender):
    """Runs receiver, then sender once it listens; returns the receiver's stdout lines."""
    endpoint = f"127.0.0.1:{free_udp_port()}"
    # stderr apart: warnings (e.g. a worker waiting on the ring) come from a logging thread and
    # may land anywhere in the output.
    recv = subprocess.Popen(
        [*receiver, endpoint], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=EXAMPLES
    )
    try:
        first = recv.stdout.readline()
        assert first.startswith("listening on"), first
        send = subprocess.run(
            [*sender, endpoint, str(HEAPS)] if sender[0] != sys.executable else [*sender, endpoint, "--heaps", str(HEAPS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=TIMEOUT,
            cwd=EXAMPLES,
        )
        assert send.returncode == 0, send.stdout
        assert f"sent {HEAPS} heaps" in send.stdout
        out, err = recv.communicate(timeout=TIMEOUT)
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.wait()
    assert recv.returncode == 0, out + err
    return out.splitlines()


def heap_lines(lines):
    return [line for line in lines if line.startswith("heap ")]


def test_item_group_round_trip():
    result = subprocess.run(
        python_example("05_item_group.py"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ITEM_GROUP_OUTPUT


def test_item_group_round_trip_cpp():
    result = subprocess.run(cpp_example("05_item_group"), stdout=subprocess.PIPE, text=True, timeout=TIMEOUT)
    assert result.returncode == 0
    assert "descriptor 0x1002 replaces count by flags" in result.stdout
    assert "count = 2 (immediate)" in result.stdout


@pytest.mark.parametrize(
    ("receiver", "sender"),
    [
        ("02_recv.py", "01_send.py"),
        ("04_recv_asyncio.py", "03_send_asyncio.py"),
        ("04_recv_asyncio.py", "01_send.py"),
        ("02_recv.py", "03_send_asyncio.py"),
    ],
)
def test_python_udp_pair(receiver, sender):
    need_udp()
    if "asyncio" in receiver + sender:
        need_asyncio()
    lines = run_pair(python_example(receiver), python_example(sender))
    heaps = heap_lines(lines)
    assert [line.split(":")[0] for line in heaps] == [f"heap {i}" for i in range(1, HEAPS + 1)]
    assert [line.split("timestamp=")[1].split()[0] for line in heaps] == [str(64 * i) for i in range(HEAPS)]
    assert f"received {HEAPS} heaps" in lines[-1]


@pytest.mark.parametrize(("receiver", "sender"), [("cpp", "py"), ("py", "cpp"), ("cpp", "cpp")])
def test_cpp_udp_pair(receiver, sender):
    """The C++ twins print the same heap lines as the Python examples (same seed, same sums)."""
    need_udp()
    recv_cmd = cpp_example("02_recv") if receiver == "cpp" else python_example("02_recv.py")
    send_cmd = cpp_example("01_send") if sender == "cpp" else python_example("01_send.py")
    lines = run_pair(recv_cmd, send_cmd)
    heaps = heap_lines(lines)
    assert len(heaps) == HEAPS, lines
    assert f"received {HEAPS} heaps" in lines[-1]
    if sender == "py":
        # The Python receiver's sums for the Python sender are fixed by numpy's seeded generator.
        reference = heap_lines(run_pair(python_example("02_recv.py"), python_example("01_send.py")))
        assert heaps == reference


def test_examples_are_paired():
    """Every numbered C++ example has a Python twin of the same name."""
    cpp = {p.stem for p in EXAMPLES.glob("[0-9][0-9]_*.cpp")}
    py = {p.stem for p in EXAMPLES.glob("[0-9][0-9]_*.py")}
    assert cpp
    assert cpp <= py
    # Every numbered example is smoke-run above.
    assert py == {"01_send", "02_recv", "03_send_asyncio", "04_recv_asyncio", "05_item_group"}
