# SPDX-License-Identifier: LGPL-3.0-or-later
"""spead2.ItemGroup: mapping interface, add_item, descriptor replacement and update (API.md §4.1)."""

import logging

import numpy as np
import pytest
from fake_spead2_objects import FakeHeap, FakeRawItem

import spead2
from spead2 import Item, ItemGroup

FLAVOUR = spead2.Flavour()


def descriptor(id, name, description="d", shape=(), **kwargs):
    if "dtype" not in kwargs and "format" not in kwargs:
        kwargs["format"] = [("u", 32)]
    return Item(id, name, description, shape, **kwargs).to_raw(FLAVOUR)


def u32(id, value):
    return FakeRawItem(value.to_bytes(4, "big"), id=id)


def state(ig):
    return [(name, item.id, item.version, item.value) for name, item in ig.items()]


class TestMapping:
    def test_lookup(self):
        ig = ItemGroup()
        a = ig.add_item(0x5, "lo", "d", (), format=[("u", 32)])
        b = ig.add_item(0x1001, "b", "d", (), format=[("u", 32)], value=3)
        assert ig[0x5] is a and ig["lo"] is a
        assert ig[0x1001] is b and ig["b"] is b
        assert ig[np.int64(0x1001)] is b
        assert 0x5 in ig and "b" in ig and "x" not in ig and 12 not in ig
        assert len(ig) == 2
        assert list(ig.keys()) == ["lo", "b"]
        assert list(ig.ids()) == [0x5, 0x1001]
        assert list(ig.values()) == [a, b]
        assert list(ig.items()) == [("lo", a), ("b", b)]
        with pytest.raises(KeyError):
            ig["x"]
        with pytest.raises(KeyError):
            ig[12]

    def test_auto_id(self):
        ig = ItemGroup()
        ig.add_item(0x1001, "a", "", (), format=[("u", 32)])
        assert ig.add_item(None, "b", "", (), format=[("u", 32)]).id == 0x1000
        ig.add_item(0x1003, "c", "", (), format=[("u", 32)])
        assert ig.add_item(None, "d", "", (), format=[("u", 32)]).id == 0x1002
        assert ig.add_item(None, "e", "", (), format=[("u", 32)]).id == 0x1004
        ig = ItemGroup()
        ig.add_item(0xFFF, "a", "", (), format=[("u", 32)])
        assert ig.add_item(None, "b", "", (), format=[("u", 32)]).id == 0x1000

    def test_add_item_returns_item(self):
        item = ItemGroup().add_item(None, "f", "dd", (), format=[("u", 32)], value=5)
        assert isinstance(item, Item)
        assert item.value == 5
        assert item.version == 1


class TestReplacement:
    def test_identical_keeps_item(self):
        ig = ItemGroup()
        a = ig.add_item(0x1000, "y", "d", (), format=[("u", 32)], value=3)
        a.value = 5
        b = ig.add_item(0x1000, "y", "d", [], format=[("u", 32)], value=6)
        assert b is not a
        assert ig["y"] is a
        assert (a.value, a.version) == (6, 3)
        ig.add_item(0x1000, "y", "d", (), format=[("u", 32)])
        assert ig["y"] is a
        assert (a.value, a.version) == (6, 3)

    @pytest.mark.parametrize(
        "kwargs1, kwargs2",
        [
            (dict(shape=(), dtype="<u2"), dict(shape=[], dtype=np.dtype("<u2"))),
            (dict(shape=(2,), dtype="<u2"), dict(shape=(np.int64(2),), dtype="<u2")),
        ],
    )
    def test_identical_variants(self, kwargs1, kwargs2):
        ig = ItemGroup()
        a = ig.add_item(0x1000, "a", "d", **kwargs1)
        ig.add_item(0x1000, "a", "d", **kwargs2)
        assert ig["a"] is a

    @pytest.mark.parametrize(
        "kwargs2",
        [
            dict(description="other", shape=(), format=[("u", 32)]),
            dict(description="d", shape=(1,), format=[("u", 32)]),
            dict(description="d", shape=(), format=[("u", 16)]),
            dict(description="d", shape=(), format=(("u", 32),)),
            dict(description="d", shape=(), dtype=">u4"),
        ],
    )
    def test_different_replaces(self, kwargs2):
        ig = ItemGroup()
        a = ig.add_item(0x1000, "a", "d", (), format=[("u", 32)], value=1)
        a.value = 2
        b = ig.add_item(0x1000, "a", **kwargs2)
        assert ig["a"] is b and ig[0x1000] is b
        assert b.version == 3
        assert b.value is None
        assert len(ig) == 1

    def test_collide_both(self):
        ig = ItemGroup()
        ig.add_item(0x1000, "x", "d", (), format=[("u", 32)])
        y = ig.add_item(0x1001, "y", "d", (), format=[("u", 32)], value=3)
        for v in (4, 5, 6, 7):
            y.value = v
        new = ig.add_item(0x1000, "y", "dd", (), format=[("u", 32)], value=9)
        assert state(ig) == [("y", 0x1000, 6, 9)]
        assert ig[0x1000] is new
        assert 0x1001 not in ig and "x" not in ig

    def test_replacement_logged(self, caplog):
        ig = ItemGroup()
        with caplog.at_level(logging.INFO, logger="spead2"):
            ig.add_item(0x1000, "a", "d", (), format=[("u", 8)])
            ig.add_item(0x1000, "a", "d", (), format=[("u", 8)])  # identical: not a replacement
            ig.add_item(0x1000, "a", "changed", (), format=[("u", 8)])
            ig.add_item(0x1001, "a", "d", (), format=[("u", 8)])  # by name
            ig.add_item(0x1002, "c", "d", (), format=[("u", 8)])
            ig.add_item(0x1001, "c", "d", (), format=[("u", 8)])  # both, logged once
        assert [r.getMessage() for r in caplog.records] == [
            "Descriptor replacement for ID 0x1000, name a",
            "Descriptor replacement for ID 0x1001, name a",
            "Descriptor replacement for ID 0x1001, name c",
        ]


class TestUpdate:
    def test_descriptor_then_values(self):
        ig = ItemGroup()
        changed = ig.update(FakeHeap(descriptors=[descriptor(0x1000, "x")]))
        assert changed == {}
        assert state(ig) == [("x", 0x1000, 1, None)]
        changed = ig.update(FakeHeap([u32(0x1000, 7)]))
        assert list(changed) == ["x"] and changed["x"] is ig["x"]
        # A received value counts twice: set_from_raw, then update itself.
        assert state(ig) == [("x", 0x1000, 3, 7)]
        ig.update(FakeHeap([u32(0x1000, 7)]))
        assert state(ig) == [("x", 0x1000, 5, 7)]
        assert type(ig["x"].value) is np.uint32

    def test_same_heap(self):
        ig = ItemGroup()
        changed = ig.update(FakeHeap([u32(0x1000, 8)], [descriptor(0x1000, "x")]))
        assert list(changed) == ["x"]
        assert state(ig) == [("x", 0x1000, 3, 8)]

    def test_replacement_versions(self):
        ig = ItemGroup()
        ig.update(FakeHeap([u32(0x1000, 7)], [descriptor(0x1000, "x")]))
        x = ig["x"]
        assert ig.update(FakeHeap(descriptors=[descriptor(0x1000, "x")])) == {}
        assert ig["x"] is x and state(ig) == [("x", 0x1000, 3, 7)]
        ig.update(FakeHeap(descriptors=[descriptor(0x1000, "x", format=[("u", 16)])]))
        assert state(ig) == [("x", 0x1000, 4, None)]
        ig.update(FakeHeap([FakeRawItem(b"\0\x09", id=0x1000)]))
        assert state(ig) == [("x", 0x1000, 6, 9)]
        ig.update(FakeHeap([u32(0x1000, 10)], [descriptor(0x1000, "x")]))
        assert state(ig) == [("x", 0x1000, 9, 10)]
        ig.update(FakeHeap([u32(0x1001, 11)], [descriptor(0x1001, "y")]))
        ig.update(FakeHeap(descriptors=[descriptor(0x1000, "z")]))
        assert state(ig) == [("y", 0x1001, 3, 11), ("z", 0x1000, 10, None)]
        ig.update(FakeHeap(descriptors=[descriptor(0x1001, "x")]))
        assert state(ig) == [("z", 0x1000, 10, None), ("x", 0x1001, 4, None)]

    def test_user_item_matches_wire(self):
        ig = ItemGroup()
        a = ig.add_item(0x1000, "x", "d", (2,), dtype="<u2", value=[1, 2])
        assert ig.update(FakeHeap(descriptors=[descriptor(0x1000, "x", shape=(2,), dtype="<u2")])) == {}
        assert ig["x"] is a and a.version == 1

    def test_skip_and_warn(self, caplog):
        ig = ItemGroup()
        ig.update(FakeHeap(descriptors=[descriptor(0x1000, "x")]))
        items = [FakeRawItem(b"\0\0\0\0\0", id=i, is_immediate=True) for i in range(1, 7)]
        items += [u32(0x1002, 5), u32(0x1000, 1)]
        with caplog.at_level(logging.WARNING, logger="spead2"):
            changed = ig.update(FakeHeap(items))
        assert list(changed) == ["x"]
        assert [r.getMessage() for r in caplog.records] == ["Item with ID 0x1002 received but there is no descriptor"]
        assert caplog.records[0].name == "spead2"

    def test_new_order(self):
        ig = ItemGroup()
        heap = FakeHeap([FakeRawItem(b"\1\2\3\4", id=0x1000)], [descriptor(0x1000, "x", shape=(2,), dtype=">u2")])
        ig.update(heap, new_order="|")
        assert ig["x"].value.dtype == np.dtype(">u2")
        ig.update(heap)
        assert ig["x"].value.dtype == np.dtype("=u2")
        assert ig["x"].value.tolist() == [0x0102, 0x0304]

    def test_swap_endian_flavour(self):
        flavour = spead2.Flavour(4, 64, 40, spead2.BUG_COMPAT_PYSPEAD_0_5_2)
        raw = Item(0x1000, "x", "d", (2,), "<u2").to_raw(flavour)
        ig = ItemGroup()
        ig.update(FakeHeap([FakeRawItem(b"\1\2\3\4", id=0x1000)], [raw], flavour=flavour), new_order="|")
        assert ig["x"].dtype == np.dtype("<u2")
        assert ig["x"].value.tolist() == [0x0201, 0x0403]

    def test_errors_propagate(self):
        ig = ItemGroup()
        bad = descriptor(0x1000, "x")
        bad.format = []
        bad.numpy_header = b"{'descr': 'zz', 'fortran_order': False, 'shape': ()}"
        with pytest.raises(ValueError, match="descr is not a valid dtype descriptor"):
            ig.update(FakeHeap([u32(0x1000, 7)], [bad]))
        ig = ItemGroup()
        with pytest.raises(ValueError, match=r"^Item x has too few elements for shape \(2 < 4\)$"):
            ig.update(FakeHeap([u32(0x1000, 7)], [descriptor(0x1000, "x", shape=(4,), dtype="<u2")]))
        assert list(ig.keys()) == ["x"]
