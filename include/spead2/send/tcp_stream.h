// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A send stream over one TCP connection.
#ifndef SPEAD2_SEND_TCP_STREAM_H
#define SPEAD2_SEND_TCP_STREAM_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
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
class tcp;
class address;
} // namespace asio::ip

namespace spead2::send
{

/**
 * Sends packets back to back over one TCP connection (the receiver frames them by their
 * headers). One substream. Each batch of packets goes out with scatter-gather writes, the
 * payload never copied. A write error completes the affected heaps (and all later ones) with
 * that error; a peer that has gone away gives EPIPE or ECONNRESET, never SIGPIPE.
 *
 * Endpoints are (host, port) pairs: a numeric IPv4/IPv6 address or a name, resolved when the
 * stream is constructed. Exactly one endpoint is accepted (the list form is kept for
 * compatibility with the other stream types).
 *
 * Threads and lifetime as for stream. With the asynchronous constructor, heaps may be queued at
 * once: they wait for the connection and fail with its error if it fails. The connect handler
 * is called exactly once on an io_context thread, also if the stream is destroyed first
 * (then with ECANCELED). Error codes are in std::system_category.
 */
class tcp_stream : public stream
{
public:
    /// Called with the outcome of the connection attempt.
    typedef std::function<void(const std::error_code &)> connect_handler;
    /// Default socket send buffer, SO_SNDBUF (Python: DEFAULT_BUFFER_SIZE).
    static constexpr std::size_t default_buffer_size = 212992;

    /**
     * Starts connecting to the single endpoint and returns at once; @a handler reports the
     * result. @a buffer_size 0 leaves the OS default. A non-empty @a interface_address is
     * bound as the source address.
     * @throws std::invalid_argument "endpoints must contain exactly one element", or for an
     *         address that does not resolve or an interface address of another family
     * @throws std::system_error if the socket cannot be created or bound
     */
    tcp_stream(io_context_ref io_context, connect_handler &&handler,
               const std::vector<std::pair<std::string, std::uint16_t>> &endpoints,
               const stream_config &config = stream_config(), std::size_t buffer_size = default_buffer_size,
               const std::string &interface_address = std::string());

    /**
     * As above, but connects before returning (a blocking connect in the calling thread, so the
     * io_context need not be running yet).
     * @throws std::system_error if the connection fails (e.g. ECONNREFUSED), and as above
     */
    tcp_stream(io_context_ref io_context, const std::vector<std::pair<std::string, std::uint16_t>> &endpoints,
               const stream_config &config = stream_config(), std::size_t buffer_size = default_buffer_size,
               const std::string &interface_address = std::string());

    /**
     * Sends over the caller's connected TCP socket @a fd, which is duplicated (the caller may
     * close its own descriptor). Socket options are left as the caller set them.
     * @throws std::invalid_argument if @a fd is negative
     * @throws std::system_error if it cannot be duplicated or is not a socket
     */
    tcp_stream(io_context_ref io_context, int fd, const stream_config &config = stream_config());

    /// The connecting form, for callers using Asio endpoints and addresses (as spead2's takes them).
    tcp_stream(io_context_ref io_context, connect_handler &&handler,
               const std::vector<asio::ip::basic_endpoint<asio::ip::tcp>> &endpoints,
               const stream_config &config = stream_config(), std::size_t buffer_size = default_buffer_size);
    tcp_stream(io_context_ref io_context, connect_handler &&handler,
               const std::vector<asio::ip::basic_endpoint<asio::ip::tcp>> &endpoints,
               const stream_config &config, std::size_t buffer_size,
               const asio::ip::address &interface_address);
};

} // namespace spead2::send

#endif // SPEAD2_SEND_TCP_STREAM_H
