// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The ibverbs reader (see udp_ibv_reader.h).
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
#include <asio.hpp>
#include <spead2/common/logging.h>
#include <spead2/recv/stream.h>
#include <spead2/recv/udp_ibv_reader.h>
#include <spead2/recv/udp_reader.h>
#include "os/ibv_receiver.h"
#include "os/ibverbs_library.h"
#include "os/neighbour.h"
#include "os/udp_resolve.h"

namespace spead2::recv
{

udp_ibv_config &udp_ibv_config::set_max_size(std::size_t size)
{
    if (size == 0)
        throw std::invalid_argument("max_size must be positive");
    max_size = size;
    return *this;
}

#if SPEAD2_USE_IBV

struct udp_ibv_reader::impl
{
    int max_poll;
    std::size_t slots;
    /// Let go when the stream stops (so that the device is free again at once), hence a pointer.
    std::unique_ptr<spead2::detail::ibv_receiver> receiver;
    /// Waits for the completion channel; does not own its descriptor.
    std::unique_ptr<asio::posix::stream_descriptor> descriptor;
    /// Joins the multicast groups, so that IGMP tells the network to send them here.
    asio::ip::udp::socket join_socket;
    bool receiving = false;       ///< inside receive_batch (stream lock held)
    bool release_pending = false; ///< stopped while receiving: release when the batch ends

    impl(asio::io_context &io_context, std::uint32_t interface_address, const udp_ibv_config &config)
        : max_poll(config.get_max_poll())
        , receiver(std::make_unique<spead2::detail::ibv_receiver>(
              interface_address, config.get_buffer_size(), config.get_max_size(), config.get_comp_vector()))
        , join_socket(io_context)
    {
        slots = receiver->slots();
        if (slots < receiver->wanted_slots())
            log_warning("udp_ibv_reader: the device takes at most %zu receive slots; buffer reduced from %zu "
                        "to %zu bytes",
                        slots, receiver->wanted_slots() * receiver->slot_size(),
                        slots * receiver->slot_size());
        if (receiver->channel_fd() >= 0)
            descriptor = std::make_unique<asio::posix::stream_descriptor>(io_context, receiver->channel_fd());
    }

    /// Lets go of the device: rules, queues, memory. The descriptor belongs to the channel.
    void release()
    {
        if (!receiver)
            return;
        if (descriptor)
            descriptor->release();
        descriptor.reset();
        receiver.reset();
        std::error_code ignored;
        join_socket.close(ignored);
    }

    ~impl() { release(); }
};

udp_ibv_reader::udp_ibv_reader(stream &owner, const udp_ibv_config &config)
    : raw_frame_reader(owner)
{
    if (config.get_endpoints().empty())
        throw std::invalid_argument("endpoints is empty");
    if (config.get_interface_address().empty())
        throw std::invalid_argument("interface address has not been specified");
    const asio::ip::address_v4 interface_address =
        spead2::detail::resolve_ipv4(config.get_interface_address(), "interface address");
    std::vector<asio::ip::address_v4> addresses;
    for (const auto &[address, port] : config.get_endpoints())
        addresses.push_back(spead2::detail::resolve_ipv4(address, "endpoint"));
    spead2::detail::require_ibverbs();
    impl_ = std::make_unique<impl>(owner.get_io_context(), interface_address.to_uint(), config);
    const auto iface = spead2::detail::interface_by_ipv4(interface_address.to_uint());
    const frame::mac_address own_mac = spead2::detail::interface_mac(iface.name);
    for (std::size_t i = 0; i < addresses.size(); i++)
    {
        const asio::ip::address_v4 &a = addresses[i];
        const std::uint16_t port = config.get_endpoints()[i].second;
        const frame::mac_address mac = a.is_multicast() ? frame::multicast_mac(a.to_uint()) : own_mac;
        impl_->receiver->add_flow(mac, a.to_uint(), port);
        if (a.is_multicast())
        {
            if (!impl_->join_socket.is_open())
                impl_->join_socket.open(asio::ip::udp::v4());
            impl_->join_socket.set_option(asio::ip::multicast::join_group(a, interface_address));
        }
    }
    SPEAD2_LOG_INFO("udp_ibv_reader: %zu slots of %zu bytes on %s, %s", impl_->slots,
                    impl_->receiver->slot_size(), iface.name.c_str(),
                    impl_->descriptor ? "interrupts" : "busy polling");
}

udp_ibv_reader::~udp_ibv_reader() = default;

std::size_t udp_ibv_reader::get_slots() const
{
    return impl_->slots;
}

void udp_ibv_reader::start()
{
    enqueue_receive();
}

void udp_ibv_reader::stop()
{
    if (impl_->descriptor)
    {
        std::error_code ignored;
        impl_->descriptor->cancel(ignored);
    }
    // A stop heap stops the stream from inside receive_batch, which is still walking the completions.
    if (impl_->receiving)
        impl_->release_pending = true;
    else
        impl_->release();
}

void udp_ibv_reader::enqueue_wait()
{
    impl_->descriptor->async_wait(
        asio::posix::descriptor_base::wait_read,
        bind_handler(
            [this](stream_base::add_packet_state &state, const std::error_code &error)
            {
                if (error == asio::error::operation_aborted || state.is_stopped())
                    return;
                if (error)
                {
                    log_warning("udp_ibv_reader: error waiting on the completion channel: %s",
                                error.message().c_str());
                    state.stop();
                    return;
                }
                receive_batch(state, true);
            }));
}

void udp_ibv_reader::enqueue_receive()
{
    // As a new handler, so that other work on the io_context gets a turn between batches.
    asio::post(get_io_context(), bind_handler(
                                     [this](stream_base::add_packet_state &state)
                                     {
                                         if (!state.is_stopped())
                                             receive_batch(state, false);
                                     }));
}

void udp_ibv_reader::receive_batch(stream_base::add_packet_state &state, bool woken)
{
    try
    {
        if (woken)
            impl_->receiver->take_events();
        receive_some(state);
    }
    catch (std::exception &e)
    {
        // The device failed under us (a verbs call refused): nothing more will arrive.
        log_warning("udp_ibv_reader: %s; the reader stops", e.what());
        impl_->receiving = false;
        impl_->release();
        state.stop();
    }
}

void udp_ibv_reader::receive_some(stream_base::add_packet_state &state)
{
    impl &s = *impl_;
    spead2::detail::ibv_receiver &receiver = *s.receiver;
    auto handle = [&](const std::uint8_t *data, std::size_t size, std::uint64_t)
    {
        if (data)
            add_frame(state, data, size);
        else
        {
            // A failed completion (usually a frame longer than a slot): the frame is lost.
            completion_errors_.fetch_add(1, std::memory_order_relaxed);
            count_drop(state);
        }
    };
    auto poll = [&] { return receiver.receive(handle, !s.release_pending); };

    s.receiving = true;
    int n = poll();
    for (int polls = 1; n == 0 && polls < s.max_poll && !s.release_pending; polls++)
        n = poll();
    bool sleep = false;
    if (n == 0 && s.descriptor && !s.release_pending && !state.is_stopped())
    {
        // Arm the channel (only to sleep: each arming costs an event), then look once more: a
        // completion that came in between raised no event.
        receiver.arm();
        n = poll();
        sleep = (n == 0);
    }
    s.receiving = false;
    if (s.release_pending)
    {
        s.release();
        return;
    }
    if (state.is_stopped())
        return;
    if (sleep)
        enqueue_wait();
    else
        enqueue_receive();
}

#else // !SPEAD2_USE_IBV

struct udp_ibv_reader::impl
{
};

udp_ibv_reader::udp_ibv_reader(stream &owner, const udp_ibv_config &config)
    : raw_frame_reader(owner)
{
    if (config.get_endpoints().empty())
        throw std::invalid_argument("endpoints is empty");
    if (config.get_interface_address().empty())
        throw std::invalid_argument("interface address has not been specified");
    throw std::runtime_error("this build of spead2 has no ibverbs support (build it with libibverbs-dev and "
                             "librdmacm-dev installed)");
}

udp_ibv_reader::~udp_ibv_reader() = default;
std::size_t udp_ibv_reader::get_slots() const
{
    return 0;
}
void udp_ibv_reader::start() {}
void udp_ibv_reader::stop() {}

#endif // SPEAD2_USE_IBV

namespace detail
{

namespace
{

/// The interface address in SPEAD2_IBV_INTERFACE, or null when the override is off.
const char *override_interface()
{
#if SPEAD2_USE_IBV
    const char *value = std::getenv("SPEAD2_IBV_INTERFACE");
    return (value && *value) ? value : nullptr;
#else
    return nullptr;
#endif
}

std::unique_ptr<reader> make_override(stream &owner, const asio::ip::address &address, std::uint16_t port,
                                      std::size_t max_size, std::size_t buffer_size,
                                      const std::string &interface_address)
{
    if (!address.is_v4())
        return nullptr; // ibverbs is IPv4 only: IPv6 readers stay kernel readers
    udp_ibv_config config;
    config.add_endpoint(address.to_string(), port).set_interface_address(interface_address);
    config.set_max_size(max_size).set_buffer_size(buffer_size);
    if (const char *vector = std::getenv("SPEAD2_IBV_COMP_VECTOR"); vector && *vector)
    {
        char *end = nullptr;
        const long value = std::strtol(vector, &end, 10);
        if (*end != '\0' || value < -0x8000 || value > 0x7fff)
            throw std::invalid_argument(std::string("SPEAD2_IBV_COMP_VECTOR is not an integer: ") + vector);
        config.set_comp_vector(int(value));
    }
    return std::make_unique<udp_ibv_reader>(owner, config);
}

} // namespace

std::unique_ptr<reader> udp_ibv_override(stream &owner, const std::string &address, std::uint16_t port,
                                         std::size_t max_size, std::size_t buffer_size)
{
    const char *iface = override_interface();
    if (!iface)
        return nullptr;
    return make_override(owner, spead2::detail::resolve_address(address), port, max_size, buffer_size, iface);
}

std::unique_ptr<reader> udp_ibv_override(stream &owner, const std::string &address, std::uint16_t port,
                                         std::size_t max_size, std::size_t buffer_size,
                                         const std::string &interface_address)
{
    const char *iface = override_interface();
    if (!iface)
        return nullptr;
    // An unspecified interface (as from add_udp_reader without one) leaves the choice to the variable.
    const bool unspecified =
        interface_address.empty() || spead2::detail::resolve_address(interface_address).is_unspecified();
    return make_override(owner, spead2::detail::resolve_address(address), port, max_size, buffer_size,
                         unspecified ? std::string(iface) : interface_address);
}

std::unique_ptr<reader> udp_ibv_override(stream &owner, const asio::ip::udp::endpoint &endpoint,
                                         std::size_t max_size, std::size_t buffer_size)
{
    const char *iface = override_interface();
    if (!iface)
        return nullptr;
    return make_override(owner, endpoint.address(), endpoint.port(), max_size, buffer_size, iface);
}

std::unique_ptr<reader> udp_ibv_override(stream &owner, const asio::ip::udp::endpoint &endpoint,
                                         std::size_t max_size, std::size_t buffer_size,
                                         const asio::ip::address_v4 &interface_address)
{
    const char *iface = override_interface();
    if (!iface)
        return nullptr;
    return make_override(owner, endpoint.address(), endpoint.port(), max_size, buffer_size,
                         interface_address.is_unspecified() ? std::string(iface)
                                                            : interface_address.to_string());
}

} // namespace detail

} // namespace spead2::recv
