// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The transport-independent send core: walks the heap queue, packetises heaps into batches,
/// applies the rate limit and completes heaps in order.
#include <atomic>
#include <asio.hpp>
#include <spead2/send/stream.h>
#include <spead2/send/writer.h>
#include "send/queue_item.h"
#include "send/rate_limiter.h"

namespace spead2::send
{

namespace
{

struct pending_callback
{
    stream::completion_handler handler;
    std::error_code ec;
    item_pointer_t bytes = 0;
};

} // namespace

struct writer::impl
{
    asio::steady_timer timer;
    detail::rate_limiter limiter;
    std::size_t max_packet_size;
    std::vector<std::uint8_t> scratch; ///< max_batch headers of max_packet_size bytes
    packet_batch batch;
    std::vector<pending_callback> callbacks;

    // Walk of the queue (absolute indices). Groups before next_group are fully packetised.
    std::uint64_t completed = 0;  ///< Our copy of the stream's head
    std::uint64_t next_group = 0; ///< First heap of the group being (or next to be) packetised
    bool group_active = false;
    std::uint64_t group_end = 0;
    std::uint64_t cursor = 0; ///< Heap that supplies the next packet
    std::size_t unfinished = 0;
    group_mode mode = group_mode::SERIAL;

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
    std::atomic<int> batch_state{idle};

    impl(asio::io_context &io_context, const stream_config &config)
        : timer(io_context)
        , limiter(config.get_burst_size(), config.get_burst_rate_ratio())
        , max_packet_size(config.get_max_packet_size() & ~std::size_t(7))
        , scratch(max_batch * max_packet_size)
    {
        batch.packets.reserve(max_batch);
        callbacks.reserve(config.get_max_heaps());
    }
};

writer::writer(io_context_ref io_context, const stream_config &config)
    : io_context_(std::move(io_context))
    , config_(config)
    , impl_(std::make_unique<impl>(*io_context_, config))
{
}

writer::~writer() = default;

void writer::wakeup()
{
    asio::post(*io_context_,
               [this]()
               {
                   impl_->limiter.idle_wake(detail::rate_limiter::clock::now());
                   run();
               });
}

void writer::run_inline(std::uint64_t until)
{
    impl_->limiter.idle_wake(detail::rate_limiter::clock::now());
    run(until);
}

bool writer::fill_batch()
{
    impl &s = *impl_;
    std::uint64_t tail;
    {
        std::lock_guard<std::mutex> lock(owner_->mutex_);
        tail = owner_->tail_;
    }
    s.batch.packets.clear();
    s.batch.pieces.clear();
    while (s.batch.packets.size() < max_batch && !s.limiter.burst_full())
    {
        if (!s.group_active)
        {
            if (s.next_group == tail)
                break;
            detail::queue_item &first = owner_->slot(s.next_group);
            s.group_end = first.group_end;
            s.mode = first.mode;
            for (std::uint64_t i = s.next_group; i < s.group_end; i++)
            {
                detail::queue_item &qi = owner_->slot(i);
                qi.gen.emplace(*qi.h, qi.cnt, s.max_packet_size);
            }
            s.cursor = s.next_group;
            s.unfinished = s.group_end - s.next_group;
            s.group_active = true;
        }
        detail::queue_item *qi = &owner_->slot(s.cursor);
        while (!qi->gen->has_next_packet())
        {
            if (++s.cursor == s.group_end)
                s.cursor = s.next_group;
            qi = &owner_->slot(s.cursor);
        }
        transmit_packet &p = s.batch.packets.emplace_back();
        p.first_piece = s.batch.pieces.size();
        std::uint8_t *scratch = s.scratch.data() + (s.batch.packets.size() - 1) * s.max_packet_size;
        p.size = qi->gen->next_packet(scratch, s.batch.pieces);
        p.num_pieces = s.batch.pieces.size() - p.first_piece;
        p.substream_index = qi->substream_index;
        p.queue_index = s.cursor;
        s.limiter.add_packet(p.size, qi->rate);
        if (!qi->gen->has_next_packet())
            s.unfinished--;
        if (s.unfinished == 0)
        {
            s.group_active = false;
            s.next_group = s.group_end;
        }
        else if (s.mode == group_mode::ROUND_ROBIN)
        {
            if (++s.cursor == s.group_end)
                s.cursor = s.next_group;
        }
    }
    return !s.batch.packets.empty();
}

void writer::process_results()
{
    impl &s = *impl_;
    for (const transmit_packet &p : s.batch.packets)
    {
        detail::queue_item &qi = owner_->slot(p.queue_index);
        if (p.result)
        {
            if (!qi.ec)
                qi.ec = p.result;
        }
        else
            qi.bytes_sent += p.size;
    }
    // Every packet of the groups before next_group (the active or next group) has been reported.
    std::uint64_t done_end = s.next_group;
    while (s.completed < done_end)
    {
        detail::queue_item &first = owner_->slot(s.completed);
        pending_callback &cb = s.callbacks.emplace_back();
        cb.handler = std::move(first.handler);
        first.handler = nullptr;
        std::uint64_t end = first.group_end;
        for (std::uint64_t i = s.completed; i < end; i++)
        {
            detail::queue_item &qi = owner_->slot(i);
            if (qi.ec && !cb.ec)
                cb.ec = qi.ec;
            cb.bytes += qi.bytes_sent;
            qi.gen.reset();
            qi.h = nullptr;
        }
        s.completed = end;
    }
    if (s.limiter.burst_full())
        s.limiter.end_burst();
    if (!s.callbacks.empty())
    {
        {
            std::lock_guard<std::mutex> lock(owner_->mutex_);
            owner_->head_ = s.completed;
        }
        for (pending_callback &cb : s.callbacks)
            if (cb.handler)
                cb.handler(cb.ec, cb.bytes);
        s.callbacks.clear();
        // An atomic load per batch; the lock is only taken while someone waits for these heaps.
        if (owner_->flush_queued_waiters_ > 0)
            owner_->note_handled(s.completed);
    }
}

void writer::run(std::uint64_t until)
{
    impl &s = *impl_;
    while (true)
    {
        {
            std::lock_guard<std::mutex> lock(owner_->mutex_);
            if (!s.group_active && s.next_group == owner_->tail_)
            {
                owner_->writer_idle_ = true;
                // Notify under the lock: once flush() sees idle, the stream may be destroyed.
                owner_->idle_cv_.notify_all();
                return;
            }
        }
        if (s.completed >= until)
        {
            // An inline run whose heaps are done: the rest belongs on the io_context.
            asio::post(*io_context_, [this]() { run(); });
            return;
        }
        if (s.limiter.burst_empty())
        {
            auto now = detail::rate_limiter::clock::now();
            auto next = s.limiter.get_next_burst_time();
            if (now < next)
            {
                s.timer.expires_at(next);
                s.timer.async_wait([this](const std::error_code &) { run(); });
                return;
            }
            s.limiter.start_burst(now);
        }
        if (!fill_batch())
            continue; // raced with nothing: the check above will make us idle
        s.batch_state.store(impl::sending);
        send_batch(s.batch);
        int expected = impl::sending;
        if (s.batch_state.compare_exchange_strong(expected, impl::idle))
            return; // batch_done() has not run yet: it will resume us
        s.batch_state.store(impl::idle);
        process_results();
    }
}

void writer::batch_done()
{
    impl &s = *impl_;
    int expected = impl::sending;
    if (s.batch_state.compare_exchange_strong(expected, impl::done_while_sending))
        return; // the thread in send_batch carries on
    process_results();
    run();
}

} // namespace spead2::send
