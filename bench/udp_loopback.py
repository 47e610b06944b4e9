#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Side-by-side lossless UDP loopback throughput: ``spead2_bench master`` against ``spead2_bench agent``.

Ours: the C++ ``spead2_bench`` (found on PATH, in --ours-dir, or in the newest build/*/tools).
Reference: spead2 4.5.1's ``spead2_bench.py`` from its own venv, run isolated (``python -E -s``).
Both use the same heap and packet sizes; each master reports the highest rate at which the agent
received (almost) every heap ("Sustainable rate", found by binary search when the receiver cannot
keep up with the unthrottled sender). Each side runs --repeat times; the script prints every rate,
the medians in Gb/s and the ratio ours/reference.

The two implementations use different control protocols (API.md §6.3), so each master talks to its
own agent. Loopback only (127.0.0.1). Record the core count and net.core.rmem_max/wmem_max with
any number you report (the script prints them).

Usage: bench/udp_loopback.py [--heap-size BYTES] [--packet BYTES] [--repeat N]
                             [--ours-dir DIR] [--ref-bin DIR]
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_REF_BIN = ROOT / ".cache" / "ref-venv" / "bin"


def find_ours(ours_dir):
    if ours_dir:
        return str(Path(ours_dir) / "spead2_bench")
    path = shutil.which("spead2_bench")
    if path:
        return path
    candidates = [p for p in ROOT.glob("build/*/tools/spead2_bench") if os.access(p, os.X_OK)]
    if not candidates:
        sys.exit("spead2_bench not found: build the tools or pass --ours-dir")
    return str(max(candidates, key=lambda p: p.stat().st_mtime))


def free_port():
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass


def wait_listening(port, proc):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"agent exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                # The probe connection closes at once; both agents then wait for the next master.
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"agent did not listen on {port}")


def measure(agent_cmd, master_cmd, port):
    agent = subprocess.Popen(agent_cmd + [str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, agent)
        time.sleep(0.2)
        result = subprocess.run(
            master_cmd + ["--quiet", f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=3600
        )
        if result.returncode != 0:
            sys.exit(f"master failed ({result.returncode}): {result.stderr}")
        return float(result.stdout.strip().splitlines()[-1])
    finally:
        agent.send_signal(signal.SIGINT)
        try:
            agent.wait(timeout=10)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()


def sysctl(name):
    try:
        return Path("/proc/sys/" + name.replace(".", "/")).read_text().strip()
    except OSError:
        return "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heap-size", type=int, default=4194304)
    parser.add_argument("--packet", type=int, default=9200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ours-dir", help="folder holding our spead2_bench")
    parser.add_argument("--ref-bin", default=str(DEFAULT_REF_BIN), help="bin folder of the reference venv")
    args = parser.parse_args()

    ours = find_ours(args.ours_dir)
    ref_python = str(Path(args.ref_bin) / "python")
    ref_bench = str(Path(args.ref_bin) / "spead2_bench.py")
    common = ["--heap-size", str(args.heap_size), "--packet", str(args.packet)]
    sides = {
        "ours": ([ours, "agent"], [ours, "master"] + common),
        "reference": ([ref_python, "-E", "-s", ref_bench, "agent"], [ref_python, "-E", "-s", ref_bench, "master"] + common),
    }
    print(
        f"cores={os.cpu_count()} rmem_max={sysctl('net.core.rmem_max')} wmem_max={sysctl('net.core.wmem_max')} "
        f"heap_size={args.heap_size} packet={args.packet}"
    )
    rates = {name: [] for name in sides}
    for i in range(args.repeat):
        # Alternate the order so that drift (thermal, other load) affects both sides alike.
        order = list(sides) if i % 2 == 0 else list(reversed(sides))
        for name in order:
            agent_cmd, master_cmd = sides[name]
            rate = measure(agent_cmd, master_cmd, free_port())
            rates[name].append(rate)
            print(f"run {i + 1} {name}: {rate:.3f} Gb/s", flush=True)
    med = {name: statistics.median(values) for name, values in rates.items()}
    for name in sides:
        print(f"{name}: median {med[name]:.3f} Gb/s over {len(rates[name])} runs")
    if med["reference"] > 0:
        print(f"ratio ours/reference: {med['ours'] / med['reference']:.2f}")


if __name__ == "__main__":
    main()
