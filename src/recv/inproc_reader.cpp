// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The in-process queue reader.
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <unistd.h>
#include <asio.hpp>
#include <spead2/common/logging.h>
#include <spead2/recv/inproc_reader.h>
#include <spead2/recv/stream.h>

namespace spead2::recv
{

namespace
{
constexpr std::size_t max_batch = 64;
} // namespace

struct inproc_reader::impl
{
    /// Owns a duplicate of the queue's fd (asio closes what it owns).
    asio::posix::stream_descriptor descriptor;

    impl(asio::io_context &io_context, int fd)
        : descriptor(io_context)
    {
        const int dup_fd = ::dup(fd);
        if (dup_fd < 0)
            throw std::system_error(errno, std::system_category(), "dup of inproc_queue fd failed");
        descriptor.assign(dup_fd);
    }
};

inproc_reader::inproc_reader(stream &owner, std::shared_ptr<inproc_queue> queue)
    : reader(owner)
    , queue_(std::move(queue))
{
    if (!queue_)
        throw std::invalid_argument("inproc_reader: queue is null");
    impl_ = std::make_unique<impl>(get_io_context(), queue_->get_fd());
    batch_.reserve(max_batch);
}

inproc_reader::~inproc_reader() = default;

void inproc_reader::start()
{
    enqueue();
}

void inproc_reader::enqueue()
{
    impl_->descriptor.async_wait(
        asio::posix::stream_descriptor::wait_read,
        bind_handler([this](stream_base::add_packet_state &state, const std::error_code &error)
                     { packet_handler(state, error); }));
}

void inproc_reader::packet_handler(stream_base::add_packet_state &state, const std::error_code &error)
{
    if (error == asio::error::operation_aborted || state.is_stopped())
        return;
    if (error)
    {
        log_warning("inproc_reader: error waiting on queue: %s", error.message().c_str());
        state.stop();
        return;
    }
    batch_.clear();
    const bool more = queue_->try_pop_batch(batch_, max_batch);
    for (const auto &p : batch_)
    {
        if (state.is_stopped())
            break;
        add_datagram(state, p.data.get(), p.size); // the queue's own sender: nothing to count
    }
    batch_.clear();
    if (!more)
        state.stop();
    else if (!state.is_stopped())
        enqueue();
}

void inproc_reader::stop()
{
    std::error_code ignored;
    impl_->descriptor.cancel(ignored);
}

} // namespace spead2::recv
