// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A send stream over kernel UDP sockets.
#ifndef SPEAD2_SEND_UDP_STREAM_H
#define SPEAD2_SEND_UDP_STREAM_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>
#include <spead2/common/io_context_ref.h>
#include <spead2/send/stream.h>

// Asio types are only named here (the header does not include Asio); callers of the endpoint
// overloads include <asio.hpp> themselves.
namespace asio::ip
{
template<typename InternetProtocol>
class basic_endpoint;
class udp;
class address;
} // namespace asio::ip

namespace spead2::send
{

/**
 * Sends each packet as one UDP datagram to the endpoint of its substream (one endpoint per
 * substream). Packets go out in batches of up to 64 with sendmmsg; with UDP GSO, consecutive
 * packets of a batch for the same endpoint and of the same size (the last may be shorter) are
 * handed to the kernel as one message. GSO is tried while it works: if a GSO send fails it is
 * retried without; if that succeeds GSO is switched off for the stream, otherwise the error
 * stands and GSO stays on (API.md §3.1). A packet the kernel refuses (e.g. EMSGSIZE for one over
 * 65507 bytes) completes its heap with that error.
 *
 * Endpoints are (host, port) pairs; hosts may be names (resolved here). All must be of one
 * family.
 *
 * Threads and lifetime: as for stream.
 *
 * @throws std::invalid_argument for bad endpoint lists and addresses (messages as in spead2);
 * std::system_error for unresolvable names ("resolve: Host not found ...") and failing socket calls
 */
class udp_stream : public stream
{
public:
    static constexpr std::size_t default_buffer_size = 524288;

    typedef std::pair<std::string, std::uint16_t> endpoint_spec;
    typedef asio::ip::basic_endpoint<asio::ip::udp> asio_endpoint;

    /// A socket owned by the caller, to be duplicated (see the constructor that takes it).
    struct socket_fd
    {
        int fd;
    };

    /**
     * Unicast or multicast with default options. A non-empty @a interface_address binds the
     * socket's source address to it. @a buffer_size 0 keeps the OS default.
     * @throws std::invalid_argument "Endpoint list must be non-empty", "Endpoint does not match
     * protocol of the socket"
     */
    udp_stream(io_context_ref io_context, const std::vector<endpoint_spec> &endpoints,
               const stream_config &config = stream_config(), std::size_t buffer_size = default_buffer_size,
               const std::string &interface_address = "");

    /// Multicast with @a ttl. @throws std::invalid_argument "endpoint is not a multicast address"
    udp_stream(io_context_ref io_context, const std::vector<endpoint_spec> &endpoints,
               const stream_config &config, std::size_t buffer_size, int ttl);

    /**
     * IPv4 multicast with @a ttl out of the interface with address @a interface_address
     * (IP_MULTICAST_IF). @throws std::invalid_argument "endpoint is not an IPv4 multicast
     * address", "interface address is not an IPv4 address"
     */
    udp_stream(io_context_ref io_context, const std::vector<endpoint_spec> &endpoints,
               const stream_config &config, std::size_t buffer_size, int ttl,
               const std::string &interface_address);

    /**
     * IPv6 multicast with @a ttl out of interface @a interface_index.
     * @throws std::invalid_argument "endpoint is not an IPv6 multicast address"
     */
    udp_stream(io_context_ref io_context, const std::vector<endpoint_spec> &endpoints,
               const stream_config &config, std::size_t buffer_size, int ttl, unsigned int interface_index);

    /**
     * Sends through a duplicate of the caller's socket (not connected; options are the
     * caller's business, so it may close its own descriptor).
     * @throws std::invalid_argument "Endpoint does not match protocol of the socket"
     */
    udp_stream(io_context_ref io_context, socket_fd socket, const std::vector<endpoint_spec> &endpoints,
               const stream_config &config = stream_config());

    /// The forms above, for callers using Asio endpoints and addresses (as spead2's take them).
    udp_stream(io_context_ref io_context, const std::vector<asio_endpoint> &endpoints,
               const stream_config &config = stream_config(), std::size_t buffer_size = default_buffer_size,
               const std::string &interface_address = "");
    udp_stream(io_context_ref io_context, const std::vector<asio_endpoint> &endpoints,
               const stream_config &config, std::size_t buffer_size,
               const asio::ip::address &interface_address);
    udp_stream(io_context_ref io_context, const std::vector<asio_endpoint> &endpoints,
               const stream_config &config, std::size_t buffer_size, int ttl);
    udp_stream(io_context_ref io_context, const std::vector<asio_endpoint> &endpoints,
               const stream_config &config, std::size_t buffer_size, int ttl,
               const asio::ip::address &interface_address);
    udp_stream(io_context_ref io_context, const std::vector<asio_endpoint> &endpoints,
               const stream_config &config, std::size_t buffer_size, int ttl, unsigned int interface_index);
};

} // namespace spead2::send

#endif // SPEAD2_SEND_UDP_STREAM_H
