#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Send heaps over UDP from asyncio code (pair: 04_recv_asyncio.py, or 02_recv.py).

``async_send_heap`` is not a coroutine: it queues the heap at once and returns a future for the
number of bytes sent. Keeping a few futures outstanding lets the stream work while the event loop
does something else; ``async_flush`` waits for everything queued so far.

    python 03_send_asyncio.py [HOST:PORT] [--heaps N]
"""

import argparse
import asyncio

import numpy as np

import spead2
import spead2.send
import spead2.send.asyncio


async def run(host: str, port: int, heaps: int) -> None:
    thread_pool = spead2.ThreadPool()
    config = spead2.send.StreamConfig(rate=50e6, max_heaps=8)
    stream = spead2.send.asyncio.UdpStream(thread_pool, [(host, port)], config)
    item_group = spead2.send.ItemGroup()
    item_group.add_item(0x1600, "timestamp", "Index of the first sample", shape=(), format=[("u", 48)])
    item_group.add_item(0x1601, "samples", "ADC samples (2 polarisations)", shape=(2, 64), dtype=np.int8)
    in_flight: list[asyncio.Future[int]] = []
    total = 0
    for i in range(heaps):
        item_group["timestamp"].value = i * 64
        item_group["samples"].value = np.full((2, 64), i % 100, np.int8)
        in_flight.append(stream.async_send_heap(item_group.get_heap()))
        if len(in_flight) >= 4:  # keep at most 4 heaps queued (config.max_heaps bounds the queue)
            total += await in_flight.pop(0)
    for future in in_flight:
        total += await future
    await stream.async_send_heap(item_group.get_end())
    await stream.async_flush()
    print(f"sent {heaps} heaps ({total} bytes) to {host}:{port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("destination", nargs="?", default="127.0.0.1:8888", metavar="HOST:PORT")
    parser.add_argument("--heaps", type=int, default=10)
    args = parser.parse_args()
    host, port = args.destination.rsplit(":", 1)
    asyncio.run(run(host, int(port), args.heaps))


if __name__ == "__main__":
    main()
