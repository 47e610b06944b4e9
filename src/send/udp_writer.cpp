// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The kernel UDP transport: sendmmsg batches with UDP GSO and its fallback state machine.
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <asio.hpp>
#include <spead2/common/logging.h>
#include <spead2/send/udp_stream.h>
#include <spead2/send/writer.h>
#include "common/socket_buffer.h"
#include "os/udp_resolve.h"
#include "os/udp_socket.h"

namespace spead2::send
{

namespace
{

/// Most segments the kernel takes in one GSO message (UDP_MAX_SEGMENTS on older kernels).
constexpr std::size_t max_gso_segments = 64;
/// Most iovecs in one message (UIO_MAXIOV).
constexpr std::size_t max_iov = 1024;

/**
 * GSO states (API.md §3.1): active (in use), inactive (the kernel or a switch says no), probe (a
 * GSO send just failed and the same packets are being retried without it) and disabled (the
 * retry worked, so GSO was the problem; never tried again on this stream).
 */
enum class gso_state
{
    active,
    inactive,
    probe,
    disabled
};

class udp_writer final : public writer
{
private:
    asio::ip::udp::socket socket_;
    std::vector<asio::ip::udp::endpoint> endpoints_;
    gso_state gso_;

    packet_batch *batch_ = nullptr;
    std::size_t next_packet_ = 0; ///< First packet of the batch not yet handed to the kernel
    std::array<mmsghdr, max_batch> msgs_{};
    std::array<std::size_t, max_batch> msg_packets_{}; ///< Packets in each message
    std::vector<iovec> iov_;
    alignas(cmsghdr) unsigned char control_[max_batch][spead2::detail::udp_control_space]{};

    /// Fills msgs_ from next_packet_ on; returns the number of messages.
    std::size_t build(bool use_gso)
    {
        const packet_batch &batch = *batch_;
        const std::size_t n = batch.packets.size();
        std::size_t m = 0;
        std::size_t k = 0;
        std::size_t i = next_packet_;
        while (i < n)
        {
            const transmit_packet &first = batch.packets[i];
            const asio::ip::udp::endpoint &ep = endpoints_[first.substream_index];
            msghdr &h = msgs_[m].msg_hdr;
            h = msghdr{};
            h.msg_name = const_cast<sockaddr *>(static_cast<const sockaddr *>(ep.data()));
            h.msg_namelen = static_cast<socklen_t>(ep.size());
            h.msg_iov = iov_.data() + k;
            const std::size_t first_iov = k;
            std::size_t count = 0;
            std::size_t total = 0;
            while (true)
            {
                const transmit_packet &p = batch.packets[i];
                const packet_piece *pieces = batch.get_pieces(p);
                for (std::size_t j = 0; j < p.num_pieces; j++)
                {
                    iov_[k].iov_base = const_cast<std::uint8_t *>(pieces[j].data);
                    iov_[k].iov_len = pieces[j].size;
                    k++;
                }
                total += p.size;
                count++;
                i++;
                if (!use_gso || i == n || count == max_gso_segments)
                    break;
                const transmit_packet &next = batch.packets[i];
                // Only the last segment of a GSO message may be shorter than the others.
                if (next.substream_index != first.substream_index || p.size != first.size ||
                    next.size > first.size || total + next.size > spead2::detail::udp_max_payload ||
                    k - first_iov + next.num_pieces > max_iov)
                    break;
            }
            h.msg_iovlen = k - first_iov;
            if (count > 1)
                spead2::detail::udp_set_segment_size(h, control_[m], static_cast<std::uint16_t>(first.size));
            msg_packets_[m] = count;
            m++;
        }
        return m;
    }

    void fail_remaining(const std::error_code &ec)
    {
        for (std::size_t i = next_packet_; i < batch_->packets.size(); i++)
            batch_->packets[i].result = ec;
        next_packet_ = batch_->packets.size();
    }

    /// Sends what is left of the batch. @returns false if it is waiting for the socket to drain.
    bool send_some()
    {
        const int fd = socket_.native_handle();
        while (next_packet_ < batch_->packets.size())
        {
            const std::size_t m = build(gso_ == gso_state::active);
            const int sent = spead2::detail::udp_send_batch(fd, msgs_.data(), static_cast<unsigned int>(m));
            if (sent > 0)
            {
                if (gso_ == gso_state::probe)
                {
                    log_info("UDP GSO send failed but sending without it worked: disabling GSO");
                    gso_ = gso_state::disabled;
                }
                for (int j = 0; j < sent; j++)
                    next_packet_ += msg_packets_[j];
                continue;
            }
            const int e = errno;
            if (e == EAGAIN || e == EWOULDBLOCK)
            {
                socket_.async_wait(asio::socket_base::wait_write,
                                   [this](const std::error_code &ec)
                                   {
                                       if (ec)
                                           fail_remaining(ec);
                                       if (ec || send_some())
                                           batch_done();
                                   });
                return false;
            }
            if (msg_packets_[0] > 1 && gso_ == gso_state::active)
            {
                SPEAD2_LOG_DEBUG("UDP GSO send failed (%s); retrying without GSO", std::strerror(e));
                gso_ = gso_state::probe;
                continue;
            }
            if (gso_ == gso_state::probe)
                gso_ = gso_state::active; // failed without GSO too: GSO was not the cause
            const std::error_code ec(e, std::system_category());
            for (std::size_t j = 0; j < msg_packets_[0]; j++)
                batch_->packets[next_packet_ + j].result = ec;
            next_packet_ += msg_packets_[0];
        }
        return true;
    }

    void send_batch(packet_batch &batch) override
    {
        batch_ = &batch;
        next_packet_ = 0;
        if (iov_.size() < batch.pieces.size())
            iov_.resize(batch.pieces.size());
        if (send_some())
            batch_done();
    }

public:
    udp_writer(io_context_ref io_context, const stream_config &config, asio::ip::udp::socket &&socket,
               std::vector<asio::ip::udp::endpoint> &&endpoints)
        : writer(std::move(io_context), config)
        , socket_(std::move(socket))
        , endpoints_(std::move(endpoints))
        , gso_(spead2::detail::udp_gso_supported(socket_.native_handle()) ? gso_state::active
                                                                          : gso_state::inactive)
    {
        iov_.resize(max_batch * 4);
    }

    std::size_t get_num_substreams() const override { return endpoints_.size(); }
};

std::vector<asio::ip::udp::endpoint> resolve_all(const std::vector<udp_stream::endpoint_spec> &endpoints)
{
    std::vector<asio::ip::udp::endpoint> out;
    out.reserve(endpoints.size());
    for (const auto &[host, port] : endpoints)
        out.push_back(spead2::detail::resolve_udp_endpoint(host, port));
    return out;
}

/// Checks the list and opens a socket of its family.
asio::ip::udp::socket open_for(asio::io_context &io_context,
                               const std::vector<asio::ip::udp::endpoint> &endpoints)
{
    if (endpoints.empty())
        throw std::invalid_argument("Endpoint list must be non-empty");
    for (const auto &ep : endpoints)
        if (ep.protocol() != endpoints[0].protocol())
            throw std::invalid_argument("Endpoint does not match protocol of the socket");
    asio::ip::udp::socket socket(io_context, endpoints[0].protocol());
    socket.non_blocking(true);
    return socket;
}

std::unique_ptr<writer> make_unicast(io_context_ref io_context,
                                     std::vector<asio::ip::udp::endpoint> &&endpoints,
                                     const stream_config &config, std::size_t buffer_size,
                                     const std::string &interface_address)
{
    asio::ip::udp::socket socket = open_for(*io_context, endpoints);
    spead2::detail::request_socket_buffer_size(socket.native_handle(), false, buffer_size);
    if (!interface_address.empty())
        socket.bind(asio::ip::udp::endpoint(spead2::detail::resolve_address(interface_address), 0));
    return std::make_unique<udp_writer>(std::move(io_context), config, std::move(socket),
                                        std::move(endpoints));
}

std::unique_ptr<writer> make_multicast(io_context_ref io_context,
                                       std::vector<asio::ip::udp::endpoint> &&endpoints,
                                       const stream_config &config, std::size_t buffer_size, int ttl)
{
    for (const auto &ep : endpoints)
        if (!ep.address().is_multicast())
            throw std::invalid_argument("endpoint is not a multicast address");
    asio::ip::udp::socket socket = open_for(*io_context, endpoints);
    spead2::detail::request_socket_buffer_size(socket.native_handle(), false, buffer_size);
    socket.set_option(asio::ip::multicast::hops(ttl));
    return std::make_unique<udp_writer>(std::move(io_context), config, std::move(socket),
                                        std::move(endpoints));
}

std::unique_ptr<writer> make_multicast_v4(io_context_ref io_context,
                                          std::vector<asio::ip::udp::endpoint> &&endpoints,
                                          const stream_config &config, std::size_t buffer_size, int ttl,
                                          const std::string &interface_address)
{
    for (const auto &ep : endpoints)
        if (!ep.address().is_v4() || !ep.address().is_multicast())
            throw std::invalid_argument("endpoint is not an IPv4 multicast address");
    const asio::ip::address iface = spead2::detail::resolve_address(interface_address);
    if (!iface.is_v4())
        throw std::invalid_argument("interface address is not an IPv4 address");
    asio::ip::udp::socket socket = open_for(*io_context, endpoints);
    spead2::detail::request_socket_buffer_size(socket.native_handle(), false, buffer_size);
    socket.set_option(asio::ip::multicast::hops(ttl));
    socket.set_option(asio::ip::multicast::outbound_interface(iface.to_v4()));
    return std::make_unique<udp_writer>(std::move(io_context), config, std::move(socket),
                                        std::move(endpoints));
}

std::unique_ptr<writer> make_multicast_v6(io_context_ref io_context,
                                          std::vector<asio::ip::udp::endpoint> &&endpoints,
                                          const stream_config &config, std::size_t buffer_size, int ttl,
                                          unsigned int interface_index)
{
    for (const auto &ep : endpoints)
        if (!ep.address().is_v6() || !ep.address().is_multicast())
            throw std::invalid_argument("endpoint is not an IPv6 multicast address");
    asio::ip::udp::socket socket = open_for(*io_context, endpoints);
    spead2::detail::request_socket_buffer_size(socket.native_handle(), false, buffer_size);
    socket.set_option(asio::ip::multicast::hops(ttl));
    socket.set_option(asio::ip::multicast::outbound_interface(interface_index));
    return std::make_unique<udp_writer>(std::move(io_context), config, std::move(socket),
                                        std::move(endpoints));
}

std::unique_ptr<writer> make_from_socket(io_context_ref io_context, int fd,
                                         std::vector<asio::ip::udp::endpoint> &&endpoints,
                                         const stream_config &config)
{
    const int family = spead2::detail::socket_family(fd);
    if (family != AF_INET && family != AF_INET6)
        throw std::invalid_argument("socket is not an IPv4 or IPv6 socket");
    const asio::ip::udp protocol = family == AF_INET ? asio::ip::udp::v4() : asio::ip::udp::v6();
    for (const auto &ep : endpoints)
        if (ep.protocol() != protocol)
            throw std::invalid_argument("Endpoint does not match protocol of the socket");
    asio::ip::udp::socket socket(*io_context);
    const int dup_fd = spead2::detail::dup_socket(fd);
    try
    {
        socket.assign(protocol, dup_fd);
    }
    catch (...)
    {
        ::close(dup_fd);
        throw;
    }
    // Asio's flag only (MSG_DONTWAIT does the real work): the caller's descriptor keeps its mode.
    return std::make_unique<udp_writer>(std::move(io_context), config, std::move(socket),
                                        std::move(endpoints));
}

} // namespace

udp_stream::udp_stream(io_context_ref io_context, const std::vector<endpoint_spec> &endpoints,
                       const stream_config &config, std::size_t buffer_size,
                       const std::string &interface_address)
    : stream(make_unicast(io_context, resolve_all(endpoints), config, buffer_size, interface_address))
{
}

udp_stream::udp_stream(io_context_ref io_context, const std::vector<endpoint_spec> &endpoints,
                       const stream_config &config, std::size_t buffer_size, int ttl)
    : stream(make_multicast(io_context, resolve_all(endpoints), config, buffer_size, ttl))
{
}

udp_stream::udp_stream(io_context_ref io_context, const std::vector<endpoint_spec> &endpoints,
                       const stream_config &config, std::size_t buffer_size, int ttl,
                       const std::string &interface_address)
    : stream(
          make_multicast_v4(io_context, resolve_all(endpoints), config, buffer_size, ttl, interface_address))
{
}

udp_stream::udp_stream(io_context_ref io_context, const std::vector<endpoint_spec> &endpoints,
                       const stream_config &config, std::size_t buffer_size, int ttl,
                       unsigned int interface_index)
    : stream(make_multicast_v6(io_context, resolve_all(endpoints), config, buffer_size, ttl, interface_index))
{
}

udp_stream::udp_stream(io_context_ref io_context, socket_fd socket,
                       const std::vector<endpoint_spec> &endpoints, const stream_config &config)
    : stream(make_from_socket(io_context, socket.fd, resolve_all(endpoints), config))
{
}

udp_stream::udp_stream(io_context_ref io_context, const std::vector<asio_endpoint> &endpoints,
                       const stream_config &config, std::size_t buffer_size,
                       const std::string &interface_address)
    : stream(make_unicast(io_context, std::vector<asio::ip::udp::endpoint>(endpoints), config, buffer_size,
                          interface_address))
{
}

udp_stream::udp_stream(io_context_ref io_context, const std::vector<asio_endpoint> &endpoints,
                       const stream_config &config, std::size_t buffer_size,
                       const asio::ip::address &interface_address)
    : stream(make_unicast(io_context, std::vector<asio::ip::udp::endpoint>(endpoints), config, buffer_size,
                          interface_address.is_unspecified() ? std::string() : interface_address.to_string()))
{
}

udp_stream::udp_stream(io_context_ref io_context, const std::vector<asio_endpoint> &endpoints,
                       const stream_config &config, std::size_t buffer_size, int ttl)
    : stream(make_multicast(io_context, std::vector<asio::ip::udp::endpoint>(endpoints), config, buffer_size,
                            ttl))
{
}

udp_stream::udp_stream(io_context_ref io_context, const std::vector<asio_endpoint> &endpoints,
                       const stream_config &config, std::size_t buffer_size, int ttl,
                       const asio::ip::address &interface_address)
    : stream(make_multicast_v4(io_context, std::vector<asio::ip::udp::endpoint>(endpoints), config,
                               buffer_size, ttl, interface_address.to_string()))
{
}

udp_stream::udp_stream(io_context_ref io_context, const std::vector<asio_endpoint> &endpoints,
                       const stream_config &config, std::size_t buffer_size, int ttl,
                       unsigned int interface_index)
    : stream(make_multicast_v6(io_context, std::vector<asio::ip::udp::endpoint>(endpoints), config,
                               buffer_size, ttl, interface_index))
{
}

} // namespace spead2::send
