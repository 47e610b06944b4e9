# SPDX-License-Identifier: LGPL-3.0-or-later
"""Stand-ins for received raw items and heaps, shared by the item-model tests.

They let the item model be tested without a network round trip; the transport tests use the
real ``spead2.recv`` objects. (A plain module rather than conftest.py, whose name clashes with
tests/interop/conftest.py when both folders run in one session.)
"""

import spead2


class FakeRawItem(bytes):
    """Looks like ``spead2.recv.RawItem``: the bytes are the value, plus id/is_immediate.

    For an immediate, pass the value as the receiver sees it (``HAB/8`` bytes, padding first)
    or use :meth:`immediate`.
    """

    def __new__(cls, data, id=0x1000, is_immediate=False):
        self = super().__new__(cls, data)
        self.id = id
        self.is_immediate = is_immediate
        self.immediate_value = int.from_bytes(data, "big") if is_immediate else 0
        return self

    @classmethod
    def immediate(cls, data, id=0x1000, heap_address_bits=40):
        """An immediate item as a receiver would see `data` sent by a right-aligning sender."""
        width = heap_address_bits // 8
        assert len(data) <= width
        return cls(bytes(width - len(data)) + bytes(data), id=id, is_immediate=True)


class FakeHeap:
    """Looks like ``spead2.recv.Heap`` to ``ItemGroup.update``."""

    def __init__(self, items=(), descriptors=(), flavour=None):
        self.flavour = flavour if flavour is not None else spead2.Flavour()
        self._items = list(items)
        self._descriptors = list(descriptors)

    def get_items(self):
        return list(self._items)

    def get_descriptors(self):
        return list(self._descriptors)


class RecordingHeap:
    """Looks like ``spead2.send.Heap`` to ``HeapGenerator.add_to_heap``; records the calls."""

    def __init__(self):
        self.calls = []

    def add_descriptor(self, descriptor):
        self.calls.append(("descriptor", descriptor.name))

    def add_item(self, item):
        self.calls.append(("item", item.name))
