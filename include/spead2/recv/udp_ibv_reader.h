// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// ibverbs receive (spec §2.1): its configuration, with spead2's validation. The verbs transport
/// itself is not implemented yet: constructing a reader checks the configuration and that
/// rdma-core can be loaded, then says so.
#ifndef SPEAD2_RECV_UDP_IBV_READER_H
#define SPEAD2_RECV_UDP_IBV_READER_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>
#include <spead2/recv/reader.h>

namespace spead2::recv
{

/**
 * What an ibverbs reader listens to: endpoints ((address, port) pairs: IPv4 multicast groups or
 * unicast addresses of the interface), the interface by its IPv4 address, the receive buffer,
 * the largest packet, the completion vector (negative: no interrupts, busy polling) and the polls
 * before sleeping. As in spead2, endpoints and the interface address are checked when a reader
 * is made, not when they are set. Setters return *this.
 */
class udp_ibv_config
{
public:
    static constexpr std::size_t default_buffer_size = 16 * 1024 * 1024;
    static constexpr std::size_t default_max_size = 9200;
    static constexpr int default_max_poll = 10;

private:
    std::vector<std::pair<std::string, std::uint16_t>> endpoints;
    std::string interface_address;
    std::size_t buffer_size = default_buffer_size;
    std::size_t max_size = default_max_size;
    int comp_vector = 0;
    int max_poll = default_max_poll;

public:
    const std::vector<std::pair<std::string, std::uint16_t>> &get_endpoints() const { return endpoints; }
    udp_ibv_config &set_endpoints(const std::vector<std::pair<std::string, std::uint16_t>> &endpoints);
    udp_ibv_config &add_endpoint(const std::string &address, std::uint16_t port);
    const std::string &get_interface_address() const { return interface_address; }
    udp_ibv_config &set_interface_address(const std::string &address);
    std::size_t get_buffer_size() const { return buffer_size; }
    /// 0 means default_buffer_size.
    udp_ibv_config &set_buffer_size(std::size_t size);
    std::size_t get_max_size() const { return max_size; }
    /// @throws std::invalid_argument "max_size must be positive" for 0
    udp_ibv_config &set_max_size(std::size_t size);
    int get_comp_vector() const { return comp_vector; }
    udp_ibv_config &set_comp_vector(int comp_vector);
    int get_max_poll() const { return max_poll; }
    /// @throws std::invalid_argument "max_poll must be at least 1" below 1
    udp_ibv_config &set_max_poll(int max_poll);
};

/**
 * An ibverbs reader. Not implemented yet: the constructor checks @a config as spead2 does
 * (std::invalid_argument "endpoints is empty", "interface address has not been specified"),
 * then that rdma-core loads (std::runtime_error "ibverbs support needs libibverbs.so.1: ..."),
 * then throws std::runtime_error saying the transport is not available in this version.
 */
class udp_ibv_reader : public reader
{
public:
    udp_ibv_reader(stream &owner, const udp_ibv_config &config);
    void stop() override {}
    bool lossy() const override { return true; }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_UDP_IBV_READER_H
