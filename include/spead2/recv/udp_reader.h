// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A reader that receives SPEAD packets from a kernel UDP socket.
#ifndef SPEAD2_RECV_UDP_READER_H
#define SPEAD2_RECV_UDP_READER_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <spead2/recv/reader.h>

// Asio types are only named here (the header does not include Asio); callers that use the
// endpoint overloads include <asio.hpp> themselves.
namespace asio::ip
{
template<typename InternetProtocol>
class basic_endpoint;
class udp;
class address;
class address_v4;
} // namespace asio::ip

namespace spead2::recv
{

/**
 * Receives UDP datagrams, each holding exactly one SPEAD packet, and feeds them to the stream in
 * batches: one batch per recvmmsg call of up to 64 datagrams (a loop of recvmsg where recvmmsg
 * is missing). When the kernel supports UDP GRO the reader asks for coalesced datagrams and
 * splits them at the segment size the kernel reports.
 *
 * Each datagram must decode to exactly its own size (API.md §1.1). Datagrams longer than
 * @a max_size are dropped as truncated; those that do not decode, or decode to a different size,
 * are dropped too. Drops never stop the stream: they are logged at info level (at most once a
 * second) and, if the stream's config has a COUNTER statistic named dropped_stat_name
 * ("udp_dropped"), counted there. Lossy.
 *
 * Addresses are strings: numeric addresses or host names (resolved at construction; an empty
 * string means 0.0.0.0). Overloads taking Asio endpoints exist for C++ callers that use Asio.
 * The socket is created and configured (buffer size, SO_REUSEADDR) in the constructor, but bound
 * (and the multicast group joined) when the reader starts, so a stream with explicit_start
 * binds in start().
 *
 * Threads and lifetime: as for reader. Constructors run inside emplace_reader, with the stream's
 * reader-list lock held (not the stream lock).
 *
 * @throws std::invalid_argument for bad addresses (messages as in spead2);
 * std::system_error if a name does not resolve ("resolve: Host not found ...") or a socket call
 * fails (bind errors such as EADDRINUSE come from start(), hence from emplace_reader or
 * stream::start).
 */
class udp_reader : public reader
{
public:
    static constexpr std::size_t default_max_size = 9200;
    static constexpr std::size_t default_buffer_size = 8 * 1024 * 1024;
    /// Name of the optional custom statistic that counts dropped datagrams.
    static constexpr const char *dropped_stat_name = udp_dropped_stat_name;

    /// A socket owned by the caller, to be duplicated (see the constructor that takes it).
    struct socket_fd
    {
        int fd;
    };

    /**
     * Binds to @a address : @a port. A multicast address is joined (on the default interface)
     * with SO_REUSEADDR set. @a buffer_size 0 keeps the OS default; a kernel cap only logs a
     * warning.
     */
    udp_reader(stream &owner, const std::string &address, std::uint16_t port,
               std::size_t max_size = default_max_size, std::size_t buffer_size = default_buffer_size);

    /**
     * IPv4 with an interface: joins @a multicast_group on the interface with address
     * @a interface_address. A unicast @a multicast_group is accepted only if it equals the
     * interface address; an unspecified one is replaced by the interface address.
     * @throws std::invalid_argument "endpoint is not an IPv4 address", "interface address is not
     * an IPv4 address", "endpoint is not multicast and does not match interface address"
     */
    udp_reader(stream &owner, const std::string &multicast_group, std::uint16_t port, std::size_t max_size,
               std::size_t buffer_size, const std::string &interface_address);

    /**
     * IPv6 multicast on the interface with index @a interface_index (0: the default).
     * @throws std::invalid_argument "endpoint is not an IPv6 multicast address"
     */
    udp_reader(stream &owner, const std::string &multicast_group, std::uint16_t port, std::size_t max_size,
               std::size_t buffer_size, unsigned int interface_index);

    /**
     * Reads from a duplicate of the caller's socket, which must already be bound (the caller may
     * close its own descriptor). No buffer size, multicast or GRO handling.
     * @throws std::invalid_argument if it is not an IPv4/IPv6 socket; std::system_error if dup fails
     */
    udp_reader(stream &owner, socket_fd socket, std::size_t max_size = default_max_size);

    /// As the string forms, for callers using Asio.
    udp_reader(stream &owner, const asio::ip::basic_endpoint<asio::ip::udp> &endpoint,
               std::size_t max_size = default_max_size, std::size_t buffer_size = default_buffer_size);
    udp_reader(stream &owner, const asio::ip::basic_endpoint<asio::ip::udp> &endpoint, std::size_t max_size,
               std::size_t buffer_size, const asio::ip::address_v4 &interface_address);
    udp_reader(stream &owner, const asio::ip::basic_endpoint<asio::ip::udp> &endpoint, std::size_t max_size,
               std::size_t buffer_size, unsigned int interface_index);
    /// As spead2's: @a interface_address must be IPv4 (std::invalid_argument otherwise).
    udp_reader(stream &owner, const asio::ip::basic_endpoint<asio::ip::udp> &endpoint, std::size_t max_size,
               std::size_t buffer_size, const asio::ip::address &interface_address);

    ~udp_reader() override;

    void start() override;
    void stop() override;
    bool lossy() const override { return true; }

    /// Implementation detail (defined in the source file).
    struct impl;

private:
    std::unique_ptr<impl> impl_;

    explicit udp_reader(stream &owner, std::unique_ptr<impl> &&p);
    void enqueue_wait();
    void enqueue_receive();
    void receive_batch(stream_base::add_packet_state &state);
    void process_datagram(stream_base::add_packet_state &state, const std::uint8_t *data, std::size_t length);
    void count_drop(stream_base::add_packet_state &state, std::uint64_t &batch_counter);
};

namespace detail
{

/**
 * The ibverbs reader that replaces a udp_reader for an IPv4 address when the environment variable
 * SPEAD2_IBV_INTERFACE holds an interface address (an interface address in the call wins;
 * SPEAD2_IBV_COMP_VECTOR sets the completion vector), as in spead2; null otherwise.
 */
std::unique_ptr<reader> udp_ibv_override(stream &owner, const std::string &address, std::uint16_t port,
                                         std::size_t max_size = udp_reader::default_max_size,
                                         std::size_t buffer_size = udp_reader::default_buffer_size);
std::unique_ptr<reader> udp_ibv_override(stream &owner, const std::string &address, std::uint16_t port,
                                         std::size_t max_size, std::size_t buffer_size,
                                         const std::string &interface_address);
std::unique_ptr<reader> udp_ibv_override(stream &owner,
                                         const asio::ip::basic_endpoint<asio::ip::udp> &endpoint,
                                         std::size_t max_size = udp_reader::default_max_size,
                                         std::size_t buffer_size = udp_reader::default_buffer_size);
std::unique_ptr<reader> udp_ibv_override(stream &owner,
                                         const asio::ip::basic_endpoint<asio::ip::udp> &endpoint,
                                         std::size_t max_size, std::size_t buffer_size,
                                         const asio::ip::address_v4 &interface_address);

} // namespace detail

/// udp_reader's IPv4 forms become udp_ibv_reader under SPEAD2_IBV_INTERFACE (detail::udp_ibv_override).
template<>
struct reader_factory<udp_reader>
{
    template<typename... Args>
    static std::unique_ptr<reader> make_reader(stream &owner, Args &&...args)
    {
        if constexpr (requires { detail::udp_ibv_override(owner, args...); })
        {
            if (std::unique_ptr<reader> r = detail::udp_ibv_override(owner, args...))
                return r;
        }
        return std::make_unique<udp_reader>(owner, std::forward<Args>(args)...);
    }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_UDP_READER_H
