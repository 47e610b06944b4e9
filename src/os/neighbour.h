// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Interfaces and link-layer addresses for transports that build whole frames: an interface by
/// its IPv4 address, its own MAC address and MTU, and
/// the next hop's, from the kernel's routing and neighbour tables.
#ifndef SPEAD2_OS_NEIGHBOUR_H
#define SPEAD2_OS_NEIGHBOUR_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <spead2/protocol/udp_frame.h>

namespace spead2::detail
{

/// An interface found by one of its IPv4 addresses.
struct network_interface
{
    std::string name;
    unsigned int index = 0;
};

/**
 * The interface that has IPv4 address @a address (host order).
 * @throws std::invalid_argument naming the address if no interface has it
 */
network_interface interface_by_ipv4(std::uint32_t address);

/// The MAC address of interface @a ifname. @throws std::runtime_error
frame::mac_address interface_mac(const std::string &ifname);

/// The MTU of interface @a ifname (the most bytes after the Ethernet header). @throws std::runtime_error
std::size_t interface_mtu(const std::string &ifname);

/**
 * The MAC address to send to IPv4 @a destination (host order) from @a source out of @a ifname:
 * the group's address for multicast; otherwise the next hop's (the destination itself, or the
 * gateway of the most specific route through @a ifname) from the neighbour table. A missing
 * entry is resolved by sending one empty datagram to the next hop's discard port (9) and waiting
 * up to a second.
 * @throws std::runtime_error naming the address if it does not resolve
 */
frame::mac_address next_hop_mac(const std::string &ifname, std::uint32_t source, std::uint32_t destination);

} // namespace spead2::detail

#endif // SPEAD2_OS_NEIGHBOUR_H
