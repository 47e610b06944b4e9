// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// ibverbs send (API.md §3.1): frames built by the raw-frame layer and posted to a raw-packet queue
/// pair, with rdma-core loaded at run time.
#ifndef SPEAD2_SEND_UDP_IBV_STREAM_H
#define SPEAD2_SEND_UDP_IBV_STREAM_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>
#include <spead2/common/io_context_ref.h>
#include <spead2/common/udp_ibv_config_base.h>
#include <spead2/send/stream.h>
#include <spead2/send/stream_config.h>

namespace spead2::send
{

/**
 * Where an ibverbs stream sends: endpoints (IPv4 multicast groups, one per substream), the
 * interface, the send buffer, the completion vector and the polls before sleeping (see the base),
 * the TTL and memory regions to register for zero-copy heaps.
 */
class udp_ibv_config : public spead2::detail::udp_ibv_config_base<udp_ibv_config, 512 * 1024>
{
public:
    typedef std::pair<const void *, std::size_t> memory_region;

private:
    std::uint8_t ttl = 1;
    std::vector<memory_region> memory_regions;

public:
    std::uint8_t get_ttl() const { return ttl; }
    udp_ibv_config &set_ttl(std::uint8_t ttl);
    const std::vector<memory_region> &get_memory_regions() const { return memory_regions; }
    udp_ibv_config &set_memory_regions(const std::vector<memory_region> &regions);
    udp_ibv_config &add_memory_region(const void *ptr, std::size_t size);
};

/**
 * Sends through ibverbs: each packet becomes one Ethernet/IPv4/UDP frame (UDP checksum 0) in a
 * registered send slot (Ethernet header + MTU bytes; the buffer split into as many as the device
 * allows), posted to a raw-packet queue pair. Pieces of a heap that lie in one of the config's
 * memory regions are sent from where they are (zero copy); such a batch completes only when the
 * device has read them. With RateMethod.HW the NIC paces the queue pair at the config's rate where
 * it can (the rate then counts whole frames, headers included); otherwise rate limiting is in
 * software.
 *
 * Endpoints must be IPv4 multicast groups, as in spead2. Needs CAP_NET_RAW. The constructor checks
 * @a ibv_config as spead2 does (std::invalid_argument "endpoints is empty", "endpoint is not an
 * IPv4 multicast address", "interface address has not been specified"), then loads rdma-core
 * (std::runtime_error "ibverbs support needs libibverbs.so.1: ...") and sets the device up
 * (std::runtime_error naming the verbs call that failed).
 */
class udp_ibv_stream : public stream
{
public:
    udp_ibv_stream(io_context_ref io_context, const stream_config &config, const udp_ibv_config &ibv_config);
};

} // namespace spead2::send

#endif // SPEAD2_SEND_UDP_IBV_STREAM_H
