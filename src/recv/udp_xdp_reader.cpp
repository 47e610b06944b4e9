// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The AF_XDP reader (see udp_xdp_reader.h).
#include <spead2/features.h>
#if SPEAD2_USE_XDP

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <asio.hpp>
#include <spead2/common/logging.h>
#include <spead2/protocol/packet_header.h>
#include <spead2/recv/stream.h>
#include <spead2/recv/udp_xdp_reader.h>
#include "os/udp_resolve.h"
#include "os/xdp.h"

namespace spead2::recv
{

namespace
{

constexpr std::size_t max_batch = 64;
// Tagged frames belong to a VLAN interface, not this one. The IP header checksum is cheap and
// catches corruption the NIC let through, but the UDP checksum of a frame from this host is left
// to offload and is not final.
constexpr frame::parse_options xdp_parse_options{
    .allow_vlan = false, .allow_ip_options = false, .verify_ip_checksum = true, .verify_udp_checksum = false};

asio::ip::address_v4 parse_v4(const std::string &address, const char *what)
{
    return spead2::detail::resolve_ipv4(address, what);
}

} // namespace

udp_xdp_config &udp_xdp_config::set_endpoints(const std::vector<std::pair<std::string, std::uint16_t>> &value)
{
    for (const auto &[address, port] : value)
        parse_v4(address, "endpoint");
    endpoints = value;
    return *this;
}

udp_xdp_config &udp_xdp_config::add_endpoint(const std::string &address, std::uint16_t port)
{
    parse_v4(address, "endpoint");
    endpoints.emplace_back(address, port);
    return *this;
}

udp_xdp_config &udp_xdp_config::set_interface_address(const std::string &address)
{
    parse_v4(address, "interface address");
    interface_address = address;
    return *this;
}

udp_xdp_config &udp_xdp_config::set_buffer_size(std::size_t size)
{
    if (size == 0)
        throw std::invalid_argument("buffer_size must be positive");
    buffer_size = size;
    return *this;
}

udp_xdp_config &udp_xdp_config::set_queue_id(std::uint32_t queue)
{
    queue_id = queue;
    return *this;
}

udp_xdp_config &udp_xdp_config::set_max_poll(int value)
{
    if (value < 0)
        throw std::invalid_argument("max_poll must be non-negative");
    max_poll = value;
    return *this;
}

udp_xdp_config &udp_xdp_config::set_attach_mode(attach_mode mode)
{
    attach = mode;
    return *this;
}

udp_xdp_config &udp_xdp_config::set_copy_mode(copy_mode mode)
{
    copy = mode;
    return *this;
}

struct udp_xdp_reader::impl
{
    spead2::detail::xdp_interface iface;
    int max_poll;
    bool native = false;
    bool zero_copy = false;
    /// The socket and the program: let go when the stream stops (so that the interface is free
    /// again at once), hence pointers. Declared so that the program, which redirects to the
    /// socket, goes first.
    std::unique_ptr<spead2::detail::xsk_receiver> receiver;
    std::unique_ptr<spead2::detail::xdp_program> program;
    /// Joins the multicast groups, so that IGMP tells the network to send them here.
    asio::ip::udp::socket join_socket;
    /// Waits for the AF_XDP socket to be readable; does not own the descriptor (libxdp does).
    asio::posix::stream_descriptor descriptor;
    bool receiving = false;       ///< inside receive_batch (stream lock held)
    bool release_pending = false; ///< stopped while receiving: release when the batch ends
    /// Guards @ref receiver against release while get_kernel_drops reads it from another thread.
    mutable std::mutex stats_mutex;
    std::uint64_t final_kernel_drops = 0;

    impl(asio::io_context &io_context, const spead2::detail::xdp_interface &iface_,
         const udp_xdp_config &config)
        : iface(iface_)
        , max_poll(config.get_max_poll())
        , receiver(std::make_unique<spead2::detail::xsk_receiver>(
              iface_, config.get_queue_id(),
              config.get_buffer_size() / spead2::detail::xsk_endpoint::frame_size, config.get_copy_mode()))
        , program(std::make_unique<spead2::detail::xdp_program>())
        , join_socket(io_context)
        , descriptor(io_context, receiver->fd())
    {
        zero_copy = receiver->zero_copy();
    }

    /// Detaches the program, closes the socket and leaves the groups.
    void release()
    {
        if (!receiver)
            return;
        descriptor.release();
        program.reset();
        {
            std::lock_guard<std::mutex> lock(stats_mutex);
            final_kernel_drops = receiver->kernel_drops();
            receiver.reset();
        }
        std::error_code ignored;
        join_socket.close(ignored);
    }

    ~impl() { release(); }
};

udp_xdp_reader::udp_xdp_reader(stream &owner, const udp_xdp_config &config)
    : reader(owner)
{
    spead2::detail::set_xdp_log_function(
        [](bool warning, const std::string &message)
        {
            if (warning)
                log_warning("libbpf: %s", message.c_str());
            else
                log_info("libbpf: %s", message.c_str());
        });
    if (config.get_endpoints().empty())
        throw std::invalid_argument("endpoints is empty");
    if (config.get_interface_address().empty())
        throw std::invalid_argument("interface address has not been set");
    const asio::ip::address_v4 interface_address =
        parse_v4(config.get_interface_address(), "interface address");
    const auto iface = spead2::detail::interface_by_ipv4(interface_address.to_uint());
    impl_ = std::make_unique<impl>(owner.get_io_context(), iface, config);
    for (const auto &[address, port] : config.get_endpoints())
    {
        const asio::ip::address_v4 a = parse_v4(address, "endpoint");
        impl_->program->add_endpoint(a.to_uint(), port);
        if (a.is_multicast())
        {
            if (!impl_->join_socket.is_open())
                impl_->join_socket.open(asio::ip::udp::v4());
            impl_->join_socket.set_option(asio::ip::multicast::join_group(a, interface_address));
        }
    }
    impl_->program->set_socket(config.get_queue_id(), impl_->receiver->fd());
    impl_->program->attach(iface, config.get_attach_mode());
    impl_->native = impl_->program->native();
    SPEAD2_LOG_INFO("udp_xdp_reader: attached to %s queue %u (%s XDP, %s)", iface.name.c_str(),
                    unsigned(config.get_queue_id()), impl_->native ? "native" : "generic",
                    impl_->zero_copy ? "zero-copy" : "copy mode");
}

udp_xdp_reader::~udp_xdp_reader() = default;

bool udp_xdp_reader::is_native() const
{
    return impl_->native;
}

bool udp_xdp_reader::is_zero_copy() const
{
    return impl_->zero_copy;
}

const std::string &udp_xdp_reader::get_interface_name() const
{
    return impl_->iface.name;
}

std::uint64_t udp_xdp_reader::get_kernel_drops() const
{
    std::lock_guard<std::mutex> lock(impl_->stats_mutex);
    return impl_->receiver ? impl_->receiver->kernel_drops() : impl_->final_kernel_drops;
}

void udp_xdp_reader::start()
{
    enqueue_wait();
}

void udp_xdp_reader::stop()
{
    std::error_code ignored;
    impl_->descriptor.cancel(ignored);
    // A stop heap stops the stream from inside receive_batch, which is still walking the ring.
    if (impl_->receiving)
        impl_->release_pending = true;
    else
        impl_->release();
}

void udp_xdp_reader::enqueue_wait()
{
    impl_->descriptor.async_wait(
        asio::posix::descriptor_base::wait_read,
        bind_handler(
            [this](stream_base::add_packet_state &state, const std::error_code &error)
            {
                if (error == asio::error::operation_aborted || state.is_stopped())
                    return;
                if (error)
                {
                    log_warning("udp_xdp_reader: error waiting on socket: %s", error.message().c_str());
                    state.stop();
                    return;
                }
                receive_batch(state);
            }));
}

void udp_xdp_reader::enqueue_receive()
{
    // A full batch suggests more is waiting: read again without a trip through the reactor, but
    // as a new handler so that other work on the io_context gets a turn.
    asio::post(impl_->descriptor.get_executor(), bind_handler(
                                                     [this](stream_base::add_packet_state &state)
                                                     {
                                                         if (!state.is_stopped())
                                                             receive_batch(state);
                                                     }));
}

void udp_xdp_reader::add_frame(stream_base::add_packet_state &state, const std::uint8_t *data,
                               std::size_t size)
{
    if (state.is_stopped())
        return; // the frame is recycled unread, as the socket would drop it
    frame::udp_frame f;
    const frame::drop_reason reason =
        frame::parse_udp_frame(data, size, f, frame::link_type::ethernet, xdp_parse_options);
    if (reason != frame::drop_reason::accepted)
    {
        dropped_frames_[std::size_t(reason)].fetch_add(1, std::memory_order_relaxed);
        return;
    }
    packet_header packet;
    const std::size_t decoded = decode_packet(packet, f.payload, f.payload_size);
    if (decoded == f.payload_size && decoded != 0)
        state.add_packet(packet);
    else
        rejected_datagrams_.fetch_add(1, std::memory_order_relaxed);
}

void udp_xdp_reader::receive_batch(stream_base::add_packet_state &state)
{
    impl &s = *impl_;
    auto handle = [&](const std::uint8_t *data, std::size_t size) { add_frame(state, data, size); };
    s.receiving = true;
    std::size_t received = s.receiver->receive(max_batch, handle);
    for (int polls = 0; received == 0 && polls < s.max_poll && !s.release_pending; polls++)
        received = s.receiver->receive(max_batch, handle);
    s.receiving = false;
    if (s.release_pending)
    {
        s.release();
        return;
    }
    if (state.is_stopped())
        return;
    if (received == max_batch)
        enqueue_receive();
    else
        enqueue_wait();
}

} // namespace spead2::recv

#endif // SPEAD2_USE_XDP
