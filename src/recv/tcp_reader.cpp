// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The TCP reader: one accepted connection, packets framed by their own headers.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <asio.hpp>
#include <spead2/common/endian.h>
#include <spead2/common/logging.h>
#include <spead2/protocol/packet_header.h>
#include <spead2/protocol/pointer_codec.h>
#include <spead2/recv/stream.h>
#include <spead2/recv/tcp_reader.h>
#include "common/socket_buffer.h"
#include "os/fd.h"
#include "os/tcp_socket.h"

namespace spead2::recv
{

namespace
{

/// Asio reports OS errors in its own category; ours use std::system_category (see tcp_stream).
std::error_code to_std(const std::error_code &ec)
{
    if (ec && ec.category() == asio::system_category())
        return std::error_code(ec.value(), std::system_category());
    return ec;
}

constexpr std::size_t header_size = 8;
/// Read size beyond one maximal packet, so that small packets arrive many to a batch.
constexpr std::size_t min_read_size = 256 * 1024;

asio::ip::tcp::endpoint resolve_bind(asio::io_context &io_context, const std::string &host,
                                     std::uint16_t port)
{
    if (host.empty())
        return asio::ip::tcp::endpoint(asio::ip::address_v4::any(), port);
    std::error_code ec;
    asio::ip::address addr = asio::ip::make_address(host, ec);
    if (!ec)
        return asio::ip::tcp::endpoint(addr, port);
    asio::ip::tcp::resolver resolver(io_context);
    auto results = resolver.resolve(host, std::to_string(port), asio::ip::tcp::resolver::passive, ec);
    if (ec || results.empty())
        throw std::invalid_argument("tcp_reader: cannot resolve bind address '" + host +
                                    "': " + (ec ? ec.message() : std::string("no addresses")));
    return results.begin()->endpoint();
}

} // namespace

struct tcp_reader::impl
{
    asio::ip::tcp::acceptor acceptor;
    asio::ip::tcp::socket peer;
    /// Set when the reader must open and bind its own socket at start().
    bool bind_at_start = false;
    asio::ip::tcp::endpoint endpoint;
    std::size_t buffer_size = 0;

    /// Opens, binds and listens (bind_at_start); throws asio's std::system_error.
    void listen();

    explicit impl(asio::io_context &io_context)
        : acceptor(io_context)
        , peer(io_context)
    {
    }
};

tcp_reader::tcp_reader(stream &owner, const std::string &bind_hostname, std::uint16_t port,
                       std::size_t max_size, std::size_t buffer_size)
    : reader(owner, tcp_dropped_stat_name)
    , impl_(std::make_unique<impl>(get_io_context()))
    , max_size_(max_size)
{
    if (max_size == 0)
        throw std::invalid_argument("tcp_reader: max_size must be positive");
    impl_->bind_at_start = true;
    impl_->endpoint = resolve_bind(get_io_context(), bind_hostname, port);
    impl_->buffer_size = buffer_size;
    buffer_.resize(max_size + std::max(max_size, min_read_size));
}

tcp_reader::tcp_reader(stream &owner, const asio::ip::tcp::endpoint &endpoint, std::size_t max_size,
                       std::size_t buffer_size)
    : tcp_reader(owner, endpoint.address().to_string(), endpoint.port(), max_size, buffer_size)
{
}

tcp_reader::tcp_reader(stream &owner, int acceptor_fd, std::size_t max_size)
    : reader(owner, tcp_dropped_stat_name)
    , impl_(std::make_unique<impl>(get_io_context()))
    , max_size_(max_size)
{
    if (max_size == 0)
        throw std::invalid_argument("tcp_reader: max_size must be positive");
    const int fd = ::spead2::detail::tcp::dup_socket(acceptor_fd, "tcp_reader");
    try
    {
        const int family = ::spead2::detail::tcp::socket_family(fd);
        std::error_code ec;
        impl_->acceptor.assign(family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), fd, ec);
        if (ec)
            throw std::system_error(to_std(ec), "tcp_reader: cannot use socket");
    }
    catch (...)
    {
        ::spead2::detail::close_fd(fd);
        throw;
    }
    buffer_.resize(max_size + std::max(max_size, min_read_size));
}

tcp_reader::~tcp_reader() = default;

void tcp_reader::start()
{
    if (impl_->bind_at_start)
    {
        try
        {
            impl_->listen();
        }
        catch (const std::system_error &e)
        {
            const asio::ip::tcp::endpoint &ep = impl_->endpoint;
            throw std::system_error(to_std(e.code()), "tcp_reader: cannot listen on " +
                                                          ep.address().to_string() + " port " +
                                                          std::to_string(ep.port()));
        }
    }
    start_accept();
}

void tcp_reader::impl::listen()
{
    asio::ip::tcp::acceptor &a = acceptor;
    {
        a.open(endpoint.protocol());
        a.set_option(asio::socket_base::reuse_address(true));
        // Set on the listener so that the accepted socket starts with it (window scaling is
        // negotiated during the handshake).
        try
        {
            spead2::detail::request_socket_buffer_size(a.native_handle(), true, buffer_size);
        }
        catch (const std::system_error &e)
        {
            log_warning("tcp_reader: could not set receive buffer size to %zu: %s", buffer_size, e.what());
        }
        a.bind(endpoint);
        a.listen(1);
    }
}

void tcp_reader::start_accept()
{
    // A non-generic wrapper: asio probes handlers against several signatures.
    auto handler = bind_handler([this](stream_base::add_packet_state &state, const std::error_code &error)
                                { accept_handler(state, error); });
    impl_->acceptor.async_accept(impl_->peer, [handler = std::move(handler)](
                                                  const std::error_code &error) mutable { handler(error); });
}

void tcp_reader::accept_handler(stream_base::add_packet_state &state, const std::error_code &error)
{
    if (error == asio::error::operation_aborted || state.is_stopped())
        return;
    if (error)
    {
        log_warning("tcp_reader: error accepting a connection: %s", error.message().c_str());
        state.stop();
        return;
    }
    // Only one connection is served; nobody else may connect.
    std::error_code ignored;
    impl_->acceptor.close(ignored);
    start_read();
}

void tcp_reader::start_read()
{
    auto handler = bind_handler([this](stream_base::add_packet_state &state, const std::error_code &error,
                                       std::size_t bytes_transferred)
                                { read_handler(state, error, bytes_transferred); });
    impl_->peer.async_read_some(
        asio::buffer(buffer_.data() + tail_, buffer_.size() - tail_),
        [handler = std::move(handler)](const std::error_code &error, std::size_t bytes_transferred) mutable
        { handler(error, bytes_transferred); });
}

void tcp_reader::read_handler(stream_base::add_packet_state &state, const std::error_code &error,
                              std::size_t bytes_transferred)
{
    if (error == asio::error::operation_aborted || state.is_stopped())
        return;
    tail_ += bytes_transferred;
    process(state);
    if (error)
    {
        if (error == asio::error::eof)
        {
            if (tail_ > head_ || skip_bytes_ > 0 || scan_pointers_ > 0)
                log_info("tcp_reader: connection closed in the middle of a packet (%zu bytes discarded)",
                         tail_ - head_);
        }
        else
            log_warning("tcp_reader: error reading from the connection: %s", error.message().c_str());
        state.stop();
        return;
    }
    if (!state.is_stopped())
        start_read();
}

std::size_t tcp_reader::skip_oversized(const std::uint8_t *data, std::size_t length)
{
    std::size_t consumed = 0;
    if (scan_pointers_ > 0)
    {
        // The pointers of this packet do not fit in max_size: find PAYLOAD_LENGTH as they stream past.
        const pointer_decoder decoder(scan_heap_address_bits_);
        while (scan_pointers_ > 0 && length - consumed >= sizeof(item_pointer_t))
        {
            const item_pointer_t pointer = load_be<item_pointer_t>(data + consumed);
            if (pointer_decoder::is_immediate(pointer) && decoder.get_id(pointer) == PAYLOAD_LENGTH_ID)
                scan_payload_length_ = decoder.get_immediate(pointer);
            consumed += sizeof(item_pointer_t);
            scan_pointers_--;
        }
        if (scan_pointers_ > 0)
            return consumed;
        if (scan_payload_length_ >= 0)
            skip_bytes_ = std::uint64_t(scan_payload_length_);
        else
            SPEAD2_LOG_INFO("tcp_reader: oversized packet has no PAYLOAD_LENGTH; resynchronising");
        scan_payload_length_ = -1;
    }
    const std::size_t n = std::size_t(std::min<std::uint64_t>(skip_bytes_, length - consumed));
    skip_bytes_ -= n;
    return consumed + n;
}

void tcp_reader::process(stream_base::add_packet_state &state)
{
    while (!state.is_stopped())
    {
        const std::uint8_t *data = buffer_.data() + head_;
        const std::size_t avail = tail_ - head_;
        if (skip_bytes_ > 0 || scan_pointers_ > 0)
        {
            head_ += skip_oversized(data, avail);
            if (skip_bytes_ > 0 || scan_pointers_ > 0)
                break; // everything buffered was drained (or < 8 bytes of a pointer remain)
            continue;
        }
        if (avail < header_size)
            break;
        const s_item_pointer_t size = get_packet_size(data, avail);
        if (size < 0)
        {
            // Logged once per run of garbage, not per 8 bytes.
            if (garbage_bytes_ == 0)
            {
                SPEAD2_LOG_INFO("tcp_reader: bad packet header; skipping 8 bytes at a time to resynchronise");
                count_drop(state);
            }
            bad_headers_.fetch_add(1, std::memory_order_relaxed);
            garbage_bytes_ += header_size;
            head_ += header_size;
            continue;
        }
        if (garbage_bytes_ > 0)
        {
            SPEAD2_LOG_INFO("tcp_reader: resynchronised after skipping %llu bytes",
                            (unsigned long long)garbage_bytes_);
            garbage_bytes_ = 0;
        }
        if (size == 0)
        {
            // A valid header whose pointers are not all here yet. If they cannot fit in max_size
            // the packet is oversized, and its length is only known once the pointers have passed.
            const std::size_t n_items = load_be<std::uint16_t>(data + 6);
            if (header_size + n_items * sizeof(item_pointer_t) > max_size_)
            {
                oversized_packets_.fetch_add(1, std::memory_order_relaxed);
                count_drop(state);
                SPEAD2_LOG_INFO("tcp_reader: skipping packet with %zu item pointers (max_size %zu)", n_items,
                                max_size_);
                scan_pointers_ = n_items;
                scan_heap_address_bits_ = data[3] * 8;
                scan_payload_length_ = -1;
                head_ += header_size;
                continue;
            }
            break;
        }
        if (std::uint64_t(size) > max_size_)
        {
            oversized_packets_.fetch_add(1, std::memory_order_relaxed);
            count_drop(state);
            SPEAD2_LOG_INFO("tcp_reader: skipping packet of %lld bytes (max_size %zu)", (long long)size,
                            max_size_);
            skip_bytes_ = std::uint64_t(size);
            continue;
        }
        if (avail < std::size_t(size))
            break;
        if (!add_datagram(state, data, std::size_t(size)))
        {
            rejected_packets_.fetch_add(1, std::memory_order_relaxed);
            count_drop(state);
        }
        head_ += std::size_t(size);
    }
    // Keep the partial packet at the front so that a whole max_size packet always fits.
    if (head_ == tail_)
        head_ = tail_ = 0;
    else if (head_ > 0)
    {
        std::memmove(buffer_.data(), buffer_.data() + head_, tail_ - head_);
        tail_ -= head_;
        head_ = 0;
    }
}

void tcp_reader::stop()
{
    std::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->peer.close(ignored);
}

} // namespace spead2::recv
