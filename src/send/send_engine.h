// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The transport-independent send core: walks the heap queue, packetises heaps into batches for
/// the writer, applies the rate limit and completes heaps in order.
#ifndef SPEAD2_SEND_SEND_ENGINE_H
#define SPEAD2_SEND_SEND_ENGINE_H

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <system_error>
#include <vector>
#include <asio.hpp>
#include <spead2/send/detail/heap_queue.h>
#include <spead2/send/stream.h>
#include <spead2/send/writer.h>
#include "send/rate_limiter.h"

namespace spead2::send::detail
{

/**
 * One per stream, between its heap_queue and its writer (the transport).
 *
 * Threads: one step in flight at a time (a posted run(), a running run() loop, an armed
 * rate-limit timer, or a batch in the transport awaiting batch_done()); each step starts at most
 * one next step or makes the engine idle. So nothing here, and nothing in the transport, needs a
 * lock; the queue's lock is taken only to read its tail, free slots, go idle and (while a
 * flush_queued() waits) note returned handlers. See
 * docs/dev/locking-and-shutdown.md.
 */
class send_engine
{
public:
    send_engine(heap_queue &queue, writer &transport);

    /// Starts a step on the io_context (the caller claimed the idle engine).
    void wakeup();
    /**
     * Instead of wakeup(), for stream::async_send_heap(s)_inline: runs on the calling thread
     * (without the queue lock), as the one step in flight, until the heaps before queue index
     * @a until have completed; whatever is queued after them is handed to the io_context, so a
     * blocking sender never ends up serving other threads' heaps indefinitely.
     */
    void run_inline(std::uint64_t until);
    /// The transport has finished the batch given to send_batch (see writer::batch_done).
    void batch_done();

private:
    struct pending_callback
    {
        stream::completion_handler handler;
        std::error_code ec;
        item_pointer_t bytes = 0;
    };

    /**
     * Hand-over between the thread in send_batch and batch_done(), which a transport may call
     * before send_batch returns, on the same thread or (asynchronous I/O completing at once on an
     * io_context thread) on another. Whichever of the two comes second carries on the run.
     */
    enum batch_phase : int
    {
        idle,
        sending,
        done_while_sending
    };

    static constexpr std::uint64_t no_inline_limit = ~std::uint64_t(0);

    heap_queue &queue_;
    writer &transport_;
    asio::steady_timer timer_;
    rate_limiter limiter_;
    std::size_t max_packet_size_;
    /**
     * One header buffer per packet of a batch, grown to the largest header seen (a header holds
     * the heap's pointers, usually far fewer bytes than max_packet_size, which may be huge).
     */
    std::vector<std::vector<std::uint8_t>> scratch_;
    packet_batch batch_;
    std::vector<pending_callback> callbacks_;

    // Walk of the queue (absolute indices). Groups before next_group_ are fully packetised.
    std::uint64_t completed_ = 0;  ///< Heaps before this one are done (the queue's head, once freed)
    std::uint64_t next_group_ = 0; ///< First heap of the group being (or next to be) packetised
    bool group_active_ = false;
    std::uint64_t group_end_ = 0;
    std::uint64_t cursor_ = 0; ///< Heap that supplies the next packet
    std::size_t unfinished_ = 0;
    group_mode mode_ = group_mode::SERIAL;
    std::atomic<int> batch_state_{idle};

    /// The loop; with @a until, stops on the calling thread as run_inline describes.
    void run(std::uint64_t until = no_inline_limit);
    /// Packetises the next packets (up to a batch, within the burst); false if there were none.
    bool fill_batch();
    /// Records the batch's results and completes the groups it finished.
    void process_results();
};

} // namespace spead2::send::detail

#endif // SPEAD2_SEND_SEND_ENGINE_H
