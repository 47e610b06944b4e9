// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// An unbounded in-process packet queue connecting send::inproc_stream to recv::inproc_reader.
#ifndef SPEAD2_COMMON_INPROC_QUEUE_H
#define SPEAD2_COMMON_INPROC_QUEUE_H

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace spead2
{

/**
 * A FIFO of copied packets. Any number of senders may add packets and any number of readers may
 * take them (each packet goes to one reader). Unbounded: add_packet never blocks.
 *
 * Readers wait with asio on get_fd(), which is readable while packets are waiting or the queue is
 * stopped, then call try_pop_batch.
 *
 * All methods may be called from any thread. Hold it in a std::shared_ptr shared by the streams.
 * @throws std::system_error from the constructor if the OS refuses a file descriptor.
 */
class inproc_queue
{
public:
    struct packet
    {
        std::unique_ptr<std::uint8_t[]> data;
        std::size_t size = 0;
    };

private:
    mutable std::mutex mutex_;
    std::deque<packet> packets_;
    bool stopped_ = false;
    bool signalled_ = false; ///< Whether the fd is currently readable
    int read_fd_ = -1;
    int write_fd_ = -1; ///< Same as read_fd_ for an eventfd

    void update_signal_locked();

public:
    inproc_queue();
    ~inproc_queue();
    inproc_queue(const inproc_queue &) = delete;
    inproc_queue &operator=(const inproc_queue &) = delete;

    /// Appends a copy of @a size bytes at @a data. @throws ringbuffer_stopped if stopped
    void add_packet(const void *data, std::size_t size);
    /// Appends @a pkt, taking its buffer without a copy. @throws ringbuffer_stopped if stopped
    void add_packet(packet &&pkt);
    /// Stops the queue: no more packets are accepted; waiting ones can still be taken. Idempotent.
    void stop();
    bool is_stopped() const;
    /// Number of packets waiting (a snapshot).
    std::size_t size() const;

    /**
     * Moves up to @a max_packets waiting packets to the end of @a out without blocking.
     * @returns false when it moved nothing because the queue is stopped and empty (the reader is
     * done), true otherwise (including when it moved the last packets of a stopped queue).
     */
    bool try_pop_batch(std::vector<packet> &out, std::size_t max_packets);

    /// Readable while packets are waiting or the queue is stopped. Owned by the queue.
    int get_fd() const { return read_fd_; }
};

} // namespace spead2

#endif // SPEAD2_COMMON_INPROC_QUEUE_H
