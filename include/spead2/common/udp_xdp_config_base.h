// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// What the AF_XDP receive and send configurations share.
#ifndef SPEAD2_COMMON_UDP_XDP_CONFIG_BASE_H
#define SPEAD2_COMMON_UDP_XDP_CONFIG_BASE_H

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <spead2/common/xdp_mode.h>

namespace spead2::detail
{

/// @throws std::invalid_argument "<what> is not an IPv4 address: <address>" (host names resolve)
void check_ipv4_address(const std::string &address, const char *what);

/**
 * Endpoints ((IPv4 address, port) pairs), the interface by one of its IPv4 addresses, the UMEM
 * size and the copy mode. Unlike the ibverbs configurations, setters validate at once. They return
 * the derived configuration, so that calls chain.
 */
template<typename Derived, std::size_t DefaultBufferSize>
class udp_xdp_config_base
{
public:
    using copy_mode = spead2::xdp_copy_mode;
    static constexpr std::size_t default_buffer_size = DefaultBufferSize;

private:
    std::vector<std::pair<std::string, std::uint16_t>> endpoints;
    std::string interface_address;
    std::size_t buffer_size = default_buffer_size;
    copy_mode copy = copy_mode::automatic;

    Derived &self() { return static_cast<Derived &>(*this); }

public:
    const std::vector<std::pair<std::string, std::uint16_t>> &get_endpoints() const { return endpoints; }
    /// Replaces the endpoints. @throws std::invalid_argument for an address that is not IPv4
    Derived &set_endpoints(const std::vector<std::pair<std::string, std::uint16_t>> &value)
    {
        for (const auto &endpoint : value)
            check_ipv4_address(endpoint.first, "endpoint");
        endpoints = value;
        return self();
    }
    /// @throws std::invalid_argument for an address that is not IPv4
    Derived &add_endpoint(const std::string &address, std::uint16_t port)
    {
        check_ipv4_address(address, "endpoint");
        endpoints.emplace_back(address, port);
        return self();
    }

    const std::string &get_interface_address() const { return interface_address; }
    /// @throws std::invalid_argument if not an IPv4 address
    Derived &set_interface_address(const std::string &address)
    {
        check_ipv4_address(address, "interface address");
        interface_address = address;
        return self();
    }

    std::size_t get_buffer_size() const { return buffer_size; }
    /// Bytes of UMEM (frames of 4 KiB, at least 64). @throws std::invalid_argument if 0
    Derived &set_buffer_size(std::size_t size)
    {
        if (size == 0)
            throw std::invalid_argument("buffer_size must be positive");
        buffer_size = size;
        return self();
    }

    copy_mode get_copy_mode() const { return copy; }
    Derived &set_copy_mode(copy_mode mode)
    {
        copy = mode;
        return self();
    }
};

} // namespace spead2::detail

#endif // SPEAD2_COMMON_UDP_XDP_CONFIG_BASE_H
