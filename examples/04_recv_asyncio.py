#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Receive heaps over UDP inside an asyncio program (pair: 03_send_asyncio.py or 01_send.py).

``spead2.recv.asyncio.Stream`` is a ``recv.Stream`` whose ``get()`` is a coroutine and which
supports ``async for``; the event loop stays free for other work (here, a ticking task) while
the stream waits for heaps.

    python 04_recv_asyncio.py [[HOST:]PORT]
"""

import argparse
import asyncio

import spead2
import spead2.recv
import spead2.recv.asyncio


async def ticker(period: float) -> None:
    while True:
        await asyncio.sleep(period)


async def run(host: str, port: int) -> None:
    thread_pool = spead2.ThreadPool()
    stream = spead2.recv.asyncio.Stream(thread_pool, spead2.recv.StreamConfig(max_heaps=4))
    stream.add_udp_reader(port, bind_hostname=host, buffer_size=1024 * 1024)
    print(f"listening on {host}:{port}", flush=True)
    tick = asyncio.create_task(ticker(0.1))
    item_group = spead2.ItemGroup()
    async for heap in stream:
        changed = item_group.update(heap)
        if "samples" in changed:
            print(f"heap {heap.cnt}: timestamp={item_group['timestamp'].value} "
                  f"first sample={int(changed['samples'].value[0, 0])}")
    tick.cancel()
    print(f"received {stream.stats.heaps} heaps")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", nargs="?", default="127.0.0.1:8888", metavar="[HOST:]PORT")
    args = parser.parse_args()
    host, _, port = args.source.rpartition(":")
    asyncio.run(run(host or "127.0.0.1", int(port)))


if __name__ == "__main__":
    main()
