// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// What the ibverbs receive and send configurations share (spead2 has the same base).
#ifndef SPEAD2_COMMON_UDP_IBV_CONFIG_BASE_H
#define SPEAD2_COMMON_UDP_IBV_CONFIG_BASE_H

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace spead2::detail
{

/// An Asio endpoint, or anything else with address().to_string() and port().
template<typename Endpoint>
concept endpoint_like = requires(const Endpoint &ep)
{
    ep.address().to_string();
    std::uint16_t(ep.port());
};

/**
 * Endpoints ((address, port) pairs), the interface by its IPv4 address, the buffer size, the
 * completion vector (negative: busy polling, no interrupts) and the polls before sleeping. As in
 * spead2, endpoints and the interface address are checked when a reader or stream is made, not
 * when they are set. Setters return the derived configuration, so that calls chain.
 */
template<typename Derived, std::size_t DefaultBufferSize>
class udp_ibv_config_base
{
public:
    static constexpr std::size_t default_buffer_size = DefaultBufferSize;
    static constexpr int default_max_poll = 10;

private:
    std::vector<std::pair<std::string, std::uint16_t>> endpoints;
    std::string interface_address;
    std::size_t buffer_size = default_buffer_size;
    int comp_vector = 0;
    int max_poll = default_max_poll;

    Derived &self() { return static_cast<Derived &>(*this); }

public:
    const std::vector<std::pair<std::string, std::uint16_t>> &get_endpoints() const { return endpoints; }
    Derived &set_endpoints(const std::vector<std::pair<std::string, std::uint16_t>> &value)
    {
        endpoints = value;
        return self();
    }
    Derived &add_endpoint(const std::string &address, std::uint16_t port)
    {
        endpoints.emplace_back(address, port);
        return self();
    }

    // The same for callers using Asio endpoints and addresses, as spead2 takes them. Templates,
    // so that this header need not include Asio: any endpoint with address() and port() will do.
    template<endpoint_like Endpoint>
    Derived &add_endpoint(const Endpoint &endpoint)
    {
        return add_endpoint(endpoint.address().to_string(), endpoint.port());
    }
    template<endpoint_like Endpoint>
    Derived &set_endpoints(const std::vector<Endpoint> &value)
    {
        endpoints.clear();
        for (const Endpoint &endpoint : value)
            add_endpoint(endpoint);
        return self();
    }

    const std::string &get_interface_address() const { return interface_address; }
    Derived &set_interface_address(const std::string &address)
    {
        interface_address = address;
        return self();
    }
    template<typename Address>
    requires(!std::is_convertible_v<const Address &, std::string> && requires(const Address &a) {
        a.to_string();
    }) Derived &set_interface_address(const Address &address)
    {
        return set_interface_address(address.to_string());
    }

    std::size_t get_buffer_size() const { return buffer_size; }
    /// 0 means default_buffer_size.
    Derived &set_buffer_size(std::size_t size)
    {
        buffer_size = size ? size : default_buffer_size;
        return self();
    }

    int get_comp_vector() const { return comp_vector; }
    Derived &set_comp_vector(int value)
    {
        comp_vector = value;
        return self();
    }

    int get_max_poll() const { return max_poll; }
    /// @throws std::invalid_argument "max_poll must be at least 1" below 1
    Derived &set_max_poll(int value)
    {
        if (value < 1)
            throw std::invalid_argument("max_poll must be at least 1");
        max_poll = value;
        return self();
    }
};

} // namespace spead2::detail

#endif // SPEAD2_COMMON_UDP_IBV_CONFIG_BASE_H
