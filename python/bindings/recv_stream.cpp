// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Bindings of the receive streams: _Stream (readers, start/stop, stats) and the ring Stream.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <nanobind/nanobind.h>
#include <nanobind/stl/shared_ptr.h>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/io_context_ref.h>
#include <spead2/common/ringbuffer.h>
#include <spead2/common/semaphore.h>
#include <spead2/features.h>
#include <spead2/recv/udp_ibv_reader.h>
#include <spead2/recv/chunk_stream_group.h>
#include <spead2/recv/inproc_reader.h>
#include <spead2/recv/live_heap.h>
#include <spead2/recv/mem_reader.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/recv/ring_stream_config.h>
#include <spead2/recv/stream.h>
#include <spead2/recv/stream_config.h>
#include <spead2/recv/tcp_reader.h>
#include <spead2/recv/udp_pcap_file_reader.h>
#include <spead2/recv/udp_reader.h>
#include <spead2/recv/udp_xdp_reader.h>
#if SPEAD2_USE_PCAP
#include <pcap/pcap.h>
#endif
#include "bindings.h"
#include "bindings_util.h"
#include "common.h"
#include "gil.h"
#include "net_bindings.h"
#include "recv_bindings.h"
#include "string_caster.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace spead2::python
{

namespace
{

/**
 * The heap ring of a Python stream. Both semaphores are the default (eventfd) ones: the data one
 * for its file descriptor (Stream.fd, for asyncio), the space one because it spins before the
 * worker sleeps and makes no system call while nobody sleeps (a POSIX semaphore woke the worker
 * through the kernel on every pop of a full ring).
 */
using heap_ringbuffer = ringbuffer<recv::live_heap, semaphore_fd, semaphore_fd>;

/**
 * spead2.recv.Stream: a ring_stream that the atexit hook stops, and whose destructor stops it
 * with the GIL released before the buffers its readers use are released.
 */
class ring_stream_wrapper : public recv::ring_stream<heap_ringbuffer>, public stream_extras
{
public:
    ring_stream_wrapper(io_context_ref io_context, const recv::stream_config &config,
                        const recv::ring_stream_config &ring_config)
        : recv::ring_stream<heap_ringbuffer>(std::move(io_context), config, ring_config)
    {
        register_stoppable(this, [this] { stop(); });
    }

    ~ring_stream_wrapper() override
    {
        unregister_stoppable(this);
        without_gil(
            [this]
            {
                stop();
                // After this no handler touches the stream (or the buffers, freed next).
                detach_shared();
            });
    }
};

nb::object stream_get(ring_stream_wrapper &self)
{
    recv::live_heap h = pop_releasing_gil(self.get_ringbuffer());
    return heap_to_python(std::move(h), self.get_ring_config().get_incomplete_keep_payload_ranges());
}

nb::object stream_next(ring_stream_wrapper &self)
{
    try
    {
        return stream_get(self);
    }
    catch (ringbuffer_stopped &)
    {
        throw nb::stop_iteration();
    }
}

nb::object stream_get_nowait(ring_stream_wrapper &self)
{
    recv::live_heap h = self.get_ringbuffer().try_pop();
    return heap_to_python(std::move(h), self.get_ring_config().get_incomplete_keep_payload_ranges());
}

void add_buffer_reader(recv::stream &self, nb::handle buffer)
{
    stream_extras &extras = get_extras(self);
    auto view = std::make_unique<buffer_view>(buffer);
    const auto *ptr = static_cast<const std::uint8_t *>(view->data());
    std::size_t length = view->size();
    extras.buffers.push_back(std::move(view));
    gil_release release;
    self.emplace_reader<recv::mem_reader>(ptr, length);
}

void add_inproc_reader(recv::stream &self, std::shared_ptr<inproc_queue_wrapper> queue)
{
    gil_release release;
    self.emplace_reader<recv::inproc_reader>(std::shared_ptr<inproc_queue>(std::move(queue)));
}

// Network readers. Constructors and start() may block (resolving, binding), so the GIL is
// released; socket failures raise RuntimeError as in spead2 (with_setup_errors).

void add_udp_reader_port(recv::stream &self, std::uint16_t port, std::size_t max_size,
                         std::size_t buffer_size, const std::string &bind_hostname)
{
    gil_release release;
    with_setup_errors([&]
                      { self.emplace_reader<recv::udp_reader>(bind_hostname, port, max_size, buffer_size); });
}

void add_udp_reader_socket(recv::stream &self, udp_socket_arg socket, std::size_t max_size)
{
    gil_release release;
    with_setup_errors(
        [&] { self.emplace_reader<recv::udp_reader>(recv::udp_reader::socket_fd{socket.fd}, max_size); });
}

void add_udp_reader_interface_address(recv::stream &self, const std::string &multicast_group,
                                      std::uint16_t port, std::size_t max_size, std::size_t buffer_size,
                                      const std::string &interface_address)
{
    gil_release release;
    with_setup_errors(
        [&] {
            self.emplace_reader<recv::udp_reader>(multicast_group, port, max_size, buffer_size,
                                                  interface_address);
        });
}

void add_udp_reader_interface_index(recv::stream &self, const std::string &multicast_group,
                                    std::uint16_t port, std::size_t max_size, std::size_t buffer_size,
                                    unsigned int interface_index)
{
    gil_release release;
    with_setup_errors(
        [&] {
            self.emplace_reader<recv::udp_reader>(multicast_group, port, max_size, buffer_size,
                                                  interface_index);
        });
}

void add_tcp_reader_port(recv::stream &self, std::uint16_t port, std::size_t max_size,
                         std::size_t buffer_size, const std::string &bind_hostname)
{
    // spead2 accepts max_size 0 (every packet is then skipped); the C++ reader wants at least 1,
    // which skips every packet just the same (none is shorter than its 8-byte header).
    max_size = std::max<std::size_t>(max_size, 1);
    gil_release release;
    with_setup_errors(
        [&]
        { self.emplace_reader<recv::tcp_reader>(resolve_host(bind_hostname), port, max_size, buffer_size); });
}

void add_tcp_reader_acceptor(recv::stream &self, tcp_socket_arg acceptor, std::size_t max_size)
{
    max_size = std::max<std::size_t>(max_size, 1); // as in add_tcp_reader_port
    gil_release release;
    with_setup_errors([&] { self.emplace_reader<recv::tcp_reader>(acceptor.fd, max_size); });
}

#if SPEAD2_USE_PCAP
/**
 * spead2 raises RuntimeError with libpcap's own message when a capture cannot be opened, names
 * the link type it wants, and raises RuntimeError for a bad filter too; the C++ reader's messages
 * say more (file name, link type number) and a bad filter is its invalid_argument.
 */
[[noreturn]] void raise_pcap_open_error(const std::string &filename)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *handle = pcap_open_offline(filename.c_str(), errbuf);
    if (!handle)
        throw std::runtime_error(errbuf);
    const int link = pcap_datalink(handle);
    pcap_close(handle);
    if (link != DLT_EN10MB && link != DLT_LINUX_SLL && link != DLT_LINUX_SLL2)
        throw std::runtime_error("pcap linktype is neither ethernet nor linux sll");
    throw; // something else: the reader's own message
}

void add_udp_pcap_file_reader(recv::stream &self, const std::string &filename, const std::string &filter)
{
    gil_release release;
    try
    {
        self.emplace_reader<recv::udp_pcap_file_reader>(filename, filter);
    }
    catch (const std::invalid_argument &e)
    {
        throw std::runtime_error(e.what()); // the filter did not compile
    }
    catch (const std::runtime_error &)
    {
        raise_pcap_open_error(filename);
    }
}
#endif

} // anonymous namespace

stream_extras &get_extras(recv::stream &s)
{
    auto *extras = dynamic_cast<stream_extras *>(&s);
    if (!extras)
    {
        // Chunk stream group members are created by the group, which keeps their buffers.
        if (auto *member = dynamic_cast<recv::chunk_stream_group_member *>(&s))
            extras = dynamic_cast<stream_extras *>(&member->get_group());
    }
    if (!extras)
        throw std::logic_error("stream is not a Python stream");
    return *extras;
}

void bind_recv_streams(nb::module_ &m)
{
    nb::class_<recv::stream> base(m, "_Stream", nb::is_weak_referenceable(),
                                  "Base class of the receive streams: readers, start/stop, stats.");
    base.def("add_buffer_reader", &add_buffer_reader, "buffer"_a,
             nb::sig("def add_buffer_reader(self, buffer: collections.abc.Buffer) -> None"),
             "Read packets from a C-contiguous buffer (kept alive by the stream); the stream stops at "
             "its end.")
        .def("add_inproc_reader", &add_inproc_reader, "queue"_a, "Read packets from an InprocQueue.")
        .def("add_udp_reader", &add_udp_reader_port, "port"_a,
             "max_size"_a = recv::udp_reader::default_max_size,
             "buffer_size"_a = recv::udp_reader::default_buffer_size, "bind_hostname"_a = "",
             "Receive UDP on a port (bind_hostname: a multicast group is joined).")
        .def("add_udp_reader", &add_udp_reader_socket, "socket"_a,
             "max_size"_a = recv::udp_reader::default_max_size,
             "Receive on a bound UDP socket (duplicated, so the caller may close it).")
        .def("add_udp_reader", &add_udp_reader_interface_address, "multicast_group"_a, "port"_a,
             "max_size"_a = recv::udp_reader::default_max_size,
             "buffer_size"_a = recv::udp_reader::default_buffer_size, "interface_address"_a = "0.0.0.0",
             "Receive IPv4 multicast (or unicast to the interface's address) on an interface.")
        .def("add_udp_reader", &add_udp_reader_interface_index, "multicast_group"_a, "port"_a,
             "max_size"_a = recv::udp_reader::default_max_size,
             "buffer_size"_a = recv::udp_reader::default_buffer_size, "interface_index"_a = 0u,
             "Receive IPv6 multicast on the interface with this index.")
        .def("add_tcp_reader", &add_tcp_reader_port, "port"_a,
             "max_size"_a = recv::tcp_reader::default_max_size,
             "buffer_size"_a = recv::tcp_reader::default_buffer_size, "bind_hostname"_a = "",
             "Listen on a port and accept one connection; the stream stops when the peer closes it.")
        .def("add_tcp_reader", &add_tcp_reader_acceptor, "acceptor"_a,
             "max_size"_a = recv::tcp_reader::default_max_size,
             "Accept one connection on a listening socket (duplicated).")
#if SPEAD2_USE_XDP
        .def(
            "add_udp_xdp_reader",
            [](recv::stream &self, const recv::udp_xdp_config &config)
            {
                gil_release release;
                self.emplace_reader<recv::udp_xdp_reader>(config);
            },
            "config"_a, "Receive through AF_XDP (kernel bypass; needs CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW).")
#endif
        .def(
            "add_udp_ibv_reader",
            [](recv::stream &self, const recv::udp_ibv_config &config)
            {
                gil_release release;
                self.emplace_reader<recv::udp_ibv_reader>(config);
            },
            "config"_a,
            "Receive through ibverbs: a raw-packet queue pair with a flow rule per endpoint (rdma-core "
            "is loaded at first use; needs CAP_NET_RAW).")
#if SPEAD2_USE_PCAP
        .def("add_udp_pcap_file_reader", &add_udp_pcap_file_reader, "filename"_a, "filter"_a = "",
             "Replay the UDP packets of a capture file; the stream stops at its end.")
#endif
        .def(
            "start",
            [](recv::stream &s)
            {
                gil_release release;
                with_setup_errors([&] { s.start(); }); // readers bind here with explicit_start
            },
            "Start the readers (with explicit_start).")
        .def(
            "stop",
            [](recv::stream &s)
            {
                gil_release release;
                s.stop();
            },
            "Stop the stream; idempotent.")
        .def_prop_ro("stats", &recv::stream::get_stats)
        .def_prop_ro("config", [](const recv::stream &s) { return s.get_config(); });
    def_constant(base, "DEFAULT_UDP_MAX_SIZE", recv::udp_reader::default_max_size);
    def_constant(base, "DEFAULT_UDP_BUFFER_SIZE", recv::udp_reader::default_buffer_size);
    def_constant(base, "DEFAULT_TCP_MAX_SIZE", recv::tcp_reader::default_max_size);
    def_constant(base, "DEFAULT_TCP_BUFFER_SIZE", recv::tcp_reader::default_buffer_size);

    nb::class_<ring_stream_wrapper, recv::stream> cls(m, "Stream", nb::is_weak_referenceable(),
                                                      "A stream that delivers heaps through a ringbuffer.");
    nb::class_<heap_ringbuffer>(cls, "Ringbuffer", nb::is_weak_referenceable(),
                                "The stream's ringbuffer of heaps.")
        .def("size", &heap_ringbuffer::size)
        .def("capacity", &heap_ringbuffer::capacity);
    cls.def(
           "__init__",
           [](ring_stream_wrapper *self, std::shared_ptr<thread_pool_wrapper> thread_pool,
              const recv::stream_config &config, const recv::ring_stream_config &ring_config)
           { new (self) ring_stream_wrapper(make_io_context(std::move(thread_pool)), config, ring_config); },
           "thread_pool"_a, "config"_a = recv::stream_config(), "ring_config"_a = recv::ring_stream_config())
        .def("get", &stream_get,
             "The next heap (Heap or IncompleteHeap), waiting if needed. Raises spead2.Stopped once the "
             "stream has stopped and is drained.")
        .def("get_nowait", &stream_get_nowait, "The next heap; raises spead2.Empty if there is none yet.")
        .def("__iter__", [](nb::handle self) { return nb::borrow(self); })
        .def("__next__", &stream_next)
        .def_prop_ro("fd",
                     [](const ring_stream_wrapper &s) { return s.get_ringbuffer().get_data_sem().get_fd(); })
        .def_prop_ro(
            "ringbuffer", [](ring_stream_wrapper &s) -> heap_ringbuffer & { return s.get_ringbuffer(); },
            nb::rv_policy::reference_internal)
        .def_prop_ro("ring_config", [](const ring_stream_wrapper &s) { return s.get_ring_config(); });
}

} // namespace spead2::python
