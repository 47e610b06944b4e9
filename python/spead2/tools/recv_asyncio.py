# SPDX-License-Identifier: LGPL-3.0-or-later
"""spead2_recv.py: receive SPEAD streams and print the heaps, using asyncio.

One stream per source (or a single stream for all of them with ``--joint``). Each heap is decoded
with an :class:`spead2.ItemGroup`, and the items it changed are printed (with their values if
``--values``, with the descriptors if ``--descriptors``). When a stream ends (stop heap, end of a
pcap file, peer closing TCP, or Ctrl-C), its heap count and statistics are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

import spead2
import spead2.recv
import spead2.recv.asyncio
from spead2.tools import cmdline


def get_args(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("source", nargs="+", help="Sources (filename, host:port or port)")

    group = parser.add_argument_group("Output options")
    group.add_argument("--log", metavar="LEVEL", default="INFO", help="Log level [%(default)s]")
    group.add_argument("--values", action="store_true", help="Show heap values")
    group.add_argument("--descriptors", action="store_true", help="Show descriptors")

    group = parser.add_argument_group("Input options")
    group.add_argument("--max-heaps", type=int, help="Stop receiving after this many heaps")
    group.add_argument("--joint", action="store_true", help="Treat all sources as a single stream")

    group = parser.add_argument_group("Protocol and performance options")
    protocol = cmdline.ProtocolOptions()
    receiver = cmdline.ReceiverOptions(protocol)
    protocol.add_arguments(group)
    receiver.add_arguments(group)

    args = parser.parse_args(argv)
    protocol.notify(parser, args)
    receiver.notify(parser, args)
    return args, receiver


def print_descriptors(heap) -> None:
    for raw in heap.get_descriptors():
        descriptor = spead2.Descriptor.from_raw(raw, heap.flavour)
        print(f"    Descriptor for {descriptor.name} (0x{descriptor.id:x})")
        print(f"      description: {descriptor.description}")
        print(f"      format:      {descriptor.format}")
        print(f"      dtype:       {descriptor.dtype}")
        print(f"      shape:       {descriptor.shape}")


async def run_stream(stream, name: str, args) -> None:
    item_group = spead2.ItemGroup()
    num_heaps = 0
    while True:
        try:
            if num_heaps == args.max_heaps:
                stream.stop()
                return
            heap = await stream.get()
            print(f"Received heap {heap.cnt} on stream {name}")
            num_heaps += 1
            try:
                if args.descriptors:
                    print_descriptors(heap)
                changed = item_group.update(heap)
                for key, item in changed.items():
                    if args.values:
                        print(key, "=", item.value)
                    else:
                        print(key)
            except ValueError as exc:
                print(f"Error raised processing heap: {exc}")
        except spead2.Stopped:
            print(f"Shutting down stream {name} after {num_heaps} heaps")
            for stat_name, value in stream.stats.items():
                print(f"{stat_name}: {value}")
            break


async def async_main(args, receiver) -> None:
    loop = asyncio.get_running_loop()
    streams = []

    def stop_all() -> None:
        for stream, _ in streams:
            stream.stop()

    # Installed before any socket is bound, so that Ctrl-C (SIGINT) always stops the streams
    # gracefully (printing their statistics) instead of interrupting with a traceback.
    loop.add_signal_handler(signal.SIGINT, stop_all)
    try:
        thread_pool = receiver.make_thread_pool()
        groups = [args.source] if args.joint else [[source] for source in args.source]
        for sources in groups:
            stream = spead2.recv.asyncio.Stream(
                thread_pool, receiver.make_stream_config(), receiver.make_ring_stream_config()
            )
            streams.append((stream, sources[0]))
            receiver.add_readers(stream, sources, allow_pcap=True)
        await asyncio.gather(*(run_stream(stream, name, args) for stream, name in streams))
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def main(argv=None) -> int:
    args, receiver = get_args(argv)
    logging.basicConfig(level=getattr(logging, args.log.upper()))
    asyncio.run(async_main(args, receiver))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
