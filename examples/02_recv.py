#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Receive heaps over UDP and decode them with an ItemGroup (pair: 01_send.py; C++: 02_recv.cpp).

The stream yields heaps until the sender's end-of-stream heap arrives. ``ItemGroup.update``
applies the descriptors and values of each heap and returns the items that changed.

    python 02_recv.py [[HOST:]PORT]        (default 127.0.0.1:8888)
"""

import argparse

import spead2
import spead2.recv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", default="127.0.0.1:8888", metavar="[HOST:]PORT")
    args = parser.parse_args()
    host, _, port = args.source.rpartition(":")

    thread_pool = spead2.ThreadPool()
    stream = spead2.recv.Stream(thread_pool, spead2.recv.StreamConfig(max_heaps=4))
    # The socket buffer absorbs bursts while Python is busy. The default is 8 MiB; the kernel caps
    # it at net.core.rmem_max (spead2 logs a warning when that happens), so ask for 1 MiB here.
    stream.add_udp_reader(int(port), bind_hostname=host or "127.0.0.1", buffer_size=1024 * 1024)
    print(f"listening on {host or '127.0.0.1'}:{port}", flush=True)

    item_group = spead2.ItemGroup()
    for heap in stream:
        changed = item_group.update(heap)
        if "samples" in changed:
            samples = changed["samples"].value
            print(f"heap {heap.cnt}: timestamp={item_group['timestamp'].value} "
                  f"samples {samples.shape} sum={int(samples.sum())}")
    stats = stream.stats
    print(f"received {stats.heaps} heaps, {stats.packets} packets, "
          f"{stats.incomplete_heaps_evicted + stats.incomplete_heaps_flushed} incomplete")


if __name__ == "__main__":
    main()
