#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""An ItemGroup round trip through an in-process queue (C++ twin: 05_item_group.cpp).

Shows what a receiver sees as the sender's items evolve:

* heap 1: descriptors and values of every item;
* heap 2: only the value that changed (unchanged values are not resent);
* heap 3: a descriptor replaced under the same ID (the receiver drops the old item);
* then the end-of-stream heap, which ends the receiver's loop.

    python 05_item_group.py
"""

import numpy as np

import spead2
import spead2.recv
import spead2.send


def main() -> None:
    thread_pool = spead2.ThreadPool()
    queue = spead2.InprocQueue()
    sender = spead2.send.InprocStream(thread_pool, [queue])
    receiver = spead2.recv.Stream(thread_pool)
    receiver.add_inproc_reader(queue)

    send_group = spead2.send.ItemGroup()
    send_group.add_item(0x1000, "gain", "Gain per channel", shape=(4,), dtype=np.float32,
                        value=np.array([1.0, 1.5, 2.0, 2.5], np.float32))
    send_group.add_item(0x1001, "name", "Observation name", shape=(None,), format=[("c", 8)], value="test")
    send_group.add_item(0x1002, "count", "A counter", shape=(), format=[("u", 32)], value=1)
    sender.send_heap(send_group.get_heap())

    send_group["count"].value = 2
    sender.send_heap(send_group.get_heap())

    # Replace the item with ID 0x1002 by a differently described one.
    send_group.add_item(0x1002, "flags", "Flag bits", shape=(2,), dtype=np.uint8, value=np.array([3, 5], np.uint8))
    sender.send_heap(send_group.get_heap())
    sender.send_heap(send_group.get_end())

    recv_group = spead2.ItemGroup()
    for heap in receiver:
        changed = recv_group.update(heap)
        print(f"heap {heap.cnt}: changed {sorted(changed)}")
        for name in sorted(changed):
            item = changed[name]
            print(f"  {name} (0x{item.id:x}, version {item.version}) = {item.value!r}")
        print(f"  now holds {sorted(recv_group.keys())}")


if __name__ == "__main__":
    main()
