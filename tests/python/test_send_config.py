# SPDX-License-Identifier: LGPL-3.0-or-later
"""send.StreamConfig, RateMethod and GroupMode (API.md §3.2, §4.5)."""

import math

import pytest

import spead2
import spead2.send as send


def test_defaults():
    config = send.StreamConfig()
    assert config.max_packet_size == 1472 == send.StreamConfig.DEFAULT_MAX_PACKET_SIZE
    assert config.rate == 0.0
    assert config.burst_size == 65536 == send.StreamConfig.DEFAULT_BURST_SIZE
    assert config.max_heaps == 4 == send.StreamConfig.DEFAULT_MAX_HEAPS
    assert config.burst_rate_ratio == 1.05 == send.StreamConfig.DEFAULT_BURST_RATE_RATIO
    assert config.rate_method == send.RateMethod.AUTO == send.StreamConfig.DEFAULT_RATE_METHOD
    assert config.burst_rate == 0.0


def test_kwargs():
    config = send.StreamConfig(
        max_packet_size=9000,
        rate=1e9,
        burst_size=1000,
        max_heaps=8,
        burst_rate_ratio=2.0,
        rate_method=send.RateMethod.SW,
    )
    assert config.max_packet_size == 9000
    assert config.rate == 1e9
    assert config.burst_size == 1000
    assert config.max_heaps == 8
    assert config.burst_rate_ratio == 2.0
    assert config.rate_method == send.RateMethod.SW
    assert config.burst_rate == 2e9


def test_setters():
    config = send.StreamConfig()
    config.rate = 10.0
    config.burst_rate_ratio = 3.0
    assert config.burst_rate == 30.0
    with pytest.raises(AttributeError):
        config.burst_rate = 3


def test_packet_size_not_validated_early():
    # Rounded and checked only when a heap is sent (see test_send_stream)
    assert send.StreamConfig(max_packet_size=10).max_packet_size == 10
    assert send.StreamConfig(max_packet_size=1001).max_packet_size == 1001
    assert send.StreamConfig(burst_size=0).burst_size == 0


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        ({"max_heaps": 0}, ValueError, "^max_heaps must be positive$"),
        ({"max_heaps": -1}, TypeError, None),
        ({"rate": -1.0}, ValueError, "^rate must be non-negative$"),
        ({"rate": math.inf}, ValueError, "^rate must be non-negative$"),
        ({"rate": math.nan}, ValueError, "^rate must be non-negative$"),
        ({"burst_rate_ratio": 0.5}, ValueError, "^burst rate ratio must be at least 1.0 and finite$"),
        ({"burst_rate_ratio": math.inf}, ValueError, "^burst rate ratio must be at least 1.0 and finite$"),
        ({"foo": 1}, TypeError, "^got an unexpected keyword argument$"),
        ({"burst_rate": 1.0}, AttributeError, None),
    ],
)
def test_invalid(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        send.StreamConfig(**kwargs)


def test_setter_validates():
    config = send.StreamConfig()
    with pytest.raises(ValueError, match="^rate must be non-negative$"):
        config.rate = -3
    assert config.rate == 0.0


def test_enums():
    assert [(m.name, m.value) for m in send.RateMethod] == [("SW", 0), ("HW", 1), ("AUTO", 2)]
    assert [(m.name, m.value) for m in send.GroupMode] == [("ROUND_ROBIN", 0), ("SERIAL", 1)]
    assert repr(send.RateMethod.AUTO) == "<RateMethod.AUTO: 2>"
    assert str(send.GroupMode.SERIAL) == "GroupMode.SERIAL"
