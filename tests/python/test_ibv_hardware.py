# SPDX-License-Identifier: LGPL-3.0-or-later
"""ibverbs on real hardware, as spead2 tests it: only when SPEAD2_TEST_IBV_INTERFACE holds the IPv4
address of an interface on an RDMA-capable NIC (ConnectX); skipped otherwise. The sender and the
receiver share that interface; the NIC loops multicast back (or the switch does).

    SPEAD2_TEST_IBV_INTERFACE=10.0.0.5 pytest tests/python/test_ibv_hardware.py
"""

import os

import numpy as np
import pytest
import spead2
import spead2.recv
import spead2.send

INTERFACE = os.environ.get("SPEAD2_TEST_IBV_INTERFACE")
pytestmark = pytest.mark.skipif(not INTERFACE, reason="SPEAD2_TEST_IBV_INTERFACE is not set (no ibverbs NIC)")


@pytest.mark.parametrize("comp_vector", [0, -1])
def test_multicast_round_trip(comp_vector):
    group, port = "239.255.88.1", 8888
    heaps = 50
    thread_pool = spead2.ThreadPool()
    stream = spead2.recv.Stream(thread_pool, spead2.recv.StreamConfig(max_heaps=4))
    stream.add_udp_ibv_reader(
        spead2.recv.UdpIbvConfig(
            endpoints=[(group, port)], interface_address=INTERFACE, comp_vector=comp_vector, max_poll=10
        )
    )
    data = np.arange(65536, dtype=np.uint8)
    sender = spead2.send.UdpIbvStream(
        thread_pool,
        spead2.send.StreamConfig(rate=1e9, max_packet_size=8192),
        spead2.send.UdpIbvConfig(endpoints=[(group, port)], interface_address=INTERFACE, memory_regions=[data]),
    )
    ig = spead2.send.ItemGroup()
    item = ig.add_item(0x1000, "data", "payload", shape=data.shape, dtype=data.dtype, value=data)
    for _ in range(heaps):
        sender.send_heap(ig.get_heap(descriptors="all", data="all"))
    sender.send_heap(ig.get_end())
    received = 0
    recv_ig = spead2.ItemGroup()
    for heap in stream:
        recv_ig.update(heap)
        np.testing.assert_array_equal(recv_ig["data"].value, data)
        received += 1
    assert received == heaps
