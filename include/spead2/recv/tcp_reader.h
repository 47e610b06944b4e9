// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A reader that accepts one TCP connection and takes back-to-back packets from it.
#ifndef SPEAD2_RECV_TCP_READER_H
#define SPEAD2_RECV_TCP_READER_H

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>
#include <spead2/recv/reader.h>

// Asio types are only named here (the header does not include Asio); callers of the endpoint
// overloads include <asio.hpp> themselves.
namespace asio::ip
{
template<typename InternetProtocol>
class basic_endpoint;
class tcp;
} // namespace asio::ip

namespace spead2::recv
{

/**
 * Listens on a TCP socket, accepts exactly one connection and reads SPEAD packets sent back to
 * back on it (no framing: each packet's size comes from its header and PAYLOAD_LENGTH). Every
 * read is processed as one batch holding all the complete packets then buffered. Lossless.
 *
 * Bytes from the peer never throw:
 * - a header that cannot start a packet skips 8 bytes and parsing resynchronises from there;
 * - a packet bigger than max_size is skipped (its bytes are drained, not buffered);
 * - a correctly framed packet that fails decode_packet is skipped whole.
 * Each skip is counted here by kind and in the optional tcp_dropped statistic (one per packet
 * skipped, one per run of bytes skipped to resynchronise; see tcp_dropped_stat_name).
 * When the peer closes the connection (even in the middle of a packet) the stream stops with a
 * network stop (live heaps are flushed).
 *
 * Threads: constructed, started and stopped by the stream, as for reader; the counters may
 * be read from any thread. Lifetime: owned by the stream (see reader).
 */
class tcp_reader : public reader
{
public:
    /// Default largest packet (Python: DEFAULT_TCP_MAX_SIZE).
    static constexpr std::size_t default_max_size = 65536;
    /// Default socket receive buffer, SO_RCVBUF (Python: DEFAULT_TCP_BUFFER_SIZE).
    static constexpr std::size_t default_buffer_size = 212992;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    const std::size_t max_size_;

    // Read buffer: bytes [head_, tail_) are received but not yet consumed.
    std::vector<std::uint8_t> buffer_;
    std::size_t head_ = 0;
    std::size_t tail_ = 0;
    /// Bytes of an oversized packet still to drain.
    std::uint64_t skip_bytes_ = 0;
    /// Item pointers of an oversized packet still to scan for its PAYLOAD_LENGTH.
    std::size_t scan_pointers_ = 0;
    int scan_heap_address_bits_ = 0;
    std::int64_t scan_payload_length_ = -1;
    /// Bytes skipped since the last header that could start a packet (for logging).
    std::uint64_t garbage_bytes_ = 0;

    std::atomic<std::uint64_t> bad_headers_{0};
    std::atomic<std::uint64_t> oversized_packets_{0};
    std::atomic<std::uint64_t> rejected_packets_{0};

    void start_accept();
    void start_read();
    void accept_handler(stream_base::add_packet_state &state, const std::error_code &error);
    void read_handler(stream_base::add_packet_state &state, const std::error_code &error,
                      std::size_t bytes_transferred);
    /// Consumes every complete packet (or skippable byte) buffered, as part of one batch.
    void process(stream_base::add_packet_state &state);
    /// Skips bytes of an oversized packet; returns the number consumed from @a data.
    std::size_t skip_oversized(const std::uint8_t *data, std::size_t length);

public:
    /**
     * Listens on @a bind_hostname (a numeric IPv4/IPv6 address or name; empty means all IPv4
     * addresses) and @a port. The socket is created, bound and listening when the reader starts
     * (so a stream with explicit_start binds at stream::start()).
     * @throws std::invalid_argument if max_size is 0 or the address cannot be resolved
     * @throws std::system_error from start() if the socket cannot be bound or listen
     */
    tcp_reader(stream &owner, const std::string &bind_hostname, std::uint16_t port,
               std::size_t max_size = default_max_size, std::size_t buffer_size = default_buffer_size);

    /**
     * Accepts one connection on the caller's listening socket @a acceptor_fd, which is
     * duplicated (the caller may close its own descriptor).
     * @throws std::invalid_argument if max_size is 0 or @a acceptor_fd is negative
     * @throws std::system_error if the descriptor cannot be duplicated or is not a socket
     */
    tcp_reader(stream &owner, int acceptor_fd, std::size_t max_size = default_max_size);

    /// Listens on @a endpoint, for callers using Asio (as spead2's takes it).
    tcp_reader(stream &owner, const asio::ip::basic_endpoint<asio::ip::tcp> &endpoint,
               std::size_t max_size = default_max_size, std::size_t buffer_size = default_buffer_size);

    ~tcp_reader() override;

    void start() override;
    void stop() override;
    bool lossy() const override { return false; }

    std::size_t get_max_size() const { return max_size_; }
    /// Times a header that could not start a packet made the reader skip 8 bytes.
    std::uint64_t get_bad_headers() const { return bad_headers_.load(std::memory_order_relaxed); }
    /// Packets skipped for being larger than max_size.
    std::uint64_t get_oversized_packets() const { return oversized_packets_.load(std::memory_order_relaxed); }
    /// Framed packets skipped because decode_packet rejected them.
    std::uint64_t get_rejected_packets() const { return rejected_packets_.load(std::memory_order_relaxed); }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_TCP_READER_H
