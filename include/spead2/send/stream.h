// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The base of all send streams: a bounded queue of heaps with ordered completions.
#ifndef SPEAD2_SEND_STREAM_H
#define SPEAD2_SEND_STREAM_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <iterator>
#include <memory>
#include <mutex>
#include <system_error>
#include <spead2/protocol/constants.h>
#include <spead2/send/detail/heap_queue.h>
#include <spead2/send/heap.h>
#include <spead2/send/stream_config.h>
#include <spead2/send/writer.h>

namespace asio
{
// Declared (not defined) here so that streams take asio::use_future without this header
// including Asio: the token is only ever passed by reference.
template<typename Allocator>
class use_future_t;
} // namespace asio

namespace spead2::send
{

namespace detail
{
class send_engine;
} // namespace detail

/**
 * Sends heaps through a transport (the writer given by the subclass). Up to max_heaps heaps may be
 * queued; each single heap or group of heaps completes by calling its handler, in the order they
 * were queued, on an io_context thread (or, after async_send_heap(s)_inline, possibly on the
 * thread that called it). A heap's queue slot is freed before its handler runs, so the handler
 * may queue more.
 *
 * Heap counters: heaps sent with cnt < 0 take the next value of the sequence (set_cnt_sequence,
 * default 1, 2, 3, ...), masked to the heap flavour's HAB bits; an explicit cnt is used as it is
 * and must be below 2^HAB.
 *
 * Threads: async_send_heap(s), set_cnt_sequence and flush may be called from any thread, also from
 * a completion handler (but flush not from a handler: it would wait for itself).
 *
 * Lifetime: heaps (and the memory their items refer to) must live until their handler has run.
 * The destructor flushes; the io_context must therefore still be running while a stream with
 * queued heaps is destroyed.
 */
class stream
{
public:
    /// Called once per heap or group: error (if any) and bytes sent (all heaps of a group).
    typedef std::function<void(const std::error_code &ec, item_pointer_t bytes_transferred)>
        completion_handler;

private:
    // Destroyed in reverse: the engine before the queue and the writer it uses.
    std::unique_ptr<writer> writer_;
    detail::heap_queue queue_;
    std::unique_ptr<detail::send_engine> engine_;
    item_pointer_t next_cnt_ = 1; ///< Guarded by the queue's lock, as is step_cnt_
    item_pointer_t step_cnt_ = 1;

    /// Returns EINVAL (and logs) for a bad substream or cnt; throws for an unsendable heap.
    std::error_code check_heap(const heap_reference &ref) const;
    void enqueue_locked(const heap_reference &ref, std::uint64_t group_end, group_mode mode);
    /// Returns true if the caller must now run the engine itself (@a run_inline and it was idle).
    bool commit_locked(std::uint64_t group_start, completion_handler &&handler, bool run_inline);
    /// Runs the engine on this thread (see async_send_heap_inline).
    void run_engine_inline(std::uint64_t until);
    /// Calls @a handler with @a ec from the io_context (never inline).
    void post_error(completion_handler &&handler, const std::error_code &ec);
    /// A handler that fulfils a promise whose future it stores in @a future.
    static completion_handler future_handler(std::future<item_pointer_t> &future);
    void fail_full(completion_handler &&handler);
    void fail_empty(completion_handler &&handler);

    template<typename Iterator>
    bool send_heaps_impl(Iterator first, Iterator last, completion_handler &&handler, group_mode mode,
                         bool run_inline)
    {
        std::size_t n = 0;
        for (Iterator it = first; it != last; ++it, ++n)
        {
            std::error_code ec = check_heap(*it);
            if (ec)
            {
                post_error(std::move(handler), ec);
                return false;
            }
        }
        if (n == 0)
        {
            fail_empty(std::move(handler));
            return false;
        }
        std::unique_lock<std::mutex> lock(queue_.mutex());
        if (!queue_.has_room_locked(n))
        {
            lock.unlock();
            fail_full(std::move(handler));
            return false;
        }
        const std::uint64_t start = queue_.get_tail_locked();
        for (Iterator it = first; it != last; ++it)
            enqueue_locked(*it, start + n, mode);
        if (commit_locked(start, std::move(handler), run_inline))
        {
            const std::uint64_t until = queue_.get_tail_locked();
            lock.unlock();
            run_engine_inline(until);
        }
        return true;
    }

protected:
    explicit stream(std::unique_ptr<writer> &&w);

public:
    virtual ~stream();
    stream(const stream &) = delete;
    stream &operator=(const stream &) = delete;

    /**
     * Queues one heap. Returns true if queued. Otherwise returns false and @a handler is still
     * called (posted) with EINVAL (bad substream, explicit cnt >= 2^HAB) or EAGAIN (queue full);
     * the cnt sequence is then unchanged.
     * @throws std::invalid_argument if the heap cannot be packetised with this stream's
     * max_packet_size ("packet size is too small", "... to repeat item pointers")
     */
    bool async_send_heap(const heap &h, completion_handler handler, s_item_pointer_t cnt = -1,
                         std::size_t substream_index = 0, double rate = -1.0);

    /**
     * Queues one heap, as spead2 with the `asio::use_future` completion token: the future holds
     * the bytes sent, or throws std::system_error with the error the handler would have had
     * (EAGAIN and EINVAL included). A heap that cannot be packetised throws at once, as above;
     * if the io_context stops before the result is posted, get() throws std::future_error.
     */
    template<typename Allocator>
    std::future<item_pointer_t> async_send_heap(const heap &h, const asio::use_future_t<Allocator> &,
                                                s_item_pointer_t cnt = -1, std::size_t substream_index = 0,
                                                double rate = -1.0)
    {
        std::future<item_pointer_t> result;
        async_send_heap(h, future_handler(result), cnt, substream_index, rate);
        return result;
    }

    /**
     * Queues a group of heaps (elements convertible to const heap_reference &; forward iterators)
     * that completes as one: @a handler is called once. All or nothing: an empty group, any
     * invalid heap or too little room queues none of them (EINVAL / EAGAIN as above).
     */
    template<typename Iterator>
    bool async_send_heaps(Iterator first, Iterator last, completion_handler handler, group_mode mode)
    {
        return send_heaps_impl(first, last, std::move(handler), mode, false);
    }

    /// Queues a group of heaps, with the `asio::use_future` token (see async_send_heap).
    template<typename Iterator, typename Allocator>
    std::future<item_pointer_t> async_send_heaps(Iterator first, Iterator last,
                                                 const asio::use_future_t<Allocator> &, group_mode mode)
    {
        std::future<item_pointer_t> result;
        send_heaps_impl(first, last, future_handler(result), mode, false);
        return result;
    }

    /**
     * For blocking senders (such as Python's send_heap): like async_send_heap(s), but when the
     * writer is idle the calling thread does the writer's work itself, until the queue is empty or
     * the transport hands over to the io_context (asynchronous I/O, rate limit), instead of waking
     * an io_context thread. That saves two thread switches per heap. Handlers of heaps completed
     * meanwhile (not only this one) then run on the calling thread, so use it only on streams
     * whose handlers do not care which thread runs them.
     */
    bool async_send_heap_inline(const heap &h, completion_handler handler, s_item_pointer_t cnt = -1,
                                std::size_t substream_index = 0, double rate = -1.0);

    /// The group version of async_send_heap_inline.
    template<typename Iterator>
    bool async_send_heaps_inline(Iterator first, Iterator last, completion_handler handler, group_mode mode)
    {
        return send_heaps_impl(first, last, std::move(handler), mode, true);
    }

    /// Blocks until every heap queued so far has completed and its handler has returned.
    void flush();

    /**
     * Blocks until the heaps queued before the call have completed and their handlers have
     * returned. Unlike flush(), it does not wait for heaps that other threads queue meanwhile, so
     * it ends even while they keep sending (Python's exit hook relies on that).
     */
    void flush_queued();

    /**
     * Sets the automatic heap counters: the next heap gets @a next, then next + step, ...
     * @throws std::invalid_argument if @a step is 0
     */
    void set_cnt_sequence(item_pointer_t next, item_pointer_t step);

    std::size_t get_num_substreams() const;
    const stream_config &get_config() const { return writer_->get_config(); }
    asio::io_context &get_io_context() const { return writer_->get_io_context(); }
};

} // namespace spead2::send

#endif // SPEAD2_SEND_STREAM_H
