// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A stream that delivers heaps through a bounded ringbuffer.
#ifndef SPEAD2_RECV_RING_STREAM_H
#define SPEAD2_RECV_RING_STREAM_H

#include <cinttypes>
#include <cstdint>
#include <iterator>
#include <utility>
#include <spead2/common/logging.h>
#include <spead2/common/ringbuffer.h>
#include <spead2/recv/heap.h>
#include <spead2/recv/live_heap.h>
#include <spead2/recv/ring_stream_config.h>
#include <spead2/recv/stream.h>

namespace spead2::recv
{

/**
 * A stream whose heaps go into a ringbuffer of ring_config.get_heaps() live heaps, for a
 * consumer thread to pop. A full ring blocks the worker (counted at once in worker_blocked).
 *
 * Stopping: a network stop (stop item, end of transport) flushes live heaps into the ring and
 * then stops the ring, so the consumer sees everything and then ringbuffer_stopped. A user
 * stop() stops the ring first (which unblocks a worker stuck on it) and drops whatever is still
 * in flight with "dropped heap N due to external stop".
 *
 * Threads: pop*(), try_pop*() from any consumer thread; stop() from any thread. The destructor
 * stops the stream; the consumer must not be blocked in pop() on a destroyed stream.
 */
template<typename Ringbuffer = ringbuffer<live_heap>>
class ring_stream : public stream
{
private:
    const ring_stream_config ring_config_;
    Ringbuffer ready_heaps_;

protected:
    void heap_ready(live_heap &&h) override
    {
        if (ring_config_.get_contiguous_only() && !h.is_contiguous())
        {
            log_warning("dropped incomplete heap %" PRId64 " (%" PRId64 "/%" PRId64 " bytes of payload)",
                        std::int64_t(h.get_cnt()), std::int64_t(h.get_received_length()),
                        std::int64_t(h.get_heap_length()));
            return;
        }
        const s_item_pointer_t cnt = h.get_cnt();
        // A consumer slower than the network keeps the ring full, so "full" is a normal outcome
        // here: ask for a status rather than catching ringbuffer_full. h is untouched unless pushed.
        using status = typename Ringbuffer::push_status;
        status result = ready_heaps_.try_push_status(std::move(h));
        if (result == status::full)
        {
            add_stat_now(stream_stat_indices::WORKER_BLOCKED, 1);
            publish_batch_stats(); // statistics read while we wait include this batch so far
            if (has_lossy_reader())
                log_warning("worker thread blocked by full ringbuffer on heap %" PRId64, std::int64_t(cnt));
            try
            {
                ready_heaps_.push(std::move(h));
                result = status::pushed;
            }
            catch (ringbuffer_stopped &)
            {
                result = status::stopped;
            }
        }
        if (result == status::stopped)
            log_info("dropped heap %" PRId64 " due to external stop", std::int64_t(cnt));
    }

    void stop_received() override
    {
        stream::stop_received();
        // Consumers that see the ring stop must also see the final statistics.
        publish_batch_stats();
        ready_heaps_.stop();
    }

public:
    /// @throws std::invalid_argument from the configs
    explicit ring_stream(io_context_ref io_context, const stream_config &config = stream_config(),
                         const ring_stream_config &ring_config = ring_stream_config())
        : stream(std::move(io_context), config)
        , ring_config_(ring_config)
        , ready_heaps_(ring_config.get_heaps())
    {
    }

    ~ring_stream() override
    {
        stop();
        detach_shared();
    }

    const ring_stream_config &get_ring_config() const { return ring_config_; }
    Ringbuffer &get_ringbuffer() { return ready_heaps_; }
    const Ringbuffer &get_ringbuffer() const { return ready_heaps_; }

    /// Next heap (complete or not), blocking. @throws ringbuffer_stopped once stopped and drained
    live_heap pop_live() { return ready_heaps_.pop(); }
    /// @throws ringbuffer_empty, ringbuffer_stopped
    live_heap try_pop_live() { return ready_heaps_.try_pop(); }

    /// Next contiguous heap, frozen; others are skipped. @throws ringbuffer_stopped
    heap pop()
    {
        while (true)
        {
            live_heap h = pop_live();
            if (h.is_contiguous())
                return heap(std::move(h));
        }
    }

    /// Like pop() without blocking. @throws ringbuffer_empty, ringbuffer_stopped
    heap try_pop()
    {
        while (true)
        {
            live_heap h = try_pop_live();
            if (h.is_contiguous())
                return heap(std::move(h));
        }
    }

    /// Stops the ring first, then the stream (see class comment). Idempotent; any thread.
    void stop() override
    {
        ready_heaps_.stop();
        stream::stop();
    }

    /// Input iterator over the heaps that pop() returns; reaches end() once the stream stops.
    typedef spead2::detail::popping_iterator<ring_stream, heap> iterator;

    /// Iterates over complete heaps, as pop() does, until the stream stops. Blocks for the first.
    iterator begin() { return iterator(*this); }
    std::default_sentinel_t end() { return std::default_sentinel; }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_RING_STREAM_H
