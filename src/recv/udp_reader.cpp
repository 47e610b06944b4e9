// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The kernel UDP reader: recvmmsg batches, GRO splitting, exact-size datagram checks.
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <asio.hpp>
#include <spead2/common/logging.h>
#include <spead2/recv/stream.h>
#include <spead2/recv/udp_reader.h>
#include "common/socket_buffer.h"
#include "os/udp_socket.h"
#include "os/udp_resolve.h"

namespace spead2::recv
{

namespace
{

constexpr std::size_t max_batch = 64;
/// Room for one coalesced (GRO) datagram.
constexpr std::size_t gro_slot_size = 65536;

enum class join_kind
{
    none,
    any_interface,
    v4_interface,
    v6_interface
};

} // namespace

struct udp_reader::impl
{
    asio::ip::udp::socket socket;
    std::optional<asio::ip::udp::endpoint> bind_endpoint; ///< Unset for a caller's socket
    join_kind join = join_kind::none;
    asio::ip::address group;
    asio::ip::address_v4 interface_v4;
    unsigned int interface_index = 0;
    std::size_t max_size;

    // Receive buffers, sized in start() once we know whether GRO is on.
    bool gro = false;
    std::size_t slot_size = 0;
    std::unique_ptr<std::uint8_t[]> buffer;
    std::array<mmsghdr, max_batch> msgs{};
    std::array<iovec, max_batch> iov{};
    alignas(cmsghdr) unsigned char control[max_batch][spead2::detail::udp_control_space]{};

    /// Resets what a receive writes into header @a i (buffers and names stay as set up).
    void rearm(std::size_t i)
    {
        msghdr &h = msgs[i].msg_hdr;
        h.msg_controllen = gro ? sizeof(control[i]) : 0;
        h.msg_flags = 0;
    }

    // Drops (guarded by the stream lock, like everything the handlers touch).
    std::uint64_t batch_truncated = 0;
    std::uint64_t batch_invalid = 0;
    std::uint64_t unlogged_truncated = 0;
    std::uint64_t unlogged_invalid = 0;
    std::optional<std::chrono::steady_clock::time_point> last_log;

    impl(asio::io_context &io_context, std::size_t max_size_)
        : socket(io_context)
        , max_size(max_size_)
    {
    }
};

namespace
{

std::unique_ptr<udp_reader::impl> make_bound(stream &owner, const asio::ip::udp::endpoint &endpoint,
                                             std::size_t max_size, std::size_t buffer_size)
{
    auto p = std::make_unique<udp_reader::impl>(owner.get_io_context(), max_size);
    p->socket.open(endpoint.protocol());
    p->bind_endpoint = endpoint;
    if (endpoint.address().is_multicast())
    {
        p->socket.set_option(asio::socket_base::reuse_address(true));
        p->join = join_kind::any_interface;
        p->group = endpoint.address();
    }
    spead2::detail::request_socket_buffer_size(p->socket.native_handle(), true, buffer_size);
    return p;
}

std::unique_ptr<udp_reader::impl> make_v4_interface(stream &owner, const asio::ip::udp::endpoint &endpoint,
                                                    std::size_t max_size, std::size_t buffer_size,
                                                    const asio::ip::address &interface_address)
{
    if (!endpoint.address().is_v4())
        throw std::invalid_argument("endpoint is not an IPv4 address");
    if (!interface_address.is_v4())
        throw std::invalid_argument("interface address is not an IPv4 address");
    const asio::ip::address_v4 iface = interface_address.to_v4();
    auto p = std::make_unique<udp_reader::impl>(owner.get_io_context(), max_size);
    p->socket.open(asio::ip::udp::v4());
    if (endpoint.address().is_multicast())
    {
        p->socket.set_option(asio::socket_base::reuse_address(true));
        p->bind_endpoint = endpoint;
        p->join = join_kind::v4_interface;
        p->group = endpoint.address();
        p->interface_v4 = iface;
    }
    else if (endpoint.address().is_unspecified() || endpoint.address().to_v4() == iface)
        p->bind_endpoint = asio::ip::udp::endpoint(iface, endpoint.port());
    else
        throw std::invalid_argument("endpoint is not multicast and does not match interface address");
    spead2::detail::request_socket_buffer_size(p->socket.native_handle(), true, buffer_size);
    return p;
}

std::unique_ptr<udp_reader::impl> make_v6_interface(stream &owner, const asio::ip::udp::endpoint &endpoint,
                                                    std::size_t max_size, std::size_t buffer_size,
                                                    unsigned int interface_index)
{
    if (!endpoint.address().is_v6() || !endpoint.address().is_multicast())
        throw std::invalid_argument("endpoint is not an IPv6 multicast address");
    auto p = std::make_unique<udp_reader::impl>(owner.get_io_context(), max_size);
    p->socket.open(asio::ip::udp::v6());
    p->socket.set_option(asio::socket_base::reuse_address(true));
    p->bind_endpoint = endpoint;
    p->join = join_kind::v6_interface;
    p->group = endpoint.address();
    p->interface_index = interface_index;
    spead2::detail::request_socket_buffer_size(p->socket.native_handle(), true, buffer_size);
    return p;
}

std::unique_ptr<udp_reader::impl> make_from_socket(stream &owner, int fd, std::size_t max_size)
{
    const int family = spead2::detail::socket_family(fd);
    if (family != AF_INET && family != AF_INET6)
        throw std::invalid_argument("socket is not an IPv4 or IPv6 socket");
    auto p = std::make_unique<udp_reader::impl>(owner.get_io_context(), max_size);
    const int dup_fd = spead2::detail::dup_socket(fd);
    try
    {
        p->socket.assign(family == AF_INET ? asio::ip::udp::v4() : asio::ip::udp::v6(), dup_fd);
    }
    catch (...)
    {
        ::close(dup_fd);
        throw;
    }
    return p;
}

} // namespace

udp_reader::udp_reader(stream &owner, std::unique_ptr<impl> &&p)
    : reader(owner, udp_dropped_stat_name)
    , impl_(std::move(p))
{
}

udp_reader::udp_reader(stream &owner, const std::string &address, std::uint16_t port, std::size_t max_size,
                       std::size_t buffer_size)
    : udp_reader(owner, make_bound(owner, spead2::detail::resolve_udp_endpoint(address, port), max_size,
                                   buffer_size))
{
}

udp_reader::udp_reader(stream &owner, const std::string &multicast_group, std::uint16_t port,
                       std::size_t max_size, std::size_t buffer_size, const std::string &interface_address)
    : udp_reader(owner,
                 make_v4_interface(owner, spead2::detail::resolve_udp_endpoint(multicast_group, port),
                                   max_size, buffer_size, spead2::detail::resolve_address(interface_address)))
{
}

udp_reader::udp_reader(stream &owner, const std::string &multicast_group, std::uint16_t port,
                       std::size_t max_size, std::size_t buffer_size, unsigned int interface_index)
    : udp_reader(owner, make_v6_interface(owner, spead2::detail::resolve_udp_endpoint(multicast_group, port),
                                          max_size, buffer_size, interface_index))
{
}

udp_reader::udp_reader(stream &owner, socket_fd socket, std::size_t max_size)
    : udp_reader(owner, make_from_socket(owner, socket.fd, max_size))
{
}

udp_reader::udp_reader(stream &owner, const asio::ip::udp::endpoint &endpoint, std::size_t max_size,
                       std::size_t buffer_size)
    : udp_reader(owner, make_bound(owner, endpoint, max_size, buffer_size))
{
}

udp_reader::udp_reader(stream &owner, const asio::ip::udp::endpoint &endpoint, std::size_t max_size,
                       std::size_t buffer_size, const asio::ip::address_v4 &interface_address)
    : udp_reader(owner, make_v4_interface(owner, endpoint, max_size, buffer_size, interface_address))
{
}

udp_reader::udp_reader(stream &owner, const asio::ip::udp::endpoint &endpoint, std::size_t max_size,
                       std::size_t buffer_size, const asio::ip::address &interface_address)
    : udp_reader(owner, make_v4_interface(owner, endpoint, max_size, buffer_size, interface_address))
{
}

udp_reader::udp_reader(stream &owner, const asio::ip::udp::endpoint &endpoint, std::size_t max_size,
                       std::size_t buffer_size, unsigned int interface_index)
    : udp_reader(owner, make_v6_interface(owner, endpoint, max_size, buffer_size, interface_index))
{
}

udp_reader::~udp_reader() = default;

void udp_reader::start()
{
    impl &s = *impl_;
    if (s.bind_endpoint)
    {
        s.socket.bind(*s.bind_endpoint);
        switch (s.join)
        {
        case join_kind::none:
            break;
        case join_kind::any_interface:
            s.socket.set_option(asio::ip::multicast::join_group(s.group));
            break;
        case join_kind::v4_interface:
            s.socket.set_option(asio::ip::multicast::join_group(s.group.to_v4(), s.interface_v4));
            break;
        case join_kind::v6_interface:
            s.socket.set_option(asio::ip::multicast::join_group(s.group.to_v6(), s.interface_index));
            break;
        }
        // Only on our own sockets: GRO would change what the caller's descriptor receives.
        s.gro = spead2::detail::udp_enable_gro(s.socket.native_handle());
    }
    s.slot_size = s.gro ? gro_slot_size : std::max<std::size_t>(s.max_size, 1);
    s.buffer = std::make_unique<std::uint8_t[]>(max_batch * s.slot_size);
    for (std::size_t i = 0; i < max_batch; i++)
    {
        s.iov[i].iov_base = s.buffer.get() + i * s.slot_size;
        s.iov[i].iov_len = s.slot_size;
        s.msgs[i].msg_hdr.msg_iov = &s.iov[i];
        s.msgs[i].msg_hdr.msg_iovlen = 1;
        s.msgs[i].msg_hdr.msg_control = s.gro ? s.control[i] : nullptr;
        s.rearm(i);
    }
    enqueue_wait();
}

void udp_reader::enqueue_wait()
{
    impl_->socket.async_wait(asio::socket_base::wait_read,
                             bind_handler(
                                 [this](stream_base::add_packet_state &state, const std::error_code &error)
                                 {
                                     if (error == asio::error::operation_aborted || state.is_stopped())
                                         return;
                                     if (error)
                                     {
                                         log_warning("udp_reader: error waiting on socket: %s",
                                                     error.message().c_str());
                                         state.stop();
                                         return;
                                     }
                                     receive_batch(state);
                                 }));
}

void udp_reader::enqueue_receive()
{
    // A full batch suggests more is waiting: read again without a trip through the reactor, but
    // as a new handler so that other work on the io_context gets a turn.
    asio::post(impl_->socket.get_executor(), bind_handler(
                                                 [this](stream_base::add_packet_state &state)
                                                 {
                                                     if (!state.is_stopped())
                                                         receive_batch(state);
                                                 }));
}

void udp_reader::receive_batch(stream_base::add_packet_state &state)
{
    impl &s = *impl_;
    const int received = spead2::detail::udp_recv_batch(s.socket.native_handle(), s.msgs.data(), max_batch);
    if (received < 0)
    {
        const int e = errno;
        if (e != EAGAIN && e != EWOULDBLOCK)
            SPEAD2_LOG_INFO("udp_reader: receive failed: %s", std::strerror(e));
        enqueue_wait();
        return;
    }
    for (int i = 0; i < received && !state.is_stopped(); i++)
    {
        const msghdr &h = s.msgs[i].msg_hdr;
        const std::uint8_t *data = s.buffer.get() + std::size_t(i) * s.slot_size;
        const std::size_t length = s.msgs[i].msg_len;
        if (h.msg_flags & MSG_TRUNC)
        {
            count_drop(state, s.batch_truncated);
            continue;
        }
        const std::size_t segment = s.gro ? spead2::detail::udp_gro_segment_size(h) : 0;
        if (segment == 0 || segment >= length)
            process_datagram(state, data, length);
        else
        {
            for (std::size_t offset = 0; offset < length && !state.is_stopped(); offset += segment)
                process_datagram(state, data + offset, std::min(segment, length - offset));
        }
    }
    // Only the headers of received datagrams have been written to (a batch is often one or two
    // datagrams, and resetting all 64 headers was most of this function's time).
    for (int i = 0; i < received; i++)
        s.rearm(i);

    if (s.batch_truncated || s.batch_invalid)
    {
        s.unlogged_truncated += s.batch_truncated;
        s.unlogged_invalid += s.batch_invalid;
        s.batch_truncated = 0;
        s.batch_invalid = 0;
        const auto now = std::chrono::steady_clock::now();
        if (!s.last_log || now - *s.last_log >= std::chrono::seconds(1))
        {
            log_info("udp_reader: dropped %llu datagrams larger than max_size %zu and %llu that were not "
                     "exactly one valid SPEAD packet",
                     static_cast<unsigned long long>(s.unlogged_truncated), s.max_size,
                     static_cast<unsigned long long>(s.unlogged_invalid));
            s.unlogged_truncated = 0;
            s.unlogged_invalid = 0;
            s.last_log = now;
        }
    }

    if (state.is_stopped())
        return;
    if (std::size_t(received) == max_batch)
        enqueue_receive();
    else
        enqueue_wait();
}

void udp_reader::process_datagram(stream_base::add_packet_state &state, const std::uint8_t *data,
                                  std::size_t length)
{
    if (length > impl_->max_size)
    {
        count_drop(state, impl_->batch_truncated);
        return;
    }
    if (!add_datagram(state, data, length))
        count_drop(state, impl_->batch_invalid);
}

void udp_reader::count_drop(stream_base::add_packet_state &state, std::uint64_t &batch_counter)
{
    batch_counter++; // for the log
    reader::count_drop(state);
}

void udp_reader::stop()
{
    // Close rather than cancel, so the port is free as soon as the stream stops (as in spead2);
    // handlers still queued see the stopped stream and do not touch the socket.
    std::error_code ignored;
    impl_->socket.close(ignored);
}

} // namespace spead2::recv
