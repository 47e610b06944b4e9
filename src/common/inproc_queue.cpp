// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The in-process packet queue.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>
#include <unistd.h>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/ringbuffer.h>
#include <spead2/features.h>
#include "os/fd.h"

namespace spead2
{

/*
 * The fd is a level-triggered flag rather than a counter: it is made readable when the queue
 * becomes non-empty or stopped, and drained when it becomes empty again. This keeps it to at most
 * one syscall per batch instead of one per packet. Both transitions happen under the mutex, so the
 * flag always matches the queue state once the lock is released.
 */
inproc_queue::inproc_queue()
{
#if SPEAD2_USE_EVENTFD
    read_fd_ = write_fd_ = detail::make_eventfd(0, false);
#else
    detail::make_pipe(read_fd_, write_fd_);
#endif
}

inproc_queue::~inproc_queue()
{
    detail::close_fd(read_fd_);
    if (write_fd_ != read_fd_)
        detail::close_fd(write_fd_);
}

void inproc_queue::update_signal_locked()
{
    bool want = stopped_ || !packets_.empty();
    if (want == signalled_)
        return;
    if (want)
    {
#if SPEAD2_USE_EVENTFD
        std::uint64_t one = 1;
        detail::write_all(write_fd_, &one, sizeof(one), "inproc_queue signal");
#else
        char byte = 0;
        detail::write_all(write_fd_, &byte, 1, "inproc_queue signal");
#endif
    }
    else
    {
        // eventfd (non-semaphore mode) reads reset the counter to zero; the pipe holds one byte.
        std::uint64_t buffer;
        ssize_t ret;
        do
        {
            ret = ::read(read_fd_, &buffer, sizeof(buffer));
        } while (ret < 0 && errno == EINTR);
        if (ret < 0 && errno != EAGAIN)
            throw std::system_error(errno, std::system_category(), "inproc_queue clear");
    }
    signalled_ = want;
}

void inproc_queue::add_packet(const void *data, std::size_t size)
{
    // Copied before taking the lock so that senders do not serialise on the memcpy.
    packet pkt;
    pkt.data.reset(new std::uint8_t[size]);
    pkt.size = size;
    if (size)
        std::memcpy(pkt.data.get(), data, size);
    add_packet(std::move(pkt));
}

void inproc_queue::add_packet(packet &&pkt)
{
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_)
        throw ringbuffer_stopped();
    packets_.push_back(std::move(pkt));
    update_signal_locked();
}

void inproc_queue::stop()
{
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    update_signal_locked();
}

bool inproc_queue::is_stopped() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return stopped_;
}

std::size_t inproc_queue::size() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return packets_.size();
}

bool inproc_queue::try_pop_batch(std::vector<packet> &out, std::size_t max_packets)
{
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t n = std::min(max_packets, packets_.size());
    for (std::size_t i = 0; i < n; i++)
    {
        out.push_back(std::move(packets_.front()));
        packets_.pop_front();
    }
    update_signal_locked();
    return n > 0 || !stopped_ || !packets_.empty();
}

} // namespace spead2
