// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// ibverbs send: configuration and the checks made before a stream exists.
#include <stdexcept>
#include <asio/ip/address.hpp>
#include <spead2/send/udp_ibv_stream.h>
#include <spead2/send/writer.h>
#include "os/ibverbs_library.h"

namespace spead2::send
{

udp_ibv_config &udp_ibv_config::set_endpoints(const std::vector<std::pair<std::string, std::uint16_t>> &value)
{
    endpoints = value;
    return *this;
}

udp_ibv_config &udp_ibv_config::add_endpoint(const std::string &address, std::uint16_t port)
{
    endpoints.emplace_back(address, port);
    return *this;
}

udp_ibv_config &udp_ibv_config::set_interface_address(const std::string &address)
{
    interface_address = address;
    return *this;
}

udp_ibv_config &udp_ibv_config::set_buffer_size(std::size_t size)
{
    buffer_size = size ? size : default_buffer_size;
    return *this;
}

udp_ibv_config &udp_ibv_config::set_ttl(std::uint8_t value)
{
    ttl = value;
    return *this;
}

udp_ibv_config &udp_ibv_config::set_comp_vector(int value)
{
    comp_vector = value;
    return *this;
}

udp_ibv_config &udp_ibv_config::set_max_poll(int value)
{
    if (value < 1)
        throw std::invalid_argument("max_poll must be at least 1");
    max_poll = value;
    return *this;
}

udp_ibv_config &udp_ibv_config::set_memory_regions(const std::vector<memory_region> &regions)
{
    memory_regions = regions;
    return *this;
}

udp_ibv_config &udp_ibv_config::add_memory_region(const void *ptr, std::size_t size)
{
    memory_regions.emplace_back(ptr, size);
    return *this;
}

namespace
{

std::unique_ptr<writer> make_ibv_writer(const udp_ibv_config &config)
{
    if (config.get_endpoints().empty())
        throw std::invalid_argument("endpoints is empty");
    for (const auto &[host, port] : config.get_endpoints())
    {
        asio::error_code ec;
        const asio::ip::address address = asio::ip::make_address(host, ec);
        if (ec || !address.is_v4() || !address.is_multicast())
            throw std::invalid_argument("endpoint is not an IPv4 multicast address");
    }
    if (config.get_interface_address().empty())
        throw std::invalid_argument("interface address has not been specified");
    spead2::detail::require_ibverbs();
    throw std::runtime_error("the ibverbs transport is not available in this version of spead2 (use AF_XDP: "
                             "UdpXdpStream)");
}

} // namespace

udp_ibv_stream::udp_ibv_stream(io_context_ref, const stream_config &, const udp_ibv_config &ibv_config)
    : stream(make_ibv_writer(ibv_config))
{
}

} // namespace spead2::send
