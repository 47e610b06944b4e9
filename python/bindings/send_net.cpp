// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Bindings of the synchronous network send streams: spead2._spead2.send.UdpStream and TcpStream.

#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>
#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/vector.h>
#include <spead2/common/io_context_ref.h>
#include <spead2/send/udp_ibv_stream.h>
#include <spead2/send/stream_config.h>
#include <spead2/send/tcp_stream.h>
#include <spead2/send/udp_stream.h>
#include <spead2/send/udp_xdp_stream.h>
#include "bindings_util.h"
#include "ibv_bindings.h"
#include "gil.h"
#include "net_bindings.h"
#include "os/udp_resolve.h"
#include "send_bindings.h"
#include "send_sync.h"
#include "udp_stream_bindings.h"
#include "string_caster.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace spead2::python
{

std::string resolve_host(const std::string &host)
{
    if (host.empty())
        return host;
    std::error_code ec;
    (void)asio::ip::make_address(host, ec);
    if (!ec)
        return host;
    return spead2::detail::resolve_address(host).to_string();
}

endpoint_list resolve_endpoints(const endpoint_list &endpoints)
{
    endpoint_list out;
    out.reserve(endpoints.size());
    for (const auto &[host, port] : endpoints)
        out.emplace_back(resolve_host(host), port);
    return out;
}

void check_bind_family(const endpoint_list &endpoints, const std::string &interface_address)
{
    if (endpoints.size() != 1 || interface_address.empty())
        return;
    std::error_code ec1, ec2;
    asio::ip::address endpoint = asio::ip::make_address(endpoints[0].first, ec1);
    asio::ip::address interface = asio::ip::make_address(interface_address, ec2);
    if (!ec1 && !ec2 && endpoint.is_v4() != interface.is_v4())
        throw std::system_error(EAFNOSUPPORT, std::system_category(), "bind");
}

namespace
{

/// spead2.send.UdpStream.
class udp_stream_wrapper : public sync_stream<send::udp_stream>
{
public:
    using sync_stream<send::udp_stream>::sync_stream;
};

/// The outcome of a connection attempt, filled in on an io_context thread.
struct connect_state
{
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    std::error_code ec;

    void set(const std::error_code &e)
    {
        std::lock_guard<std::mutex> lock(mutex);
        ec = e;
        done = true;
        cv.notify_all();
    }

    std::error_code wait()
    {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [this] { return done; });
        return ec;
    }
};

/// Thrown (not a std::system_error, so with_setup_errors lets it through) when connecting fails.
struct connect_failed
{
    std::error_code ec;
};

/// Built before the stream so that the stream's connect handler can refer to it.
struct connect_state_holder
{
    std::shared_ptr<connect_state> state = std::make_shared<connect_state>();
};

/**
 * spead2.send.TcpStream. The connecting form connects asynchronously and waits for the outcome
 * (call it with the GIL released), so that a failed connection raises OSError with the errno
 * (ConnectionRefusedError...) while failures to set the socket up raise RuntimeError, as in spead2.
 */
class tcp_stream_wrapper : private connect_state_holder, public sync_stream<send::tcp_stream>
{
public:
    tcp_stream_wrapper(io_context_ref io_context, const endpoint_list &endpoints,
                       const send::stream_config &config, std::size_t buffer_size,
                       const std::string &interface_address)
        : sync_stream<send::tcp_stream>(
              std::in_place, std::move(io_context),
              [state = state](const std::error_code &ec) { state->set(ec); }, endpoints, config, buffer_size,
              interface_address)
    {
        std::error_code ec = state->wait();
        if (ec)
            throw connect_failed{ec}; // the bases are destroyed (and unregistered) on the way out
    }

    tcp_stream_wrapper(io_context_ref io_context, int fd, const send::stream_config &config)
        : sync_stream<send::tcp_stream>(std::in_place, std::move(io_context), fd, config)
    {
    }
};

/// spead2.send.UdpIbvStream (the constructor raises: see send::udp_ibv_stream).
class udp_ibv_stream_wrapper : public sync_stream<send::udp_ibv_stream>
{
public:
    using sync_stream<send::udp_ibv_stream>::sync_stream;
};

#if SPEAD2_USE_XDP
/// spead2.send.UdpXdpStream.
class udp_xdp_stream_wrapper : public sync_stream<send::udp_xdp_stream>
{
public:
    using sync_stream<send::udp_xdp_stream>::sync_stream;
};
#endif

} // anonymous namespace

void bind_send_net(nb::module_ &m)
{
    using ibv = udp_ibv_stream_wrapper;
    auto ibv_cls = nb::class_<ibv, send::stream>(
        m, "UdpIbvStream",
        "A stream that sends through ibverbs: a raw-packet queue pair on the NIC behind the "
        "interface address (rdma-core is loaded at first use; needs CAP_NET_RAW).");
    ibv_cls.def(
        "__init__",
        [](ibv *self, std::shared_ptr<thread_pool_wrapper> tp, const send::stream_config &config,
           const py_send_ibv_config &ibv_config)
        {
            gil_release release;
            with_setup_errors([&]
                              { new (self) ibv(std::in_place, make_io_context(tp), config, ibv_config); });
        },
        "thread_pool"_a, "config"_a, "udp_ibv_config"_a);
    add_sync_send_methods<ibv>(ibv_cls);

#if SPEAD2_USE_XDP
    using xdp = udp_xdp_stream_wrapper;
    auto xdp_cls =
        nb::class_<xdp, send::stream>(m, "UdpXdpStream",
                                      "A stream that sends each packet as an Ethernet frame through "
                                      "AF_XDP (kernel bypass; needs CAP_NET_RAW).");
    xdp_cls.def(
        "__init__",
        [](xdp *self, std::shared_ptr<thread_pool_wrapper> tp, const send::stream_config &config,
           const send::udp_xdp_config &xdp_config)
        {
            gil_release release;
            with_setup_errors([&]
                              { new (self) xdp(std::in_place, make_io_context(tp), config, xdp_config); });
        },
        "thread_pool"_a, "config"_a, "udp_xdp_config"_a);
    add_sync_send_methods<xdp>(xdp_cls);
#endif

    using udp = udp_stream_wrapper;
    auto udp_cls = nb::class_<udp, send::stream>(m, "UdpStream",
                                                 "A stream that sends each packet as a UDP datagram, to one "
                                                 "(host, port) endpoint per substream.");
    def_udp_stream_constructors<udp>(udp_cls,
                                     [](udp *self, auto &&...args) {
                                         new (self) udp(std::in_place, std::forward<decltype(args)>(args)...);
                                     });
    add_sync_send_methods<udp>(udp_cls);

    using tcp = tcp_stream_wrapper;
    auto tcp_cls = nb::class_<tcp, send::stream>(m, "TcpStream",
                                                 "A stream that sends packets back to back over one TCP "
                                                 "connection.");
    tcp_cls
        .def(
            "__init__",
            [](tcp *self, std::shared_ptr<thread_pool_wrapper> tp, tcp_socket_arg socket,
               const send::stream_config &config)
            {
                gil_release release;
                with_setup_errors([&] { new (self) tcp(make_io_context(tp), socket.fd, config); });
            },
            "thread_pool"_a, "socket"_a, "config"_a = send::stream_config(),
            "Send over a connected socket (which is duplicated).")
        .def(
            "__init__",
            [](tcp *self, std::shared_ptr<thread_pool_wrapper> tp, const endpoint_list &endpoints,
               const send::stream_config &config, std::size_t buffer_size,
               const std::string &interface_address)
            {
                std::error_code connect_error;
                {
                    gil_release release;
                    try
                    {
                        with_setup_errors(
                            [&]
                            {
                                // Resolve only a single endpoint: a wrong count is the C++ class's
                                // ValueError.
                                endpoint_list resolved =
                                    endpoints.size() == 1 ? resolve_endpoints(endpoints) : endpoints;
                                std::string interface = resolve_host(interface_address);
                                check_bind_family(resolved, interface);
                                new (self) tcp(make_io_context(tp), resolved, config, buffer_size, interface);
                            });
                    }
                    catch (const connect_failed &e)
                    {
                        connect_error = e.ec;
                    }
                }
                if (connect_error)
                    raise_send_error(connect_error);
            },
            "thread_pool"_a, "endpoints"_a, "config"_a = send::stream_config(),
            "buffer_size"_a = send::tcp_stream::default_buffer_size, "interface_address"_a = "",
            "Connect to the single endpoint (blocking). Raises OSError if the connection fails.");
    def_constant(tcp_cls, "DEFAULT_BUFFER_SIZE", send::tcp_stream::default_buffer_size);
    add_sync_send_methods<tcp>(tcp_cls);
}

} // namespace spead2::python
