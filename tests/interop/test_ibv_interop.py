# SPDX-License-Identifier: LGPL-3.0-or-later
"""The ibverbs configuration classes against spead2 4.5.1 on a machine with no RDMA device (with
or without rdma-core): the same defaults, properties and validation errors (type and message);
where both fail for want of a device or of the libraries, both raise RuntimeError (the messages
differ: ours names the address or the missing library, the reference the call that failed)."""

import os
import subprocess
import sys

SCRIPT = r'''
import spead2, spead2.recv, spead2.send, spead2.send.asyncio


def t(label, f, compare_message=True):
    try:
        r = f()
        print(label, "->", repr(r))
    except Exception as e:
        print(label, "!!", type(e).__name__, str(e) if compare_message else "")


R = spead2.recv.UdpIbvConfig
S = spead2.send.UdpIbvConfig
print(sorted(n for n in dir(R) if not n.startswith("_")))
print(sorted(n for n in dir(S) if not n.startswith("_")))
t("recv defaults", lambda: (R().endpoints, R().interface_address, R().buffer_size, R().max_size, R().comp_vector,
                            R().max_poll, R.DEFAULT_BUFFER_SIZE, R.DEFAULT_MAX_SIZE, R.DEFAULT_MAX_POLL))
t("recv max_poll 0", lambda: R(max_poll=0))
t("recv max_poll -1", lambda: R(max_poll=-1))
t("recv buffer_size 0", lambda: R(buffer_size=0).buffer_size)
t("recv max_size 0", lambda: R(max_size=0))
t("recv comp_vector -5", lambda: R(comp_vector=-5).comp_vector)
t("recv endpoints", lambda: R(endpoints=[("::1", 8888), ("localhost", 1), ("239.1.1.1", 2)]).endpoints)
t("recv endpoints tuple", lambda: R(endpoints=(("239.1.1.1", 1),)).endpoints)
t("recv interface", lambda: R(interface_address="notanaddress").interface_address)
t("recv bad keyword", lambda: R(foo=1), compare_message=False)
s = spead2.recv.Stream(spead2.ThreadPool())
t("add empty", lambda: s.add_udp_ibv_reader(R()))
t("add no interface", lambda: s.add_udp_ibv_reader(R(endpoints=[("239.1.1.1", 1)])))
t("add max_size 0", lambda: s.add_udp_ibv_reader(R(endpoints=[("239.1.1.1", 1)], interface_address="10.0.0.1", max_size=0)))
t("add no device", lambda: s.add_udp_ibv_reader(R(endpoints=[("239.1.1.1", 1)], interface_address="10.0.0.1")),
  compare_message=False)
t("send defaults", lambda: (S().endpoints, S().interface_address, S().buffer_size, S().ttl, S().comp_vector,
                            S().max_poll, S().memory_regions, S.DEFAULT_BUFFER_SIZE, S.DEFAULT_MAX_POLL))
t("send max_poll 0", lambda: S(max_poll=0))
t("send ttl 300", lambda: S(ttl=300), compare_message=False)
t("send buffer_size 0", lambda: S(buffer_size=0).buffer_size)
region = bytearray(10)
t("send memory_regions", lambda: S(memory_regions=[region]).memory_regions[0] is region)
tp = spead2.ThreadPool()
for cls in (spead2.send.UdpIbvStream, spead2.send.asyncio.UdpIbvStream):
    name = cls.__module__ + "." + cls.__name__
    t(name + " empty", lambda: cls(tp, spead2.send.StreamConfig(), S()))
    t(name + " unicast", lambda: cls(tp, spead2.send.StreamConfig(), S(endpoints=[("10.0.0.2", 8888)], interface_address="10.0.0.1")))
    t(name + " ipv6", lambda: cls(tp, spead2.send.StreamConfig(), S(endpoints=[("ff02::1", 8888)], interface_address="10.0.0.1")))
    t(name + " no interface", lambda: cls(tp, spead2.send.StreamConfig(), S(endpoints=[("239.1.1.1", 8888)])))
    t(name + " no device", lambda: cls(tp, spead2.send.StreamConfig(), S(endpoints=[("239.1.1.1", 8888)], interface_address="10.0.0.1")),
      compare_message=False)
'''


def test_ibv_config_matches_reference(run_ref):
    ours = subprocess.run([sys.executable, "-c", SCRIPT], check=True, capture_output=True, text=True).stdout
    assert ours == run_ref(SCRIPT)


def test_missing_rdma_core_is_named():
    # As on a machine without rdma-core: SPEAD2_IBV_LIBRARY names a library that is not there.
    env = dict(os.environ, SPEAD2_IBV_LIBRARY="libspead2_no_such_ibverbs.so.1")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.replace("compare_message=False)", "compare_message=True)")],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    lines = [line for line in out.splitlines() if "no device" in line]
    assert len(lines) == 3
    for line in lines:
        assert "RuntimeError ibverbs support needs libspead2_no_such_ibverbs.so.1" in line
