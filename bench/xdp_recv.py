#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Receive packets/s per receive core: our AF_XDP reader against our kernel UDP reader and the
reference's (spead2 4.5.1) kernel UDP reader, on the same veth pair between two network
namespaces made here (GSO off, as a NIC sends; deleted at the end), same heaps and packets.

The sender, in the other namespace, is our `spead2_send --xdp` at full speed (1472-byte
packets, 64 KiB heaps by default), so that every receiver sees the same offered load. Each
receiver is a `spead2_recv --quiet` (ours with and without `--xdp`; the reference's C++ tool
when --ref-recv gives it, else its Python tool from .cache/ref-venv), untuned (default options,
no pinning). Per run: packets the receiver counted, its CPU time from the moment it listens
until it exits (wait4's total less the /proc/PID/task/*/schedstat sum read once it listens, so
start-up and program loading are left out) and the wall time of the send. Reported: packets/s of
receiver CPU, received packets/s and the loss.

The sender (about 0.8 M packets/s here) cannot keep a receiver busy, so in those rows the
receiver sleeps between small batches and its CPU per packet is mostly wake-ups. The saturated
rows measure what one receive core can take (the figure the issue asks for): the receiver is
stopped (SIGSTOP) while the sender fills its RX ring or socket buffer for a few milliseconds,
then the sender is stopped and the receiver drains the backlog at full speed; packets received
over receiver CPU spent draining, for --burst-seconds of bursts. Two placements, both pinned:
sender and receiver on the same core, and on different cores (the kernel's receive work, which
runs where the sender runs on a veth, then happens on another core than the receiver's, as with
a NIC whose interrupts go to their own core).
The kernel's own softirq work for the veth runs on the sending side in both cases and is not
in these figures; with a NIC it would be on the receiver's core for the kernel path, not for
AF_XDP in native mode, so the comparison favours the kernel path. Configurations alternate;
medians of --runs. Needs root.

Usage: bench/xdp_recv.py [--runs N] [--heaps N] [--burst-seconds S] [--ref-recv PATH] [--ours DIR]
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEND_NS, RECV_NS = f"spead2-bx-{os.getpid()}-s", f"spead2-bx-{os.getpid()}-r"
SEND_IF, RECV_IF = "bxs", "bxr"
SEND_ADDR, RECV_ADDR = "10.202.0.1", "10.202.0.2"
PORT = 8888


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def setup():
    ip("netns", "add", SEND_NS)
    ip("netns", "add", RECV_NS)
    ip("-n", SEND_NS, "link", "add", SEND_IF, "gso_max_segs", "1", "type", "veth",
       "peer", "name", RECV_IF, "netns", RECV_NS, "gso_max_segs", "1")  # fmt: skip
    for ns, iface, addr in ((SEND_NS, SEND_IF, SEND_ADDR), (RECV_NS, RECV_IF, RECV_ADDR)):
        ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", ns, "addr", "add", f"{addr}/24", "dev", iface)
        ip("-n", ns, "link", "set", iface, "up")
    time.sleep(0.5)


def teardown():
    for ns in (SEND_NS, RECV_NS):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


ATTACH_MODES = set()  # how the XDP program was attached, as `ip link` shows it


def xdp_attached():
    out = subprocess.run(["ip", "-n", RECV_NS, "link", "show", "dev", RECV_IF], capture_output=True, text=True)
    if " xdpgeneric" in out.stdout:
        ATTACH_MODES.add("generic (SKB)")
    elif " xdp" in out.stdout:
        ATTACH_MODES.add("native")
    return " xdp" in out.stdout


def udp_bound():
    out = subprocess.run(["ip", "netns", "exec", RECV_NS, "cat", "/proc/net/udp"], capture_output=True, text=True)
    return f":{PORT:04X} " in out.stdout


def cpu_seconds(pid):
    """CPU time of every thread of @a pid so far (schedstat: nanoseconds on a CPU)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total * 1e-9


def machine_busy_seconds():
    """CPU time all cores have spent busy so far (everything in /proc/stat but idle and iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def start_receiver(receiver_cmd, ready):
    """Starts a receiver in the receiving namespace and waits until ready() says it listens."""
    proc = subprocess.Popen(["ip", "netns", "exec", RECV_NS, *receiver_cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 20
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"receiver did not start: {proc.communicate()}")
        time.sleep(0.02)
    return proc


def packets_received(out, err):
    """The packet count from a receiver's --quiet report."""
    m = re.search(r"^packets: (\d+)$", out, re.M)
    if not m:
        raise RuntimeError(f"no packet count from the receiver: {out} {err}")
    return int(m.group(1))


def run_once(receiver_cmd, ready, sender_cmd):
    """Returns (packets received, receiver CPU seconds, send wall seconds, machine busy seconds)."""
    proc = start_receiver(receiver_cmd, ready)
    cpu_before = cpu_seconds(proc.pid)
    busy_before = machine_busy_seconds()
    start = time.monotonic()
    subprocess.run(["ip", "netns", "exec", SEND_NS, *sender_cmd], check=True, capture_output=True)
    wall = time.monotonic() - start
    busy = machine_busy_seconds() - busy_before
    time.sleep(0.3)
    # If the stop heap was lost, the receiver is still waiting. (os.kill, not send_signal, which
    # would reap a receiver that has exited and leave wait4 nothing to report.)
    os.kill(proc.pid, signal.SIGINT)
    _, status, usage = os.wait4(proc.pid, 0)
    # The receiver usually exits at the stop heap, so its total comes from wait4.
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    proc.returncode = os.waitstatus_to_exitcode(status)
    return packets_received(proc.stdout.read(), proc.stderr.read()), cpu, wall, busy


def wait_until_idle(pid):
    """Waits until @a pid has used no CPU for a few milliseconds; returns its CPU seconds then."""
    last = cpu_seconds(pid)
    while True:
        time.sleep(0.003)
        now = cpu_seconds(pid)
        if now - last < 1e-4:
            return now
        last = now


def run_bursts(receiver_cmd, ready, sender_cmd, seconds, fill=0.005):
    """Saturated receive: returns (packets received, receiver CPU seconds spent draining)."""
    proc = start_receiver(receiver_cmd, ready)
    time.sleep(0.1)
    # `ip netns exec` and taskset exec the tools, so these pids are the tools' own. Stopped
    # before the sender starts: every packet it receives is one it drains in a measured burst.
    os.kill(proc.pid, signal.SIGSTOP)
    sender = subprocess.Popen(["ip", "netns", "exec", SEND_NS, *sender_cmd], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    drain_cpu = 0.0
    try:
        time.sleep(0.3)  # the sender's start-up; its packets beyond the receiver's buffer are lost
        os.kill(sender.pid, signal.SIGSTOP)
        end = time.monotonic() + seconds

        def drain():
            time.sleep(0.001)  # let packets in flight land
            before = cpu_seconds(proc.pid)
            os.kill(proc.pid, signal.SIGCONT)
            return wait_until_idle(proc.pid) - before

        drain_cpu += drain()  # what the sender's start-up left
        while time.monotonic() < end:
            os.kill(proc.pid, signal.SIGSTOP)
            os.kill(sender.pid, signal.SIGCONT)
            time.sleep(fill)
            os.kill(sender.pid, signal.SIGSTOP)
            drain_cpu += drain()
    finally:
        sender.kill()
        sender.wait()
        os.kill(proc.pid, signal.SIGCONT)
    # The stop heap never comes (the sender was killed): SIGINT makes the receiver report.
    os.kill(proc.pid, signal.SIGINT)
    return packets_received(*proc.communicate(timeout=20)), drain_cpu


def print_ratios(per_core, configs):
    xdp, kernel, ref = (per_core[name] for name, _, _ in configs)
    print(f"  AF_XDP / our kernel UDP: {xdp / kernel:.2f}x;  AF_XDP / reference kernel UDP: {xdp / ref:.2f}x;"
          f"  our kernel UDP / reference: {kernel / ref:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--heaps", type=int, default=10000)
    parser.add_argument("--heap-size", type=int, default=65536)
    parser.add_argument("--burst-seconds", type=float, default=3.0, help="of bursts per saturated run")
    parser.add_argument("--ref-recv", help="spead2 4.5.1's C++ spead2_recv (default: .cache/ref-cpp build)")
    parser.add_argument("--ours", default=os.path.join(ROOT, "build", "release", "tools"))
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces, AF_XDP)")
    ours = args.ours if os.path.exists(os.path.join(args.ours, "spead2_recv")) else os.path.dirname(
        shutil.which("spead2_recv") or sys.executable)
    ref_recv = args.ref_recv or os.path.join(ROOT, ".cache/ref-cpp/spead2-4.5.1/build/src/spead2_recv")
    if not os.path.exists(ref_recv):
        ref_python = os.path.join(ROOT, ".cache/ref-venv/bin/python")
        ref_recv_cmd = [ref_python, "-E", "-s", os.path.join(ROOT, ".cache/ref-venv/bin/spead2_recv.py")]
        ref_label = "reference spead2_recv.py (Python)"
    else:
        ref_recv_cmd = [ref_recv]
        ref_label = "reference spead2_recv (C++)"
    recv_tool = os.path.join(ours, "spead2_recv")
    def sender_cmd(heaps):
        return [os.path.join(ours, "spead2_send"), "--xdp", "--bind", SEND_ADDR, "--heaps", str(heaps),
                "--heap-size", str(args.heap_size), "--packet", "1472", f"{RECV_ADDR}:{PORT}"]  # fmt: skip

    sender = sender_cmd(args.heaps)
    endless_sender = sender_cmd(10**9)  # stopped and killed by run_bursts
    configs = [
        ("ours, AF_XDP (--xdp)", [recv_tool, "--quiet", "--xdp", "--bind", RECV_ADDR, f"{RECV_ADDR}:{PORT}"],
         xdp_attached),
        ("ours, kernel UDP", [recv_tool, "--quiet", "--buffer", "33554432", f"{RECV_ADDR}:{PORT}"], udp_bound),
        (ref_label, [*ref_recv_cmd, "--quiet", "--buffer", "33554432", f"{RECV_ADDR}:{PORT}"], udp_bound),
    ]  # fmt: skip
    setup()
    try:
        # Untuned: no pinning, the receiver mostly idle between the sender's packets (each wake-up
        # costs it a context switch). One core: sender and receiver both on core 0, so that the
        # receiver runs only while the sender waits and takes big batches: its CPU per packet is
        # then the processing cost, with few wake-ups.
        modes = {"untuned": [], "one core (taskset -c 0 for both)": ["taskset", "-c", "0"]}
        results = {(mode, name): [] for mode in modes for name, _, _ in configs}
        # Saturated: (receiver core, sender core).
        placements = {"saturated, same core (both on core 0)": ("0", "0"),
                      "saturated, different cores (receiver on core 0, sender on core 1)": ("0", "1")}  # fmt: skip
        bursts = {(placement, name): [] for placement in placements for name, _, _ in configs}
        for _ in range(args.runs):
            for mode, prefix in modes.items():
                for name, cmd, ready in configs:
                    results[(mode, name)].append(run_once([*prefix, *cmd], ready, [*prefix, *sender]))
            for placement, (rcore, score) in placements.items():
                for name, cmd, ready in configs:
                    bursts[(placement, name)].append(run_bursts(
                        ["taskset", "-c", rcore, *cmd], ready, ["taskset", "-c", score, *endless_sender],
                        args.burst_seconds))  # fmt: skip
        rmem_max = open("/proc/sys/net/core/rmem_max").read().strip()
        print(f"cores: {os.cpu_count()}, net.core.rmem_max {rmem_max}, runs: {args.runs} (medians), "
              f"{args.heaps} heaps of {args.heap_size} B in 1472-byte packets from spead2_send --xdp; "
              f"ours from {ours}; AF_XDP attach: {', '.join(sorted(ATTACH_MODES))} (veth frames are copied into "
              f"the UMEM: veth has no zero-copy)")
        for mode in modes:
            print(f"{mode}:")
            per_core = {}
            for name, _, _ in configs:
                runs = results[(mode, name)]
                packets = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                wall = statistics.median(r[2] for r in runs)
                busy = statistics.median(r[3] / r[0] for r in runs)
                per_core[name] = statistics.median(r[0] / r[1] for r in runs)
                print(f"  {name:36s} {per_core[name] / 1e3:6.0f}k packets/s per receive core; received {packets:.0f} "
                      f"({packets / wall / 1e3:.0f}k/s), receiver CPU {cpu:.2f} s; machine busy {busy * 1e9:.0f} ns "
                      f"per packet (sender and kernel included)")
            print_ratios(per_core, configs)
        for placement in placements:
            print(f"{placement}:")
            per_core = {}
            for name, _, _ in configs:
                runs = bursts[(placement, name)]
                per_core[name] = statistics.median(r[0] / r[1] for r in runs)
                packets = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                print(f"  {name:36s} {per_core[name] / 1e3:6.0f}k packets/s per receive core; drained {packets:.0f} "
                      f"packets in {cpu:.2f} s of receiver CPU")
            print_ratios(per_core, configs)
    finally:
        teardown()


if __name__ == "__main__":
    main()
