# SPDX-License-Identifier: LGPL-3.0-or-later
"""recv.StreamStats: the mapping and sequence interface (API.md §2.8)."""

import pytest

import spead2
import spead2.recv as recv
import spead2.send as send

CORE = [
    "heaps",
    "incomplete_heaps_evicted",
    "incomplete_heaps_flushed",
    "packets",
    "batches",
    "max_batch",
    "single_packet_heaps",
    "search_dist",
    "worker_blocked",
]


@pytest.fixture
def thread_pool():
    return spead2.ThreadPool()


@pytest.fixture
def config():
    config = recv.StreamConfig()
    config.add_stat("foo")
    config.add_stat("bar", recv.StreamStatConfig.Mode.MAXIMUM)
    return config


@pytest.fixture
def stats(thread_pool, config):
    stream = recv.Stream(thread_pool, config)
    stats = stream.stats
    stream.stop()
    return stats


def test_no_constructor():
    with pytest.raises(TypeError):
        recv.StreamStats()


def test_names_and_order(stats):
    assert list(stats) == CORE + ["foo", "bar"]
    assert list(stats.keys()) == CORE + ["foo", "bar"]
    assert len(stats) == 11
    assert list(stats.values()) == [0] * 11
    assert list(stats.items()) == [(name, 0) for name in CORE + ["foo", "bar"]]


def test_config(stats, config):
    assert stats.config == config.stats
    assert [c.name for c in stats.config] == CORE + ["foo", "bar"]


def test_get_set_by_name_and_index(stats):
    stats["foo"] = 7
    stats[0] = 3
    stats.packets = 9
    assert stats["foo"] == 7 == stats[9]
    assert stats.heaps == 3 == stats["heaps"]
    assert stats[3] == 9
    assert list(stats.values()) == [3, 0, 0, 9, 0, 0, 0, 0, 0, 7, 0]
    stats.worker_blocked = 2**64 - 1
    assert stats[8] == 2**64 - 1


@pytest.mark.parametrize("name", CORE)
def test_core_attributes(stats, name):
    stats[name] = 5
    assert getattr(stats, name) == 5
    setattr(stats, name, 6)
    assert stats[CORE.index(name)] == 6


def test_missing(stats):
    with pytest.raises(KeyError) as excinfo:
        stats["nope"]
    assert excinfo.value.args == ("nope",)
    with pytest.raises(KeyError):
        stats["nope"] = 1
    with pytest.raises(IndexError):
        stats[11]
    with pytest.raises(IndexError):
        stats[11] = 1
    assert stats[10] == 0


def test_negative_index_is_type_error(stats):
    with pytest.raises(TypeError):
        stats[-1]
    with pytest.raises(TypeError):
        stats[-1] = 3
    with pytest.raises(TypeError):
        stats["foo"] = -3
    with pytest.raises(TypeError):
        stats[0:2]


def test_get_and_contains(stats):
    stats["foo"] = 4
    assert stats.get("nope") is None
    assert stats.get("nope", 5) == 5
    assert stats.get("foo", 5) == 4
    assert "foo" in stats
    assert "nope" not in stats
    with pytest.raises(TypeError):
        3 in stats


def test_add(stats, thread_pool, config):
    stats.heaps = 3
    stats.max_batch = 4
    stats["foo"] = 7
    stats["bar"] = 10
    other = recv.Stream(thread_pool, config).stats
    other.heaps = 1
    other.max_batch = 6
    other["foo"] = 1
    other["bar"] = 2
    total = stats + other
    assert total.heaps == 4
    assert total.max_batch == 6
    assert total["foo"] == 8
    assert total["bar"] == 10
    assert stats.heaps == 3  # unchanged
    alias = stats
    stats += other
    assert alias is stats
    assert list(stats.values()) == list(total.values())


def test_add_mismatch(stats, thread_pool):
    other = recv.Stream(thread_pool).stats
    with pytest.raises(ValueError, match="^config must match to add stats together$"):
        stats + other
    with pytest.raises(ValueError, match="^config must match to add stats together$"):
        stats += other


def test_snapshot_after_stream(thread_pool):
    """Real counts: 3 single-packet heaps (one of them the stop heap) in one batch."""
    out = send.BytesStream(thread_pool)
    heap = send.Heap()
    out.send_heap(heap)
    out.send_heap(heap)
    end = send.Heap()
    end.add_end()
    out.send_heap(end)
    stream = recv.Stream(thread_pool)
    stream.add_buffer_reader(out.getvalue())
    assert len(list(stream)) == 2
    stats = stream.stats
    assert dict(stats.items()) == {
        "heaps": 2,
        "incomplete_heaps_evicted": 0,
        "incomplete_heaps_flushed": 0,
        "packets": 3,
        "batches": 1,
        "max_batch": 3,
        "single_packet_heaps": 3,
        "search_dist": 0,
        "worker_blocked": 0,
    }
