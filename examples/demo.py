#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Demo: send a stream of heaps through spead2 and receive them again.

A sender describes three items (a timestamp, a 2-D array and a string), sends a handful of heaps
through an in-process queue, and ends the stream with a stop heap. A receiver decodes them with
an ItemGroup, prints every item it receives, and finally prints the stream statistics.
"""

import numpy as np

import spead2
import spead2.recv
import spead2.send


def send(queue: spead2.InprocQueue, heaps: int) -> None:
    thread_pool = spead2.ThreadPool()
    stream = spead2.send.InprocStream(thread_pool, [queue], spead2.send.StreamConfig(max_packet_size=1024))
    item_group = spead2.send.ItemGroup(flavour=spead2.Flavour(4, 64, 48, 0))
    item_group.add_item(0x1000, "timestamp", "Sample counter of the first sample", shape=(), format=[("u", 48)])
    item_group.add_item(0x1001, "spectrum", "Power per channel and polarisation", shape=(4, 2), dtype=np.float32)
    item_group.add_item(0x1002, "source", "Name of the observed source", shape=(None,), format=[("c", 8)])
    for i in range(heaps):
        item_group["timestamp"].value = 1_000_000 + 4096 * i
        item_group["spectrum"].value = np.arange(8, dtype=np.float32).reshape(4, 2) * (i + 1)
        item_group["source"].value = f"PKS {1934 + i}-63"
        stream.send_heap(item_group.get_heap())
    stream.send_heap(item_group.get_end())


def receive(queue: spead2.InprocQueue) -> None:
    thread_pool = spead2.ThreadPool()
    stream = spead2.recv.Stream(thread_pool, spead2.recv.StreamConfig(max_heaps=2))
    stream.add_inproc_reader(queue)
    item_group = spead2.ItemGroup()
    for heap in stream:
        changed = item_group.update(heap)
        print(f"heap {heap.cnt}:")
        for name, item in sorted(changed.items()):
            print(f"  {name} = {item.value!r}".replace("\n", "\n    "))
    print("stream statistics:")
    stats = stream.stats
    for name, value in stats.items():
        print(f"  {name}: {value}")


def main() -> None:
    queue = spead2.InprocQueue()
    send(queue, heaps=5)
    receive(queue)


if __name__ == "__main__":
    main()
