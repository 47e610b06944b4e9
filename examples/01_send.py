#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Send heaps over UDP (the receiving half is 02_recv.py; the C++ twin is 01_send.cpp).

Each heap carries a 48-bit timestamp and a 2x64 block of int8 samples. The first heap also
carries the descriptors, so that a receiver learns the items' names, shapes and types; the last
heap is the end-of-stream marker that makes the receiver stop.

    python 01_send.py [HOST:PORT] [--heaps N]        (default 127.0.0.1:8888, 10 heaps)
"""

import argparse

import numpy as np

import spead2
import spead2.send


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("destination", nargs="?", default="127.0.0.1:8888", metavar="HOST:PORT")
    parser.add_argument("--heaps", type=int, default=10)
    args = parser.parse_args()
    host, port = args.destination.rsplit(":", 1)

    thread_pool = spead2.ThreadPool()
    # rate is in bytes per second: pacing keeps a loopback receiver from dropping packets.
    config = spead2.send.StreamConfig(rate=50e6, max_packet_size=1472)
    stream = spead2.send.UdpStream(thread_pool, [(host, int(port))], config)

    item_group = spead2.send.ItemGroup()
    item_group.add_item(0x1600, "timestamp", "Index of the first sample", shape=(), format=[("u", 48)])
    item_group.add_item(0x1601, "samples", "ADC samples (2 polarisations)", shape=(2, 64), dtype=np.int8)
    rng = np.random.default_rng(1)
    for i in range(args.heaps):
        item_group["timestamp"].value = i * 64
        item_group["samples"].value = rng.integers(-128, 128, size=(2, 64), dtype=np.int8)
        # get_heap() includes the descriptors the first time only, and only the items that changed.
        stream.send_heap(item_group.get_heap())
    stream.send_heap(item_group.get_end())
    print(f"sent {args.heaps} heaps to {host}:{port}")


if __name__ == "__main__":
    main()
