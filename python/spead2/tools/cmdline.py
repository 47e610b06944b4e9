# SPDX-License-Identifier: LGPL-3.0-or-later
"""Command-line option groups shared by the Python tools (spead2_send.py, spead2_recv.py,
spead2_bench.py), and usable by applications that want the same options.

Each group adds its options to an :class:`argparse.ArgumentParser` (``add_arguments``), then
takes the parsed values back as attributes of itself (``notify``), filling in defaults that
depend on other options (such as buffer sizes that depend on ``--tcp``). A ``name_map`` renames
options (``{"bind": "recv_bind"}`` gives ``--recv-bind``) or suppresses them (``{"tcp": None}``);
a suppressed option keeps its default.
"""

from __future__ import annotations

import argparse
from typing import Any, Optional

import spead2
import spead2.recv
import spead2.send

__all__ = ["ProtocolOptions", "SharedOptions", "ReceiverOptions", "SenderOptions", "parse_endpoint"]

# The ibverbs options exist when the bindings have its configuration (the transport itself says
# at use whether it can run, for example when rdma-core is missing).
_HAVE_IBV = hasattr(spead2.recv, "UdpIbvConfig")


def parse_endpoint(endpoint: str) -> tuple[str, int]:
    """Splits ``host:port`` (or a bare ``port``, giving an empty host) into (host, port).

    The port must be an integer (ValueError otherwise). IPv6 hosts keep their brackets
    (``[::1]:8888`` gives ``("[::1]", 8888)``); :func:`_unbracket` strips them for sockets.
    """
    if ":" in endpoint:
        host, port = endpoint.rsplit(":", 1)
    else:
        host, port = "", endpoint
    return host, int(port)


def _unbracket(host: str) -> str:
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


def _is_ipv6(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(_unbracket(host)).version == 6
    except ValueError:
        return False


class _Options:
    """Base of the option groups: option naming, registration and read-back."""

    def __init__(self, name_map: Optional[dict[str, Optional[str]]] = None) -> None:
        self._name_map = dict(name_map) if name_map else {}

    def _dest(self, name: str) -> Optional[str]:
        return self._name_map.get(name, name)

    def _add_argument(self, parser, name: str, *args: Any, **kwargs: Any) -> None:
        """Adds ``--name`` (as renamed by name_map), whose default is the attribute's current
        value, as in spead2: an application may set attributes before adding the arguments."""
        dest = self._dest(name)
        if dest is None:
            return
        kwargs.setdefault("default", getattr(self, name))
        flag = "--" + dest.replace("_", "-")
        if "metavar" in kwargs and kwargs["metavar"] is None:
            kwargs["metavar"] = flag[2:].upper()
        parser.add_argument(flag, *args, dest=dest, **kwargs)

    def _notify_defaults(self, parser, namespace, defaults: dict[str, Any]) -> None:
        """Reads back the options named in @a defaults; a suppressed one keeps its value."""
        for name in defaults:
            dest = self._dest(name)
            if dest is not None:
                setattr(self, name, getattr(namespace, dest, getattr(self, name)))


class ProtocolOptions(_Options):
    """Options that the sender and receiver need to agree on."""

    _DEFAULTS = {"tcp": False, "pyspead": False}

    def __init__(self, name_map=None) -> None:
        super().__init__(name_map)
        for name, value in self._DEFAULTS.items():
            setattr(self, name, value)

    def add_arguments(self, parser) -> None:
        self._add_argument(parser, "tcp", action="store_true", help="Use TCP instead of UDP")
        self._add_argument(parser, "pyspead", action="store_true", help="Be bug-compatible with PySPEAD")

    def notify(self, parser, namespace) -> None:
        self._notify_defaults(parser, namespace, self._DEFAULTS)


class SharedOptions(_Options):
    """Options common to senders and receiver.

    Unlike :class:`ProtocolOptions`, these need not be the same at the sender
    and receiver.
    """

    _SHARED_DEFAULTS = {
        "buffer": None,
        "bind": None,
        "ibv": False,
        "ibv_vector": 0,
        "ibv_max_poll": 10,
        "affinity": None,
        "threads": 1,
    }

    def __init__(self, protocol: ProtocolOptions, name_map=None) -> None:
        super().__init__(name_map)
        self._protocol = protocol
        for name, value in self._SHARED_DEFAULTS.items():
            setattr(self, name, value)

    def add_arguments(self, parser) -> None:
        self._add_argument(parser, "buffer", type=int, help="Socket buffer size")
        self._add_argument(parser, "bind", type=str, help="Interface address")
        self._add_argument(parser, "ibv", action="store_true", help="Use ibverbs [no]")
        self._add_argument(
            parser, "ibv_vector", type=int, metavar="N", help="Completion vector, or -1 to use polling [%(default)s]"
        )
        self._add_argument(
            parser, "ibv_max_poll", type=int, help="Maximum number of times to poll in a row [%(default)s]"
        )
        self._add_argument(
            parser,
            "affinity",
            type=spead2.parse_range_list,
            metavar=None,
            help="List of CPUs to pin threads to [no affinity]",
        )
        self._add_argument(parser, "threads", type=int, metavar=None, help="Number of worker threads [%(default)s]")

    def _notify_shared(self, parser, namespace) -> None:
        self._notify_defaults(parser, namespace, self._SHARED_DEFAULTS)
        if self.ibv:
            if not _HAVE_IBV:
                parser.error("--ibv requires spead2 built with ibverbs support")
            if not self.bind:
                parser.error("--ibv requires --bind")
            if self._protocol.tcp:
                parser.error("--ibv and --tcp are incompatible")

    def make_thread_pool(self) -> spead2.ThreadPool:
        """A thread pool of ``threads`` workers. With ``affinity``, the first core pins the calling
        thread and the workers cycle over the others, then the first, as spead2's do."""
        if self.affinity:
            spead2.ThreadPool.set_affinity(self.affinity[0])
            return spead2.ThreadPool(self.threads, self.affinity[1:] + self.affinity[:1])
        return spead2.ThreadPool(self.threads)


class ReceiverOptions(SharedOptions):
    """Options for receivers."""

    _DEFAULTS = {
        "memcpy_nt": False,
        "concurrent_heaps": spead2.recv.StreamConfig.DEFAULT_MAX_HEAPS
        if hasattr(spead2.recv.StreamConfig, "DEFAULT_MAX_HEAPS")
        else 4,
        "substreams": 1,
        "ring_heaps": 4,
        "mem_pool": False,
        "mem_lower": 16384,
        "mem_upper": 32 * 1024 * 1024,
        "mem_max_free": 12,
        "mem_initial": 8,
        "packet": None,
    }

    def __init__(self, protocol: ProtocolOptions, name_map=None) -> None:
        super().__init__(protocol, name_map)
        for name, value in self._DEFAULTS.items():
            setattr(self, name, value)

    def add_arguments(self, parser) -> None:
        self._add_argument(parser, "memcpy_nt", action="store_true", help="Use non-temporal memcpy")
        self._add_argument(
            parser, "concurrent_heaps", type=int, help="Maximum number of in-flight heaps per substream [%(default)s]"
        )
        self._add_argument(parser, "substreams", type=int, help="Number of parallel substreams [%(default)s]")
        self._add_argument(parser, "ring_heaps", type=int, help="Ring buffer capacity in heaps [%(default)s]")
        self._add_argument(parser, "mem_pool", action="store_true", help="Use a memory pool")
        self._add_argument(
            parser, "mem_lower", type=int, help="Minimum allocation which will use the memory pool [%(default)s]"
        )
        self._add_argument(
            parser, "mem_upper", type=int, help="Maximum allocation which will use the memory pool [%(default)s]"
        )
        self._add_argument(parser, "mem_max_free", type=int, help="Maximum free memory buffers [%(default)s]")
        self._add_argument(parser, "mem_initial", type=int, help="Initial free memory buffers [%(default)s]")
        self._add_argument(parser, "packet", type=int, help="Maximum packet size to accept")
        super().add_arguments(parser)

    def notify(self, parser, namespace) -> None:
        self._notify_defaults(parser, namespace, self._DEFAULTS)
        self._notify_shared(parser, namespace)
        if self._protocol.tcp:
            default_buffer = spead2.recv.Stream.DEFAULT_TCP_BUFFER_SIZE
            default_packet = spead2.recv.Stream.DEFAULT_TCP_MAX_SIZE
        elif self.ibv:
            default_buffer = spead2.recv.UdpIbvConfig.DEFAULT_BUFFER_SIZE
            default_packet = spead2.recv.UdpIbvConfig.DEFAULT_MAX_SIZE
        else:
            default_buffer = spead2.recv.Stream.DEFAULT_UDP_BUFFER_SIZE
            default_packet = spead2.recv.Stream.DEFAULT_UDP_MAX_SIZE
        if self.buffer is None:
            self.buffer = default_buffer
        if self.packet is None:
            self.packet = default_packet

    def make_stream_config(self) -> spead2.recv.StreamConfig:
        config = spead2.recv.StreamConfig(
            max_heaps=self.concurrent_heaps,
            substreams=self.substreams,
            bug_compat=spead2.BUG_COMPAT_PYSPEAD_0_5_2 if self._protocol.pyspead else 0,
            memcpy=spead2.MEMCPY_NONTEMPORAL if self.memcpy_nt else spead2.MEMCPY_STD,
        )
        if self.mem_pool:
            config.memory_allocator = spead2.MemoryPool(
                self.mem_lower, self.mem_upper, self.mem_max_free, self.mem_initial
            )
        return config

    def make_ring_stream_config(self) -> spead2.recv.RingStreamConfig:
        return spead2.recv.RingStreamConfig(heaps=self.ring_heaps)

    def add_readers(self, stream, endpoints, *, allow_pcap: bool = False) -> None:
        """Adds one reader per source: ``host:port`` or ``port`` (UDP or TCP by ``--tcp``), or,
        with ``allow_pcap``, the name of a pcap file (a source whose port is not a number)."""
        ibv_endpoints = []
        for source in endpoints:
            try:
                host, port = parse_endpoint(source)
            except ValueError:
                if not allow_pcap:
                    raise
                stream.add_udp_pcap_file_reader(source)
                continue
            host = _unbracket(host)
            if self._protocol.tcp:
                stream.add_tcp_reader(port, self.packet, self.buffer, host)
            elif self.ibv:
                ibv_endpoints.append((host, port))
            elif self.bind and not _is_ipv6(host):
                # Binds to --bind for a bare port too (and joins a group on that interface).
                stream.add_udp_reader(host or "0.0.0.0", port, self.packet, self.buffer, self.bind)
            else:
                stream.add_udp_reader(port, self.packet, self.buffer, host)
        if ibv_endpoints:
            stream.add_udp_ibv_reader(
                spead2.recv.UdpIbvConfig(
                    endpoints=ibv_endpoints,
                    interface_address=self.bind,
                    max_size=self.packet,
                    buffer_size=self.buffer,
                    comp_vector=self.ibv_vector,
                    max_poll=self.ibv_max_poll,
                )
            )


class SenderOptions(SharedOptions):
    """Options for senders."""

    _DEFAULTS = {
        "addr_bits": 40,
        "packet": 1472,
        "burst": 65536,
        "burst_rate_ratio": 1.05,
        "max_heaps": 4,
        "rate_method": spead2.send.RateMethod.AUTO,
        "rate": 0.0,
        "ttl": None,
    }

    def __init__(self, protocol: ProtocolOptions, name_map=None):
        super().__init__(protocol, name_map)
        for name, value in self._DEFAULTS.items():
            setattr(self, name, value)

    @staticmethod
    def _rate_method(value: str):
        try:
            return spead2.send.RateMethod[value.upper()]
        except KeyError:
            raise argparse.ArgumentTypeError(f"invalid rate method {value!r} (expected SW, HW or AUTO)") from None

    def add_arguments(self, parser) -> None:
        self._add_argument(parser, "addr_bits", type=int, help="Heap address bits [%(default)s]")
        self._add_argument(parser, "packet", type=int, help="Maximum packet size to send [%(default)s]")
        self._add_argument(parser, "burst", type=int, metavar="BYTES", help="Burst size [%(default)s]")
        self._add_argument(
            parser,
            "burst_rate_ratio",
            type=float,
            metavar="RATIO",
            help="Hard rate limit, relative to --rate [%(default)s]",
        )
        self._add_argument(parser, "max_heaps", type=int, metavar="HEAPS", help="Maximum heaps in flight [%(default)s]")
        self._add_argument(
            parser,
            "rate_method",
            type=self._rate_method,
            metavar="METHOD",
            help="Method for rate limiting (SW/HW/AUTO)",
        )
        self._add_argument(parser, "rate", type=float, metavar="Gb/s", help="Transmission rate bound [no limit]")
        self._add_argument(parser, "ttl", type=int, help="TTL for multicast target")
        super().add_arguments(parser)

    def notify(self, parser, namespace) -> None:
        self._notify_defaults(parser, namespace, self._DEFAULTS)
        self._notify_shared(parser, namespace)
        if self.buffer is None:
            if self._protocol.tcp:
                self.buffer = spead2.send.TcpStream.DEFAULT_BUFFER_SIZE
            elif self.ibv:
                self.buffer = spead2.send.UdpIbvConfig.DEFAULT_BUFFER_SIZE
            else:
                self.buffer = spead2.send.UdpStream.DEFAULT_BUFFER_SIZE

    def make_flavour(self) -> spead2.Flavour:
        bug_compat = spead2.BUG_COMPAT_PYSPEAD_0_5_2 if self._protocol.pyspead else 0
        return spead2.Flavour(4, 64, self.addr_bits, bug_compat)

    def make_stream_config(self) -> spead2.send.StreamConfig:
        return spead2.send.StreamConfig(
            max_packet_size=self.packet,
            rate=self.rate * (1e9 / 8),  # Gb/s to bytes/s
            burst_size=self.burst,
            max_heaps=self.max_heaps,
            burst_rate_ratio=self.burst_rate_ratio,
            rate_method=self.rate_method,
        )

    async def make_stream(self, thread_pool, endpoints, memory_regions):
        """An asyncio send stream to ``endpoints`` (a list of (host, port)). ``memory_regions`` are
        the buffers heaps will be sent from (only ibverbs registers them)."""
        import spead2.send.asyncio

        config = self.make_stream_config()
        endpoints = [(_unbracket(host), port) for host, port in endpoints]
        if self._protocol.tcp:
            return await spead2.send.asyncio.TcpStream.connect(
                thread_pool, endpoints, config, self.buffer, self.bind or ""
            )
        if self.ibv:
            ibv_config = spead2.send.UdpIbvConfig(
                endpoints=endpoints,
                interface_address=self.bind,
                buffer_size=self.buffer,
                ttl=self.ttl if self.ttl is not None else 1,
                comp_vector=self.ibv_vector,
                max_poll=self.ibv_max_poll,
                memory_regions=list(memory_regions),
            )
            return spead2.send.asyncio.UdpIbvStream(thread_pool, config, ibv_config)
        if self.ttl is not None:
            if self.bind:
                return spead2.send.asyncio.UdpStream(thread_pool, endpoints, config, self.buffer, self.ttl, self.bind)
            return spead2.send.asyncio.UdpStream(thread_pool, endpoints, config, self.buffer, self.ttl)
        return spead2.send.asyncio.UdpStream(thread_pool, endpoints, config, self.buffer, self.bind or "")
