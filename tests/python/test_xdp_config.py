# SPDX-License-Identifier: LGPL-3.0-or-later
"""The AF_XDP configuration classes and the errors of their streams, which need no network
namespace (the transports themselves run in test_passthrough_net.py and
test_passthrough_asyncio.py, inside one)."""

import pytest

import spead2
import spead2.recv as recv
import spead2.send as send

pytestmark = pytest.mark.skipif(not hasattr(recv, "UdpXdpConfig"), reason="built without AF_XDP")


def test_recv_defaults_and_keywords():
    config = recv.UdpXdpConfig()
    assert config.endpoints == []
    assert config.interface_address == ""
    assert config.buffer_size == recv.UdpXdpConfig.DEFAULT_BUFFER_SIZE == 16 * 1024 * 1024
    assert config.queue_id == 0
    assert config.max_poll == recv.UdpXdpConfig.DEFAULT_MAX_POLL == 0
    assert config.busy_poll == 0
    assert config.attach_mode == spead2.XdpAttachMode.AUTO
    assert config.copy_mode == spead2.XdpCopyMode.AUTO
    config = recv.UdpXdpConfig(
        endpoints=[("239.1.2.3", 8888), ("10.0.0.1", 7148)],
        interface_address="10.0.0.1",
        buffer_size=0,
        queue_id=3,
        max_poll=100,
        busy_poll=50,
        attach_mode=spead2.XdpAttachMode.GENERIC,
        copy_mode=spead2.XdpCopyMode.COPY,
    )
    assert config.endpoints == [("239.1.2.3", 8888), ("10.0.0.1", 7148)]
    assert config.buffer_size == recv.UdpXdpConfig.DEFAULT_BUFFER_SIZE  # 0: the default
    assert (config.queue_id, config.max_poll, config.busy_poll) == (3, 100, 50)
    assert config.queue_ids == [3]
    config.queue_ids = [0, 2]
    assert (config.queue_id, config.queue_ids) == (0, [0, 2])
    with pytest.raises(ValueError, match="queue 2 is given twice"):
        config.queue_ids = [2, 2]
    assert config.attach_mode == spead2.XdpAttachMode.GENERIC
    assert config.copy_mode == spead2.XdpCopyMode.COPY
    # endpoints is a copy: changing it needs an assignment.
    config.endpoints.append(("239.1.2.4", 8888))
    assert len(config.endpoints) == 2


def test_recv_validation():
    with pytest.raises(ValueError, match="endpoint is not an IPv4 address: ::1"):
        recv.UdpXdpConfig(endpoints=[("::1", 8888)])
    with pytest.raises(ValueError, match="interface address is not an IPv4 address"):
        recv.UdpXdpConfig(interface_address="::1")
    with pytest.raises(ValueError, match="max_poll must be non-negative"):
        recv.UdpXdpConfig(max_poll=-1)
    with pytest.raises(ValueError, match="busy_poll must be non-negative"):
        recv.UdpXdpConfig(busy_poll=-1)
    with pytest.raises(TypeError):
        recv.UdpXdpConfig(no_such_option=1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"interface_address": "127.0.0.1"}, "endpoints is empty"),
        ({"endpoints": [("239.1.2.3", 8888)]}, "interface address has not been set"),
        ({"endpoints": [("239.1.2.3", 8888)], "interface_address": "192.0.2.77"}, "no interface has address 192.0.2.77"),
    ],
)
def test_add_reader_errors(kwargs, message):
    stream = recv.Stream(spead2.ThreadPool())
    with pytest.raises(ValueError, match=message):
        stream.add_udp_xdp_reader(recv.UdpXdpConfig(**kwargs))
    stream.stop()


def test_send_defaults_and_errors():
    config = send.UdpXdpConfig()
    assert config.buffer_size == send.UdpXdpConfig.DEFAULT_BUFFER_SIZE == 4 * 1024 * 1024
    assert config.ttl == 1
    config = send.UdpXdpConfig(endpoints=[("239.1.2.3", 8888)], ttl=4, copy_mode=spead2.XdpCopyMode.ZERO_COPY)
    assert config.ttl == 4 and config.copy_mode == spead2.XdpCopyMode.ZERO_COPY
    with pytest.raises(ValueError, match="endpoint is not an IPv4 address"):
        send.UdpXdpConfig(endpoints=[("ff15::1", 8888)])
    tp = spead2.ThreadPool()
    with pytest.raises(ValueError, match="endpoints is empty"):
        send.UdpXdpStream(tp, send.StreamConfig(), send.UdpXdpConfig(interface_address="127.0.0.1"))
    with pytest.raises(ValueError, match="no interface has address 192.0.2.77"):
        send.UdpXdpStream(
            tp, send.StreamConfig(), send.UdpXdpConfig(endpoints=[("239.1.2.3", 8888)], interface_address="192.0.2.77")
        )
