# SPDX-License-Identifier: LGPL-3.0-or-later
"""Peer program for differential tests, run under either implementation's interpreter.

    python stream_peer.py encode FLAVOUR OUT        # one stream per case -> {case: bytes}
    python stream_peer.py packets FLAVOUR OUT       # PacketGenerator output -> {case: [bytes]}
    python stream_peer.py decode FLAVOUR IN OUT     # {case: bytes} -> {case: value}

Results are pickled. A case that raises is recorded as ("error", type name, message).
"""

import os
import pickle
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import spead2  # noqa: E402
import spead2.recv  # noqa: E402
import spead2.send  # noqa: E402
from item_cases import CASES, FLAVOURS  # noqa: E402

MAX_PACKET_SIZE = 1472


def make_flavour(name):
    item_pointer_bits, heap_address_bits, bug_compat = FLAVOURS[name]
    return spead2.Flavour(4, item_pointer_bits, heap_address_bits, bug_compat)


def make_heap(flavour, kwargs, value):
    item_group = spead2.send.ItemGroup(flavour=flavour)
    item_group.add_item(0x1234, "item", "an item under test", value=value, **kwargs)
    return item_group.get_heap(descriptors="all", data="all")


def guarded(fn):
    try:
        return fn()
    except Exception as exc:  # recorded and compared, not hidden
        return ("error", type(exc).__name__, str(exc))


def encode(flavour_name):
    flavour = make_flavour(flavour_name)
    thread_pool = spead2.ThreadPool()

    def one(kwargs, value):
        stream = spead2.send.BytesStream(thread_pool, spead2.send.StreamConfig(max_packet_size=MAX_PACKET_SIZE))
        stream.send_heap(make_heap(flavour, kwargs, value))
        return stream.getvalue()

    return {name: guarded(lambda: one(kwargs, value)) for name, kwargs, value in CASES}


def packets(flavour_name):
    flavour = make_flavour(flavour_name)

    def one(kwargs, value):
        heap = make_heap(flavour, kwargs, value)
        return [bytes(p) for p in spead2.send.PacketGenerator(heap, 1, MAX_PACKET_SIZE)]

    return {name: guarded(lambda: one(kwargs, value)) for name, kwargs, value in CASES}


def decode(flavour_name, streams):
    bug_compat = FLAVOURS[flavour_name][2]
    thread_pool = spead2.ThreadPool()

    def one(data):
        stream = spead2.recv.Stream(thread_pool, spead2.recv.StreamConfig(bug_compat=bug_compat))
        stream.add_buffer_reader(data)
        item_group = spead2.ItemGroup()
        for heap in stream:
            item_group.update(heap)
        return item_group["item"].value

    return {name: guarded(lambda: one(data)) for name, data in streams.items() if isinstance(data, bytes)}


def main():
    command, flavour_name = sys.argv[1], sys.argv[2]
    if command == "encode":
        result, out = encode(flavour_name), sys.argv[3]
    elif command == "packets":
        result, out = packets(flavour_name), sys.argv[3]
    elif command == "decode":
        with open(sys.argv[3], "rb") as f:
            result = decode(flavour_name, pickle.load(f))
        out = sys.argv[4]
    else:
        raise SystemExit(f"unknown command {command}")
    with open(out, "wb") as f:
        pickle.dump(result, f)


if __name__ == "__main__":
    main()
