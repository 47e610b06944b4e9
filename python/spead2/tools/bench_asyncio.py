# SPDX-License-Identifier: LGPL-3.0-or-later
"""spead2_bench.py: find the highest rate at which a receiver keeps up, using asyncio.

Two processes: ``spead2_bench.py agent PORT`` on the receiving host, and ``spead2_bench.py master
HOST:PORT`` on the sending host. The master controls the agent over TCP (port PORT) with JSON
lines, and sends the data over UDP to the same port number:

* ``{"cmd": "start", "args": {...}, "protocol": {...}, "receiver": {...}}`` makes the agent open
  a receive stream configured like the master's receiver options; it answers ``ready``;
* ``{"cmd": "stop"}`` stops that stream; the agent answers ``{"received_heaps": N}``;
* ``{"cmd": "exit"}`` ends the session.

The master first sends as fast as it can (a warm-up run, then 5 runs). If the agent received
everything, the result is "Limited by send speed". Otherwise it searches for the highest rate at
which 5 runs of about 1 GB each all arrive (at least all but one heap), halving the interval
until it is within 2%, and prints "Sustainable rate: X Gbps".
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import time

import numpy as np

import spead2
import spead2.recv
import spead2.recv.asyncio
import spead2.send
import spead2.send.asyncio
from spead2.tools import cmdline

RUNS = 5
RUN_BYTES = 1e9
TOLERANCE = 0.02


class _Namespace:
    """Attribute access over a dict (the option groups read their settings as attributes)."""

    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)


def _json_default(value):
    # Enums (RateMethod) travel by name, as in the option values the user typed.
    name = getattr(value, "name", None)
    return name if name is not None else str(value)


def _public(obj) -> dict:
    return {key: value for key, value in vars(obj).items() if not key.startswith("_")}


# ---------------------------------------------------------------------------------------------
# Agent


async def _count_heaps(stream, counter: list) -> None:
    try:
        async for _heap in stream:
            counter[0] += 1
    except spead2.Stopped:
        pass


class _AgentConnection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.stream = None
        self.task = None
        self.counter = [0]

    def start(self, command: dict) -> None:
        protocol = cmdline.ProtocolOptions()
        vars(protocol).update(command.get("protocol", {}))
        receiver = cmdline.ReceiverOptions(protocol)
        vars(receiver).update(command.get("receiver", {}))
        thread_pool = receiver.make_thread_pool()
        stream = spead2.recv.asyncio.Stream(
            thread_pool, receiver.make_stream_config(), receiver.make_ring_stream_config()
        )
        receiver.add_readers(stream, [str(self.port)])
        self.stream = stream
        self.counter = [0]
        self.task = asyncio.ensure_future(_count_heaps(self.stream, self.counter))

    async def stop(self) -> int:
        if self.stream is None:
            return 0
        self.stream.stop()
        if self.task is not None:
            await self.task
        # Drop every reference so that the stream is destroyed now and its socket released: the
        # next run binds the same port.
        self.stream = None
        self.task = None
        gc.collect()
        return self.counter[0]


async def _agent_session(reader, writer, port: int) -> None:
    connection = _AgentConnection(port)
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            command = json.loads(line)
            logging.debug("agent received %s", command)
            cmd = command.get("cmd")
            if cmd == "start":
                await connection.stop()
                connection.start(command)
                writer.write(b"ready\n")
            elif cmd == "stop":
                received = await connection.stop()
                writer.write(json.dumps({"received_heaps": received}).encode() + b"\n")
            elif cmd == "exit":
                break
            else:
                logging.warning("bad command %r", cmd)
            await writer.drain()
    finally:
        await connection.stop()
        writer.close()


async def run_agent(port: int) -> None:
    server = await asyncio.start_server(lambda r, w: _agent_session(r, w, port), port=port)
    async with server:
        await server.serve_forever()


# ---------------------------------------------------------------------------------------------
# Master


async def measure_connection_once(args, protocol, sender, receiver, rate: float, num_heaps: int, required_heaps: int):
    """One run at ``rate`` Gb/s (0 = as fast as possible): returns (good, actual Gb/s)."""
    host, port = cmdline.parse_endpoint(args.endpoint)
    reader, writer = await asyncio.open_connection(cmdline._unbracket(host), port)
    try:
        command = {
            "cmd": "start",
            "args": vars(args),
            "protocol": _public(protocol),
            "receiver": _public(receiver),
        }
        writer.write(json.dumps(command, default=_json_default).encode() + b"\n")
        await writer.drain()
        response = await reader.readline()
        if response != b"ready\n":
            raise RuntimeError(f"did not receive 'ready' from the agent (got {response!r})")

        thread_pool = sender.make_thread_pool()
        sender.rate = rate
        item_group = spead2.send.ItemGroup(flavour=sender.make_flavour())
        item_group.add_item(
            id=None,
            name="Test item",
            description="A test item with arbitrary value",
            shape=(args.heap_size,),
            dtype=np.uint8,
            value=np.zeros((args.heap_size,), dtype=np.uint8),
        )
        destination = args.multicast if args.multicast else host
        stream = await sender.make_stream(thread_pool, [(destination, port)], [item_group["Test item"].value])
        start = time.perf_counter()
        in_flight = []
        sent_bytes = 0
        for _ in range(num_heaps):
            in_flight.append(stream.async_send_heap(item_group.get_heap(data="all")))
            if len(in_flight) >= sender.max_heaps:
                sent_bytes += await in_flight.pop(0)
        for future in in_flight:
            sent_bytes += await future
        elapsed = time.perf_counter() - start
        await stream.async_send_heap(item_group.get_end())
        actual_rate = sent_bytes * 8 / elapsed / 1e9

        # Give the last packets time to arrive before stopping the receiver.
        await asyncio.sleep(0.1)
        writer.write(json.dumps({"cmd": "stop"}).encode() + b"\n")
        await writer.drain()
        response = json.loads(await reader.readline())
        received = response["received_heaps"]
        logging.debug("sent %d heaps, agent received %d", num_heaps, received)
        writer.write(json.dumps({"cmd": "exit"}).encode() + b"\n")
        await writer.drain()
        return received >= required_heaps, actual_rate
    finally:
        writer.close()


async def measure_connection(args, protocol, sender, receiver, rate: float, num_heaps: int, required_heaps: int):
    """RUNS runs at ``rate``: good only if every run is good; the actual rate is the mean."""
    good = True
    rates = []
    for _ in range(RUNS):
        ok, actual = await measure_connection_once(args, protocol, sender, receiver, rate, num_heaps, required_heaps)
        good = good and ok
        rates.append(actual)
    return good, sum(rates) / len(rates)


async def run_master(args, protocol, sender, receiver) -> None:
    num_heaps = max(int(RUN_BYTES / args.heap_size), 2) + 1
    required = num_heaps - 1
    # Warm-up, then as fast as possible.
    await measure_connection_once(args, protocol, sender, receiver, 0.0, num_heaps, required)
    good, actual = await measure_connection(args, protocol, sender, receiver, 0.0, num_heaps, required)
    if not args.quiet:
        print(f"Send rate: {actual:.3f} Gbps")
    if good:
        if not args.quiet:
            print("Limited by send speed")
        best_actual = actual
    else:
        low = 0.0
        high = actual
        best_actual = 0.0
        while high - low > high * TOLERANCE:
            rate = (low + high) / 2
            good, actual = await measure_connection(args, protocol, sender, receiver, rate, num_heaps, required)
            if not args.quiet:
                print(f"Rate: {rate:.3f} Gbps ({actual:.3f} actual): {'GOOD' if good else 'BAD'}")
            if good:
                low = rate
                best_actual = actual
            else:
                high = rate
    if args.quiet:
        print(best_actual)
    else:
        print(f"Sustainable rate: {best_actual:.3f} Gbps")


def get_args(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", metavar="LEVEL", default="INFO", help="Log level [%(default)s]")
    subparsers = parser.add_subparsers(title="subcommands", dest="command")
    subparsers.required = True

    master = subparsers.add_parser("master")
    protocol = cmdline.ProtocolOptions(name_map={"tcp": None})
    sender = cmdline.SenderOptions(
        protocol,
        name_map={
            "packet": None,
            "rate": None,
            "buffer": "send_buffer",
            "bind": "send_bind",
            "ibv": "send_ibv",
            "ibv_vector": "send_ibv_vector",
            "ibv_max_poll": "send_ibv_max_poll",
            "affinity": "send-affinity",
            "threads": "send-threads",
        },
    )
    receiver = cmdline.ReceiverOptions(
        protocol,
        name_map={
            "mem_pool": None,
            "mem_lower": None,
            "mem_upper": None,
            "buffer": "recv_buffer",
            "bind": "recv_bind",
            "ibv": "recv_ibv",
            "ibv_vector": "recv_ibv_vector",
            "ibv_max_poll": "recv_ibv_max_poll",
            "affinity": "recv-affinity",
            "threads": "recv-threads",
        },
    )
    master.add_argument("--quiet", action="store_true", default=False, help="Print only the final result")
    master.add_argument(
        "--heap-size", metavar="BYTES", type=int, default=4194304, help="Payload size for heap [%(default)s]"
    )
    master.add_argument("--multicast", metavar="ADDRESS", type=str, help="Send via multicast group [unicast]")
    protocol.add_arguments(master)
    sender.add_arguments(master.add_argument_group("sender options"))
    receiver.add_arguments(master.add_argument_group("receiver options"))
    master.add_argument("endpoint", metavar="HOST:PORT")

    agent = subparsers.add_parser("agent")
    agent.add_argument("port", type=int)

    args = parser.parse_args(argv)
    if args.command == "master":
        protocol.notify(parser, args)
        sender.notify(parser, args)
        receiver.notify(parser, args)
        if sender.ibv and not args.multicast:
            parser.error("--send-ibv requires --multicast")
        # The receive pool is sized from the heap size; the receiver takes the sender's packets.
        receiver.mem_pool = True
        receiver.mem_lower = args.heap_size
        receiver.mem_upper = args.heap_size + 1024
        try:
            cmdline.parse_endpoint(args.endpoint)
        except ValueError as exc:
            parser.error(f"invalid endpoint {args.endpoint!r}: {exc}")
        sender.packet = receiver.packet
    return args, protocol, sender, receiver


def main(argv=None) -> int:
    args, protocol, sender, receiver = get_args(argv)
    logging.basicConfig(level=getattr(logging, args.log.upper()))
    if args.command == "agent":
        try:
            asyncio.run(run_agent(args.port))
        except KeyboardInterrupt:
            pass
    else:
        asyncio.run(run_master(args, protocol, sender, receiver))
    return 0


if __name__ == "__main__":
    sys.exit(main())
