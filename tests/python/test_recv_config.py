# SPDX-License-Identifier: LGPL-3.0-or-later
"""recv.StreamConfig, RingStreamConfig, StreamStatConfig and stream_stat_indices (API.md §2.2, §2.3, §2.8)."""

import numpy as np
import pytest

import spead2
import spead2.recv as recv
import spead2.send

CORE_STATS = [
    ("heaps", "COUNTER"),
    ("incomplete_heaps_evicted", "COUNTER"),
    ("incomplete_heaps_flushed", "COUNTER"),
    ("packets", "COUNTER"),
    ("batches", "COUNTER"),
    ("max_batch", "MAXIMUM"),
    ("single_packet_heaps", "COUNTER"),
    ("search_dist", "COUNTER"),
    ("worker_blocked", "COUNTER"),
]


class TestStreamConfig:
    def test_defaults(self):
        config = recv.StreamConfig()
        assert config.max_heaps == 4 == recv.StreamConfig.DEFAULT_MAX_HEAPS
        assert config.substreams == 1
        assert config.bug_compat == 0
        assert config.memcpy == spead2.MEMCPY_STD
        assert isinstance(config.memory_allocator, spead2.MemoryAllocator)
        assert config.stop_on_stop_item is True
        assert config.allow_unsized_heaps is True
        assert config.allow_out_of_order is False
        assert config.stream_id == 0
        assert config.explicit_start is False
        assert [(s.name, s.mode.name) for s in config.stats] == CORE_STATS
        assert config.next_stat_index() == 9

    def test_kwargs(self):
        pool = spead2.MemoryPool(1, 2, 3, 0)
        config = recv.StreamConfig(
            max_heaps=7,
            substreams=3,
            bug_compat=spead2.BUG_COMPAT_PYSPEAD_0_5_2,
            memcpy=spead2.MEMCPY_NONTEMPORAL,
            memory_allocator=pool,
            stop_on_stop_item=False,
            allow_unsized_heaps=False,
            allow_out_of_order=True,
            stream_id=2**40,
            explicit_start=True,
        )
        assert config.max_heaps == 7
        assert config.substreams == 3
        assert config.bug_compat == spead2.BUG_COMPAT_PYSPEAD_0_5_2
        assert config.memcpy == spead2.MEMCPY_NONTEMPORAL
        assert config.memory_allocator is pool
        assert config.stop_on_stop_item is False
        assert config.allow_unsized_heaps is False
        assert config.allow_out_of_order is True
        assert config.stream_id == 2**40
        assert config.explicit_start is True

    def test_attributes_settable(self):
        config = recv.StreamConfig()
        config.max_heaps = 9
        config.allow_out_of_order = True
        assert config.max_heaps == 9
        assert config.allow_out_of_order

    @pytest.mark.parametrize("kwargs", [{"foo": 1}, {"_foo": 1}, {"add_stat_": 1}])
    def test_unknown_keyword(self, kwargs):
        with pytest.raises(TypeError, match="^got an unexpected keyword argument$"):
            recv.StreamConfig(**kwargs)

    def test_positional(self):
        with pytest.raises(TypeError):
            recv.StreamConfig(1)

    def test_read_only_stats(self):
        with pytest.raises(AttributeError):
            recv.StreamConfig(stats=[])

    @pytest.mark.parametrize(
        "kwargs, exc, message",
        [
            ({"max_heaps": 0}, ValueError, "^max_heaps cannot be 0$"),
            ({"substreams": 0}, ValueError, "^substreams cannot be 0$"),
            ({"bug_compat": 1024}, ValueError, "^unknown compatibility bits in bug_compat$"),
            ({"memcpy": 5}, ValueError, "^Unknown memcpy function$"),
            ({"max_heaps": -1}, TypeError, None),
            ({"stream_id": -1}, TypeError, None),
        ],
    )
    def test_invalid(self, kwargs, exc, message):
        with pytest.raises(exc, match=message):
            recv.StreamConfig(**kwargs)

    def test_memory_allocator_none(self):
        # None means the default allocator. spead2 4.5.1 keeps None (the getter returns it) and
        # its worker then crashes on the first heap; here the stream works.
        config = recv.StreamConfig(memory_allocator=None)
        assert isinstance(config.memory_allocator, spead2.MemoryAllocator)
        heap = spead2.send.Heap()
        heap.add_item(spead2.Item(0x1000, "x", "", (100,), dtype=np.uint8, value=np.ones(100, np.uint8)))
        packets = b"".join(bytes(p) for p in spead2.send.PacketGenerator(heap, 1, 9000))
        stream = recv.Stream(spead2.ThreadPool(), config)
        stream.add_buffer_reader(packets)
        (received,) = list(stream)
        (item,) = received.get_items()
        assert bytes(item) == bytes(100 * [1])

    def test_add_stat(self):
        config = recv.StreamConfig()
        assert config.add_stat("foo") == 9
        assert config.add_stat("bar", recv.StreamStatConfig.Mode.MAXIMUM) == 10
        assert config.next_stat_index() == 11
        assert config.get_stat_index("bar") == 10
        assert config.get_stat_index("heaps") == 0
        assert config.stats[10] == recv.StreamStatConfig("bar", recv.StreamStatConfig.Mode.MAXIMUM)
        with pytest.raises(ValueError, match="^A statistic called foo already exists$"):
            config.add_stat("foo")
        with pytest.raises(ValueError, match="^A statistic called heaps already exists$"):
            config.add_stat("heaps")
        with pytest.raises(IndexError, match="^nope is not a known statistic name$"):
            config.get_stat_index("nope")

    def test_stats_are_copied(self):
        config = recv.StreamConfig()
        config.add_stat("foo")
        pool = spead2.ThreadPool()
        stream = recv.Stream(pool, config)
        config.add_stat("bar")
        assert len(stream.config.stats) == 10
        assert len(stream.stats) == 10
        assert len(config.stats) == 11
        stream.stop()


class TestRingStreamConfig:
    def test_defaults(self):
        config = recv.RingStreamConfig()
        assert config.heaps == 4 == recv.RingStreamConfig.DEFAULT_HEAPS
        assert config.contiguous_only is True
        assert config.incomplete_keep_payload_ranges is False

    def test_kwargs(self):
        config = recv.RingStreamConfig(heaps=9, contiguous_only=False, incomplete_keep_payload_ranges=True)
        assert config.heaps == 9
        assert config.contiguous_only is False
        assert config.incomplete_keep_payload_ranges is True

    def test_invalid(self):
        with pytest.raises(ValueError, match="^heaps must be at least 1$"):
            recv.RingStreamConfig(heaps=0)
        with pytest.raises(TypeError, match="^got an unexpected keyword argument$"):
            recv.RingStreamConfig(foo=0)
        with pytest.raises(TypeError):
            recv.RingStreamConfig(heaps=-1)


class TestStreamStatConfig:
    def test_basic(self):
        counter = recv.StreamStatConfig("x")
        assert counter.name == "x"
        assert counter.mode == recv.StreamStatConfig.Mode.COUNTER
        maximum = recv.StreamStatConfig("y", recv.StreamStatConfig.Mode.MAXIMUM)
        assert maximum.mode == recv.StreamStatConfig.Mode.MAXIMUM
        assert recv.StreamStatConfig(name="z", mode=recv.StreamStatConfig.Mode.MAXIMUM).name == "z"

    def test_combine(self):
        assert recv.StreamStatConfig("x").combine(3, 4) == 7
        assert recv.StreamStatConfig("x", recv.StreamStatConfig.Mode.MAXIMUM).combine(3, 4) == 4
        assert recv.StreamStatConfig("x", recv.StreamStatConfig.Mode.MAXIMUM).combine(5, 4) == 5
        assert recv.StreamStatConfig("x").combine(2**63, 2**63 - 1) == 2**64 - 1

    def test_equality(self):
        a = recv.StreamStatConfig("x")
        assert a == recv.StreamStatConfig("x")
        assert not a != recv.StreamStatConfig("x")
        assert a != recv.StreamStatConfig("y")
        assert a != recv.StreamStatConfig("x", recv.StreamStatConfig.Mode.MAXIMUM)
        assert not (a == 3)
        with pytest.raises(TypeError):
            hash(a)

    def test_mode_enum(self):
        mode = recv.StreamStatConfig.Mode
        assert [m.name for m in mode] == ["COUNTER", "MAXIMUM"]
        assert [m.value for m in mode] == [0, 1]
        assert repr(mode.COUNTER) == "<Mode.COUNTER: 0>"


def test_stream_stat_indices():
    indices = recv.stream_stat_indices
    names = [name.upper() for name, _ in CORE_STATS]
    assert [getattr(indices, name) for name in names] == list(range(9))
    assert sorted(n for n in dir(indices) if not n.startswith("_")) == sorted(names)
