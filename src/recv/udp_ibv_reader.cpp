// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// ibverbs receive: configuration and the checks made before a reader exists.
#include <stdexcept>
#include <spead2/recv/udp_ibv_reader.h>
#include "os/ibverbs_library.h"

namespace spead2::recv
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

udp_ibv_config &udp_ibv_config::set_max_size(std::size_t size)
{
    if (size == 0)
        throw std::invalid_argument("max_size must be positive");
    max_size = size;
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

udp_ibv_reader::udp_ibv_reader(stream &owner, const udp_ibv_config &config)
    : reader(owner)
{
    if (config.get_endpoints().empty())
        throw std::invalid_argument("endpoints is empty");
    if (config.get_interface_address().empty())
        throw std::invalid_argument("interface address has not been specified");
    spead2::detail::require_ibverbs();
    throw std::runtime_error("the ibverbs transport is not available in this version of spead2 (use AF_XDP: "
                             "add_udp_xdp_reader)");
}

} // namespace spead2::recv
