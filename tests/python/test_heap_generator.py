# SPDX-License-Identifier: LGPL-3.0-or-later
"""spead2.send.HeapGenerator and spead2.send.ItemGroup (API.md §3.6)."""

import pytest
from fake_spead2_objects import RecordingHeap

import spead2
import spead2.send
from spead2.send import HeapGenerator

needs_send_heap = pytest.mark.skipif(
    not hasattr(spead2.send, "Heap"), reason="spead2._spead2.send.Heap is not built into this extension yet"
)


def run(gen, **kwargs):
    heap = RecordingHeap()
    assert gen.add_to_heap(heap, **kwargs) is heap
    return heap.calls


def D(name):
    return ("descriptor", name)


def I(name):  # noqa: E743
    return ("item", name)


@pytest.fixture
def group():
    ig = spead2.ItemGroup()
    ig.add_item(0x1000, "a", "d", (), format=[("u", 32)])
    ig.add_item(0x1001, "b", "d", (), format=[("u", 32)], value=1)
    return ig


class TestStaleness:
    def test_descriptor_frequency(self, group):
        gen = HeapGenerator(group, descriptor_frequency=3)
        assert run(gen) == [D("a"), D("b"), I("b")]
        assert run(gen) == []
        assert run(gen) == []
        assert run(gen) == [D("a"), D("b")]
        assert run(gen) == []
        group["a"].value = 3
        assert run(gen) == [I("a")]
        assert run(gen) == [D("a"), D("b")]

    def test_no_frequency(self, group):
        gen = HeapGenerator(group)
        assert run(gen) == [D("a"), D("b"), I("b")]
        for _ in range(5):
            assert run(gen) == []

    @pytest.mark.parametrize("frequency", [0, 1])
    def test_every_heap(self, group, frequency):
        gen = HeapGenerator(group, descriptor_frequency=frequency)
        assert run(gen) == [D("a"), D("b"), I("b")]
        assert run(gen) == [D("a"), D("b")]
        assert run(gen) == [D("a"), D("b")]

    def test_data_version(self, group):
        gen = HeapGenerator(group)
        run(gen)
        group["b"].value = 1  # same value, new version
        assert run(gen) == [I("b")]
        group["b"].version += 1
        assert run(gen) == [I("b")]
        assert run(gen) == []

    def test_none_never_sent(self, group):
        gen = HeapGenerator(group)
        assert run(gen, descriptors="none", data="all") == [I("b")]

    def test_all_and_none(self, group):
        gen = HeapGenerator(group, descriptor_frequency=3)
        assert run(gen, descriptors="none", data="none") == []
        assert run(gen) == [D("a"), D("b"), I("b")]
        assert run(gen, data="all") == [I("b")]
        # descriptors='all' counts as sending them for the frequency.
        assert run(gen, descriptors="all", data="none") == [D("a"), D("b")]
        assert run(gen) == []
        assert run(gen) == []
        assert run(gen) == [D("a"), D("b")]

    def test_replaced_item(self, group):
        gen = HeapGenerator(group, descriptor_frequency=3)
        run(gen)
        group.add_item(0x1001, "b", "d", (), format=[("u", 32)], value=1)  # identical: value re-set
        assert run(gen) == [I("b")]
        group.add_item(0x1001, "b", "other", (), format=[("u", 32)], value=1)
        assert run(gen) == [D("b"), I("b")]
        group.add_item(0x1002, "c", "d", (), format=[("u", 32)])
        assert run(gen) == [D("a"), D("c")]

    @pytest.mark.parametrize(
        "kwargs, message",
        [
            (dict(descriptors="x"), "descriptors must be one of 'stale', 'all', 'none'"),
            (dict(data="STALE"), "data must be one of 'stale', 'all', 'none'"),
            (dict(data=None), "data must be one of 'stale', 'all', 'none'"),
        ],
    )
    def test_bad_mode(self, group, kwargs, message):
        gen = HeapGenerator(group, descriptor_frequency=2)
        run(gen)
        with pytest.raises(ValueError) as excinfo:
            run(gen, **kwargs)
        assert str(excinfo.value) == message
        # A refused call does not count towards the descriptor frequency.
        assert run(gen) == []
        assert run(gen) == [D("a"), D("b")]


class TestSendItemGroup:
    def test_combined(self):
        ig = spead2.send.ItemGroup(descriptor_frequency=2)
        assert isinstance(ig, spead2.ItemGroup)
        assert isinstance(ig, HeapGenerator)
        ig.add_item(None, "q", "d", (), format=[("u", 32)], value=1)
        assert run(ig) == [D("q"), I("q")]
        assert run(ig) == []
        assert run(ig) == [D("q")]

    def test_module(self):
        assert spead2.send.ItemGroup.__module__ == "spead2.send"
        assert HeapGenerator.__module__ == "spead2.send"


@needs_send_heap
class TestHeaps:
    def test_flavour(self):
        flavour = spead2.Flavour(4, 64, 48, 0)
        gen = spead2.send.ItemGroup(flavour=flavour)
        for heap in (gen.get_heap(), gen.get_heap(descriptors="none"), gen.get_start(), gen.get_end()):
            assert isinstance(heap, spead2.send.Heap)
            assert heap.flavour == flavour
        assert spead2.send.ItemGroup().get_heap().flavour == spead2.Flavour()

    def test_start_end_packets(self):
        gen = HeapGenerator(spead2.ItemGroup(), flavour=spead2.Flavour(4, 64, 48, 0))
        (start,) = list(spead2.send.PacketGenerator(gen.get_start(), 1, 9000))
        # Header, 4 specials, STREAM_CTRL = 0 (immediate), NULL padding pointer, 1 byte of payload.
        assert bytes(start) == bytes.fromhex(
            "5304020600000006"
            "8001000000000001"
            "8002000000000001"
            "8003000000000000"
            "8004000000000001"
            "8006000000000000"
            "0000000000000000"
            "00"
        )
        (end,) = list(spead2.send.PacketGenerator(gen.get_end(), 1, 9000))
        assert bytes(end)[40:48] == bytes.fromhex("8006000000000002")

    def test_get_heap_passes_modes(self):
        gen = spead2.send.ItemGroup()
        with pytest.raises(ValueError):
            gen.get_heap("x")
        with pytest.raises(ValueError):
            gen.get_heap(data="x")
