// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The AF_XDP reader (see udp_xdp_reader.h).
#include <spead2/features.h>
#if SPEAD2_USE_XDP

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>
#include <asio.hpp>
#include <spead2/common/logging.h>
#include <spead2/recv/stream.h>
#include <spead2/recv/udp_xdp_reader.h>
#include "os/udp_resolve.h"
#include "os/xdp.h"

namespace spead2::recv
{

namespace
{

constexpr std::size_t max_batch = 64;

} // namespace

udp_xdp_config &udp_xdp_config::set_queue_id(std::uint32_t queue)
{
    queue_ids = {queue};
    return *this;
}

udp_xdp_config &udp_xdp_config::set_queue_ids(const std::vector<std::uint32_t> &queues)
{
    if (queues.empty())
        throw std::invalid_argument("queue_ids is empty");
    for (std::size_t i = 0; i < queues.size(); i++)
        if (std::find(queues.begin(), queues.begin() + std::ptrdiff_t(i), queues[i]) !=
            queues.begin() + std::ptrdiff_t(i))
            throw std::invalid_argument("queue " + std::to_string(queues[i]) + " is given twice");
    queue_ids = queues;
    return *this;
}

udp_xdp_config &udp_xdp_config::set_max_poll(int value)
{
    if (value < 0)
        throw std::invalid_argument("max_poll must be non-negative");
    max_poll = value;
    return *this;
}

udp_xdp_config &udp_xdp_config::set_busy_poll(int usec)
{
    if (usec < 0)
        throw std::invalid_argument("busy_poll must be non-negative");
    busy_poll = usec;
    return *this;
}

udp_xdp_config &udp_xdp_config::set_attach_mode(attach_mode mode)
{
    attach = mode;
    return *this;
}

/// One receive queue: its AF_XDP socket, and the wait for it to be readable.
struct xdp_queue
{
    std::uint32_t id;
    std::unique_ptr<spead2::detail::xsk_receiver> receiver;
    /// Does not own the descriptor (libxdp does).
    asio::posix::stream_descriptor descriptor;

    xdp_queue(asio::io_context &io_context, const spead2::detail::network_interface &iface, std::uint32_t id_,
              std::size_t frames, xdp_copy_mode copy)
        : id(id_)
        , receiver(std::make_unique<spead2::detail::xsk_receiver>(iface, id_, frames, copy))
        , descriptor(io_context, receiver->fd())
    {
    }

    ~xdp_queue() { descriptor.release(); }
};

struct udp_xdp_reader::impl
{
    spead2::detail::network_interface iface;
    bool busy_poll;
    /// Empty looks at the RX ring before sleeping: max_poll, and at least one busy poll with busy_poll.
    int max_poll;
    bool native = false;
    bool zero_copy = false;
    /// The sockets and the program: let go when the stream stops (so that the interface is free
    /// again at once), hence pointers. Declared so that the program, which redirects to the
    /// sockets, goes first.
    std::vector<std::unique_ptr<xdp_queue>> queues;
    std::unique_ptr<spead2::detail::xdp_program> program;
    /// Joins the multicast groups, so that IGMP tells the network to send them here.
    asio::ip::udp::socket join_socket;
    bool receiving = false;       ///< inside receive_batch (stream lock held)
    bool release_pending = false; ///< stopped while receiving: release when the batch ends
    /// Guards @ref queues against release while get_kernel_drops reads it from another thread.
    mutable std::mutex stats_mutex;
    std::uint64_t final_kernel_drops = 0;

    impl(asio::io_context &io_context, const spead2::detail::network_interface &iface_,
         const udp_xdp_config &config)
        : iface(iface_)
        , busy_poll(config.get_busy_poll() > 0)
        , max_poll(busy_poll ? std::max(config.get_max_poll(), 1) : config.get_max_poll())
        , join_socket(io_context)
    {
        const auto &ids = config.get_queue_ids();
        const std::size_t frames =
            config.get_buffer_size() / spead2::detail::xsk_endpoint::frame_size / ids.size();
        for (std::uint32_t id : ids)
        {
            queues.push_back(
                std::make_unique<xdp_queue>(io_context, iface, id, frames, config.get_copy_mode()));
            if (busy_poll)
                queues.back()->receiver->set_busy_poll(config.get_busy_poll(), int(max_batch));
        }
        zero_copy = queues.front()->receiver->zero_copy();
        program = std::make_unique<spead2::detail::xdp_program>();
    }

    std::uint64_t kernel_drops() const
    {
        std::uint64_t total = 0;
        for (const auto &q : queues)
            total += q->receiver->kernel_drops();
        return total;
    }

    /// Detaches the program, closes the sockets and leaves the groups.
    void release()
    {
        if (queues.empty())
            return;
        program.reset();
        {
            std::lock_guard<std::mutex> lock(stats_mutex);
            final_kernel_drops = kernel_drops();
            queues.clear();
        }
        std::error_code ignored;
        join_socket.close(ignored);
    }

    ~impl() { release(); }
};

udp_xdp_reader::udp_xdp_reader(stream &owner, const udp_xdp_config &config)
    : raw_frame_reader(owner)
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
        spead2::detail::resolve_ipv4(config.get_interface_address(), "interface address");
    const auto iface = spead2::detail::interface_by_ipv4(interface_address.to_uint());
    impl_ = std::make_unique<impl>(owner.get_io_context(), iface, config);
    for (const auto &[address, port] : config.get_endpoints())
    {
        const asio::ip::address_v4 a = spead2::detail::resolve_ipv4(address, "endpoint");
        impl_->program->add_endpoint(a.to_uint(), port);
        if (a.is_multicast())
        {
            if (!impl_->join_socket.is_open())
                impl_->join_socket.open(asio::ip::udp::v4());
            impl_->join_socket.set_option(asio::ip::multicast::join_group(a, interface_address));
        }
    }
    std::string queue_list;
    for (const auto &q : impl_->queues)
    {
        impl_->program->set_socket(q->id, q->receiver->fd());
        queue_list += (queue_list.empty() ? "" : ",") + std::to_string(q->id);
    }
    impl_->program->attach(iface, config.get_attach_mode());
    impl_->native = impl_->program->native();
    SPEAD2_LOG_INFO("udp_xdp_reader: attached to %s queue %s (%s XDP, %s)", iface.name.c_str(),
                    queue_list.c_str(), impl_->native ? "native" : "generic",
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
    return impl_->queues.empty() ? impl_->final_kernel_drops : impl_->kernel_drops();
}

void udp_xdp_reader::start()
{
    for (std::size_t i = 0; i < impl_->queues.size(); i++)
        enqueue_wait(i);
}

void udp_xdp_reader::stop()
{
    std::error_code ignored;
    for (auto &q : impl_->queues)
        q->descriptor.cancel(ignored);
    // A stop heap stops the stream from inside receive_batch, which is still walking the ring.
    if (impl_->receiving)
        impl_->release_pending = true;
    else
        impl_->release();
}

void udp_xdp_reader::enqueue_wait(std::size_t queue)
{
    impl_->queues[queue]->descriptor.async_wait(
        asio::posix::descriptor_base::wait_read,
        bind_handler(
            [this, queue](stream_base::add_packet_state &state, const std::error_code &error)
            {
                if (error == asio::error::operation_aborted || state.is_stopped())
                    return;
                if (error)
                {
                    log_warning("udp_xdp_reader: error waiting on socket: %s", error.message().c_str());
                    state.stop();
                    return;
                }
                receive_batch(state, queue);
            }));
}

void udp_xdp_reader::enqueue_receive(std::size_t queue)
{
    // A full batch suggests more is waiting: read again without a trip through the reactor, but
    // as a new handler so that other work on the io_context gets a turn.
    asio::post(get_io_context(), bind_handler(
                                     [this, queue](stream_base::add_packet_state &state)
                                     {
                                         if (!state.is_stopped())
                                             receive_batch(state, queue);
                                     }));
}

void udp_xdp_reader::receive_batch(stream_base::add_packet_state &state, std::size_t queue)
{
    impl &s = *impl_;
    spead2::detail::xsk_receiver &receiver = *s.queues[queue]->receiver;
    auto handle = [&](const std::uint8_t *data, std::size_t size) { add_frame(state, data, size); };
    s.receiving = true;
    // Look at the ring again until it has been empty max_poll + 1 times in a row: frames that
    // arrived while the last ones were handled cost a read of shared memory here, where going
    // back to the reactor would cost a wake-up (system calls and a context switch). With busy
    // polling, the kernel polls the NIC queue before each look after an empty one.
    std::size_t received = 0;
    int empty_polls = 0;
    while (received < max_batch && !s.release_pending && !state.is_stopped())
    {
        if (empty_polls > 0 && s.busy_poll)
            receiver.poll_kernel();
        const std::size_t n = receiver.receive(max_batch - received, handle);
        received += n;
        empty_polls = n ? 0 : empty_polls + 1;
        if (empty_polls > s.max_poll)
            break;
    }
    s.receiving = false;
    if (s.release_pending)
    {
        s.release();
        return;
    }
    if (state.is_stopped())
        return;
    if (received == max_batch)
        enqueue_receive(queue);
    else
        enqueue_wait(queue);
}

} // namespace spead2::recv

#endif // SPEAD2_USE_XDP
