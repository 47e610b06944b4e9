# SPDX-License-Identifier: LGPL-3.0-or-later
"""spead2_send.py: send a stream of test heaps, using asyncio.

Each heap holds ``--items`` items of ``--dtype``, together ``--heap-size`` bytes of payload (IDs
0x1000 onwards, all zeros). Heaps go round-robin over the destinations (one substream each); the
first heap of each substream carries the descriptors, and ``--descriptors N`` resends them every
N heaps. A stop heap goes to every destination at the end. Prints the bytes sent and the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import logging
import os
import sys
import time

import numpy as np

import spead2
import spead2.send
import spead2.send.asyncio
from spead2.tools import cmdline


def get_args(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("destination", type=str, nargs="+", metavar="HOST:PORT")

    group = parser.add_argument_group("Data options")
    group.add_argument("--heap-size", metavar="BYTES", type=int, default=4194304, help="Payload size for heap [%(default)s]")
    group.add_argument("--items", type=int, default=1, help="Number of items per heap [%(default)s]")
    group.add_argument("--dtype", type=str, default="<c8", help="Numpy data type [%(default)s]")
    group.add_argument("--heaps", type=int, help="Number of data heaps to send [infinite]")

    group = parser.add_argument_group("Output options")
    group.add_argument("--log", metavar="LEVEL", default="INFO", help="Log level [%(default)s]")

    group = parser.add_argument_group("Protocol and performance options")
    protocol = cmdline.ProtocolOptions()
    sender = cmdline.SenderOptions(protocol)
    protocol.add_arguments(group)
    sender.add_arguments(group)
    group.add_argument("--descriptors", type=int, help="Description issue frequency [only at start]")

    args = parser.parse_args(argv)
    protocol.notify(parser, args)
    sender.notify(parser, args)
    if protocol.tcp and len(args.destination) > 1:
        parser.error("only one destination is supported with TCP")
    try:
        args.endpoints = [cmdline.parse_endpoint(dest) for dest in args.destination]
    except ValueError as exc:
        parser.error(f"invalid destination: {exc}")
    return args, sender


def make_item_group(args, flavour):
    dtype = np.dtype(args.dtype)
    elements = args.heap_size // (args.items * dtype.itemsize)
    heap_size = elements * args.items * dtype.itemsize
    if heap_size != args.heap_size:
        logging.warning("Heap size is not an exact multiple: using %d instead of %d", heap_size, args.heap_size)
    item_group = spead2.send.ItemGroup(descriptor_frequency=args.descriptors, flavour=flavour)
    for i in range(args.items):
        item_group.add_item(
            id=0x1000 + i,
            name=f"Test item {i}",
            description="A test item with arbitrary value",
            shape=(elements,),
            dtype=dtype,
            value=np.zeros((elements,), dtype=dtype),
        )
    return item_group


async def run(args, sender) -> int:
    thread_pool = sender.make_thread_pool()
    item_group = make_item_group(args, sender.make_flavour())
    memory_regions = [item.value for item in item_group.values()]
    stream = await sender.make_stream(thread_pool, args.endpoints, memory_regions)
    substreams = len(args.endpoints)

    in_flight: collections.deque = collections.deque()
    total = 0
    errors = 0
    last_error = None

    async def sent_bytes(future) -> int:
        # A heap that fails is counted and reported at the end, as spead2's tool does.
        nonlocal errors, last_error
        try:
            return await future
        except Exception as exc:  # noqa: BLE001 - whatever the stream reports for the heap
            errors += 1
            last_error = exc
            return 0

    start = time.perf_counter()
    counter = range(args.heaps) if args.heaps is not None else itertools.count()
    for n in counter:
        substream = n % substreams
        # The first heap of every substream describes the items; later ones follow the
        # descriptor frequency of the item group.
        heap = item_group.get_heap(descriptors="all" if n < substreams else "stale", data="all")
        while len(in_flight) >= sender.max_heaps:
            total += await sent_bytes(in_flight.popleft())
        in_flight.append(stream.async_send_heap(heap, substream_index=substream))
    for substream in range(substreams):
        while len(in_flight) >= sender.max_heaps:
            total += await sent_bytes(in_flight.popleft())
        in_flight.append(stream.async_send_heap(item_group.get_end(), substream_index=substream))
    while in_flight:
        total += await sent_bytes(in_flight.popleft())
    elapsed = time.perf_counter() - start
    if errors:
        logging.warning("%d errors, last one: %s", errors, last_error)
    print(f"Sent {total} bytes in {elapsed:.6f}s, {total * 8 / elapsed / 1e9:.6f} Gb/s")
    return 0


def main(argv=None) -> int:
    args, sender = get_args(argv)
    logging.basicConfig(level=getattr(logging, args.log.upper()))
    try:
        return asyncio.run(run(args, sender))
    except KeyboardInterrupt:
        # As spead2's: quietly, with status 1, and at once. Exiting normally would first send
        # the heaps still queued, at the rate limit (seconds for big heaps at a low rate).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


if __name__ == "__main__":
    sys.exit(main())
