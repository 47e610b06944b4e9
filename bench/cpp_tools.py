#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Side-by-side benchmark of the C++ tools: ours against spead2 4.5.1's, built from its release.

- `spead2_bench mem`: decoding in-memory packets, Gb/s (its --quiet output), for 1472- and
  9200-byte packets and 64 KiB, 1 MiB and 4 MiB heaps; with callbacks (the tool's default) and
  with --ring (a ring of 4 heaps, spead2's default, emptied by another thread).
- `spead2_recv --quiet` on a page-cached pcap file of 1 MiB heaps in 1472-byte packets: wall and
  CPU (user + system) time.

Runs alternate between the implementations; medians are reported with the ratio ours/reference
(throughput, so above 1 means ours is faster).

The reference tools are not on PyPI; build them once from the release's source distribution (a
black box: configure and build, nothing else), for example:

    python3 -m venv .cache/ref-cpp/venv && .cache/ref-cpp/venv/bin/pip install meson ninja jinja2 pycparser packaging
    apt-get install libboost-dev libboost-program-options-dev libdivide-dev
    (download spead2-4.5.1.tar.gz from PyPI into .cache/ref-cpp and unpack it)
    cd .cache/ref-cpp/spead2-4.5.1 && PATH=../venv/bin:$PATH meson setup build --buildtype=release \\
        && PATH=../venv/bin:$PATH ninja -C build src/spead2_bench src/spead2_recv

Usage: bench/cpp_tools.py --ref-bench PATH --ref-recv PATH [--ours DIR] [--runs N] [--only mem|pcap]
"""

import argparse
import os
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HEAP_SIZES = [65536, 1048576, 4194304]
PACKETS = [1472, 9200]


def default_ours():
    """Our tools: the release build if there is one, else those pip installed next to Python."""
    release = os.path.join(ROOT, "build", "release", "tools")
    if all(os.path.exists(os.path.join(release, tool)) for tool in ("spead2_bench", "spead2_recv")):
        return release
    return os.path.dirname(shutil.which("spead2_bench") or os.path.join(os.path.dirname(sys.executable), "x"))


def timed(args):
    """Runs args; returns (stdout, wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(args, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result.stdout, wall, cpu


def bench_mem(args):
    print("spead2_bench mem, Gb/s (higher is better)", flush=True)
    for ring in (False, True):
        for packet in PACKETS:
            for heap_size in HEAP_SIZES:
                common = ["mem", "--quiet", "--packet", str(packet), "--heap-size", str(heap_size)]
                if ring:
                    common.append("--ring")
                rates = {"ours": [], "reference": []}
                for _ in range(args.runs):
                    ours, _, _ = timed([os.path.join(args.ours, "spead2_bench"), *common, "--passes", "20"])
                    rates["ours"].append(float(ours.split()[-1]))
                    ref, _, _ = timed([args.ref_bench, *common])
                    rates["reference"].append(float(ref.split()[-1]))
                o, r = statistics.median(rates["ours"]), statistics.median(rates["reference"])
                mode = "ring of 4" if ring else "callbacks"
                print(f"  {mode:9}  packet {packet:4}  heap {heap_size // 1024:5} KiB  ours {o:7.1f}  "
                      f"reference {r:7.1f}  ratio {o / r:.2f}", flush=True)


def write_pcap(path, heaps):
    """A pcap of `heaps` 1 MiB heaps (SPEAD-64-48, 1472-byte packets) in Ethernet/IPv4/UDP."""
    payload = bytes(range(256)) * 4096
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        per_packet = 1472 - 8 - 4 * 8
        n = 0
        for cnt in range(1, heaps + 1):
            for offset in range(0, len(payload), per_packet):
                chunk = payload[offset : offset + per_packet]
                items = [(0x01, cnt), (0x02, len(payload)), (0x03, offset), (0x04, len(chunk))]
                spead = struct.pack(">BBBBHH", 0x53, 4, 2, 6, 0, len(items)) + b"".join(
                    struct.pack(">Q", (1 << 63) | (i << 48) | v) for i, v in items
                )
                udp = struct.pack(">HHHH", 1234, 8888, 8 + len(spead) + len(chunk), 0) + spead + chunk
                ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([127, 0, 0, 1]),
                                 bytes([127, 0, 0, 1]))
                frame = b"\0" * 12 + b"\x08\x00" + ip + udp
                f.write(struct.pack("<IIII", n // 1000000, n % 1000000, len(frame), len(frame)) + frame)
                n += 1


def bench_pcap(args):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "heaps.pcap")
        write_pcap(path, args.pcap_heaps)
        size = os.path.getsize(path)
        with open(path, "rb") as f:  # into the page cache
            while f.read(1 << 24):
                pass
        print(f"spead2_recv --quiet on a page-cached pcap ({size / 2**20:.0f} MiB, {args.pcap_heaps} heaps "
              "of 1 MiB in 1472-byte packets)", flush=True)
        times = {"ours": ([], []), "reference": ([], [])}
        for _ in range(args.runs):
            for label, tool in (("ours", os.path.join(args.ours, "spead2_recv")), ("reference", args.ref_recv)):
                out, wall, cpu = timed([tool, "--quiet", path])
                assert f"Received {args.pcap_heaps} heaps" in out, out
                times[label][0].append(wall)
                times[label][1].append(cpu)
        for label, (walls, cpus) in times.items():
            print(f"  {label:9}  wall {statistics.median(walls):.3f} s  CPU {statistics.median(cpus):.3f} s")
        ow, oc = (statistics.median(v) for v in times["ours"])
        rw, rc = (statistics.median(v) for v in times["reference"])
        print(f"  ratio ours/reference (throughput): wall {rw / ow:.2f}, CPU {rc / oc:.2f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref-bench", required=True, help="the reference's spead2_bench")
    parser.add_argument("--ref-recv", required=True, help="the reference's spead2_recv")
    parser.add_argument("--ours", default=default_ours(), help="folder holding our spead2_bench and spead2_recv")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pcap-heaps", type=int, default=1024)
    parser.add_argument("--only", choices=["mem", "pcap"])
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, runs per point: {args.runs} (median), ours from {args.ours}", flush=True)
    if args.only != "pcap":
        bench_mem(args)
    if args.only != "mem":
        bench_pcap(args)


if __name__ == "__main__":
    main()
