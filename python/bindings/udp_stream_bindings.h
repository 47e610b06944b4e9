// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: the constructors of UdpStream, shared by the blocking class
/// (send_net.cpp) and the asyncio one (send_asyncio.cpp), which differ only in how they build the
/// C++ stream.
#ifndef SPEAD2_PYTHON_UDP_STREAM_BINDINGS_H
#define SPEAD2_PYTHON_UDP_STREAM_BINDINGS_H

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <nanobind/nanobind.h>
#include <spead2/send/stream_config.h>
#include <spead2/send/udp_stream.h>
#include "bindings_util.h"
#include "common.h"
#include "gil.h"
#include "net_bindings.h"

namespace spead2::python
{

/**
 * Adds UdpStream's five constructors to @a cls. `construct(self, io_context, args...)` builds
 * the stream in place from the send::udp_stream constructor arguments that follow the
 * io_context. Names are resolved and sockets set up without the GIL; setup failures are
 * RuntimeError, as in spead2.
 */
template<typename T, typename Cls, typename Construct>
void def_udp_stream_constructors(Cls &cls, Construct construct)
{
    using namespace nanobind::literals;
    using thread_pool_ptr = std::shared_ptr<thread_pool_wrapper>;
    const auto setup = [](auto &&f)
    {
        gil_release release;
        with_setup_errors(f);
    };
    cls.def(
           "__init__",
           [=](T *self, thread_pool_ptr tp, const endpoint_list &endpoints, const send::stream_config &config,
               std::size_t buffer_size, const std::string &interface_address)
           {
               setup(
                   [&]
                   {
                       construct(self, make_io_context(tp), resolve_endpoints(endpoints), config, buffer_size,
                                 resolve_host(interface_address));
                   });
           },
           "thread_pool"_a, "endpoints"_a, "config"_a = send::stream_config(),
           "buffer_size"_a = send::udp_stream::default_buffer_size, "interface_address"_a = "")
        .def(
            "__init__",
            [=](T *self, thread_pool_ptr tp, const endpoint_list &endpoints,
                const send::stream_config &config, std::size_t buffer_size, int ttl)
            {
                setup(
                    [&] {
                        construct(self, make_io_context(tp), resolve_endpoints(endpoints), config,
                                  buffer_size, ttl);
                    });
            },
            "thread_pool"_a, "endpoints"_a, "config"_a = send::stream_config(),
            "buffer_size"_a = send::udp_stream::default_buffer_size, "ttl"_a)
        .def(
            "__init__",
            [=](T *self, thread_pool_ptr tp, const endpoint_list &endpoints,
                const send::stream_config &config, std::size_t buffer_size, int ttl,
                const std::string &interface_address)
            {
                setup(
                    [&]
                    {
                        construct(self, make_io_context(tp), resolve_endpoints(endpoints), config,
                                  buffer_size, ttl, resolve_host(interface_address));
                    });
            },
            "thread_pool"_a, "endpoints"_a, "config"_a = send::stream_config(),
            "buffer_size"_a = send::udp_stream::default_buffer_size, "ttl"_a, "interface_address"_a)
        .def(
            "__init__",
            [=](T *self, thread_pool_ptr tp, const endpoint_list &endpoints,
                const send::stream_config &config, std::size_t buffer_size, int ttl,
                unsigned int interface_index)
            {
                try
                {
                    setup(
                        [&]
                        {
                            construct(self, make_io_context(tp), resolve_endpoints(endpoints), config,
                                      buffer_size, ttl, interface_index);
                        });
                }
                catch (const std::invalid_argument &e)
                {
                    // spead2 4.5.1 names the wrong family here; users may match on its message.
                    if (std::string_view(e.what()) == "endpoint is not an IPv6 multicast address")
                        throw std::invalid_argument("endpoint is not an IPv4 multicast address");
                    throw;
                }
            },
            "thread_pool"_a, "endpoints"_a, "config"_a = send::stream_config(),
            "buffer_size"_a = send::udp_stream::default_buffer_size, "ttl"_a, "interface_index"_a)
        .def(
            "__init__",
            [=](T *self, thread_pool_ptr tp, udp_socket_arg socket, const endpoint_list &endpoints,
                const send::stream_config &config)
            {
                setup(
                    [&]
                    {
                        construct(self, make_io_context(tp), send::udp_stream::socket_fd{socket.fd},
                                  resolve_endpoints(endpoints), config);
                    });
            },
            "thread_pool"_a, "socket"_a, "endpoints"_a, "config"_a = send::stream_config());
    def_constant(cls, "DEFAULT_BUFFER_SIZE", send::udp_stream::default_buffer_size);
}

} // namespace spead2::python

#endif // SPEAD2_PYTHON_UDP_STREAM_BINDINGS_H
