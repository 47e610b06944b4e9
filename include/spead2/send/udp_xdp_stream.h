// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A kernel-bypass sender: AF_XDP on any Linux NIC (only when built with SPEAD2_USE_XDP).
#ifndef SPEAD2_SEND_UDP_XDP_STREAM_H
#define SPEAD2_SEND_UDP_XDP_STREAM_H

#include <spead2/features.h>
#if SPEAD2_USE_XDP

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>
#include <spead2/common/udp_xdp_config_base.h>
#include <spead2/send/stream.h>

namespace spead2::send
{

/**
 * Where a udp_xdp_stream sends and how, in the shape of spead2's udp_ibv_config: destination
 * endpoints (IPv4 unicast or multicast, one per substream), the interface (also the source
 * address), the UMEM size and the copy mode (see the base), the TTL and the queue. Setters validate
 * and return *this.
 */
class udp_xdp_config : public spead2::detail::udp_xdp_config_base<udp_xdp_config, 4 * 1024 * 1024>
{
private:
    std::uint8_t ttl = 1;
    std::uint32_t queue_id = 0;

public:
    std::uint8_t get_ttl() const { return ttl; }
    udp_xdp_config &set_ttl(std::uint8_t ttl);

    std::uint32_t get_queue_id() const { return queue_id; }
    udp_xdp_config &set_queue_id(std::uint32_t queue);
};

/**
 * Sends each packet as one Ethernet/IPv4/UDP frame through an AF_XDP socket on one queue of an
 * interface: headers built by the raw-frame layer (IPv4 checksum set, UDP checksum 0, don't
 * fragment), payload copied into the socket's frames, so a heap completes as soon as its packets
 * are queued. The source address is the interface's; the source port is reserved from the kernel
 * with a bound UDP socket, so replies and ICMP errors have somewhere to go. Destination MAC
 * addresses are found at construction (multicast: from the group; unicast: from the neighbour
 * table, resolved if needed). Rate limiting as for every stream. Packets larger than the
 * interface's MTU allows (less 28 bytes of IPv4 and UDP headers; at most 4096 bytes a frame)
 * fail their heap with EMSGSIZE.
 *
 * Needs CAP_NET_RAW (or root). Threads and lifetime: as for stream.
 *
 * @throws std::invalid_argument for a bad config; std::runtime_error if AF_XDP cannot be set up
 * or a destination's MAC address cannot be found
 */
class udp_xdp_stream : public stream
{
public:
    udp_xdp_stream(io_context_ref io_context, const stream_config &config, const udp_xdp_config &xdp_config);
};

} // namespace spead2::send

#endif // SPEAD2_USE_XDP
#endif // SPEAD2_SEND_UDP_XDP_STREAM_H
