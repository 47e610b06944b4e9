// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The send engine (see send_engine.h).
#include "send/send_engine.h"
#include "send/queue_item.h"

namespace spead2::send::detail
{

send_engine::send_engine(heap_queue &queue, writer &transport)
    : queue_(queue)
    , transport_(transport)
    , timer_(transport.get_io_context())
    , limiter_(transport.get_config().get_burst_size(), transport.get_config().get_burst_rate_ratio())
    , max_packet_size_(transport.get_config().get_max_packet_size() & ~std::size_t(7))
    , scratch_(writer::max_batch)
{
    batch_.packets.reserve(writer::max_batch);
    callbacks_.reserve(transport.get_config().get_max_heaps());
}

void send_engine::wakeup()
{
    asio::post(transport_.get_io_context(),
               [this]()
               {
                   limiter_.idle_wake(rate_limiter::clock::now());
                   run();
               });
}

void send_engine::run_inline(std::uint64_t until)
{
    limiter_.idle_wake(rate_limiter::clock::now());
    run(until);
}

bool send_engine::fill_batch()
{
    const std::uint64_t tail = queue_.get_tail();
    batch_.packets.clear();
    batch_.pieces.clear();
    while (batch_.packets.size() < writer::max_batch && !limiter_.burst_full())
    {
        if (!group_active_)
        {
            if (next_group_ == tail)
                break;
            // Generators are made for the whole group at once: ROUND_ROBIN interleaves them.
            queue_item &first = slot(queue_, next_group_);
            group_end_ = first.group_end;
            mode_ = first.mode;
            for (std::uint64_t i = next_group_; i < group_end_; i++)
            {
                queue_item &qi = slot(queue_, i);
                qi.gen.emplace(*qi.h, qi.cnt, max_packet_size_);
            }
            cursor_ = next_group_;
            unfinished_ = group_end_ - next_group_;
            group_active_ = true;
        }
        // Move past heaps with no packets left: in SERIAL order this is how the next heap starts.
        queue_item *qi = &slot(queue_, cursor_);
        while (!qi->gen->has_next_packet())
        {
            if (++cursor_ == group_end_)
                cursor_ = next_group_;
            qi = &slot(queue_, cursor_);
        }
        transmit_packet &p = batch_.packets.emplace_back();
        p.first_piece = batch_.pieces.size();
        std::vector<std::uint8_t> &scratch = scratch_[batch_.packets.size() - 1];
        if (scratch.size() < qi->gen->get_max_header_size())
            scratch.resize(qi->gen->get_max_header_size());
        p.size = qi->gen->next_packet(scratch.data(), batch_.pieces);
        p.num_pieces = batch_.pieces.size() - p.first_piece;
        p.substream_index = qi->substream_index;
        p.queue_index = cursor_;
        limiter_.add_packet(p.size, qi->rate);
        if (!qi->gen->has_next_packet())
            unfinished_--;
        if (unfinished_ == 0)
        {
            group_active_ = false;
            next_group_ = group_end_;
        }
        else if (mode_ == group_mode::ROUND_ROBIN)
        {
            if (++cursor_ == group_end_)
                cursor_ = next_group_;
        }
    }
    return !batch_.packets.empty();
}

void send_engine::process_results()
{
    for (const transmit_packet &p : batch_.packets)
    {
        queue_item &qi = slot(queue_, p.queue_index);
        if (p.result)
        {
            if (!qi.ec)
                qi.ec = p.result;
        }
        else
            qi.bytes_sent += p.size;
    }
    // Every packet of the groups before next_group_ (the active or next group) has been reported.
    while (completed_ < next_group_)
    {
        queue_item &first = slot(queue_, completed_);
        pending_callback &cb = callbacks_.emplace_back();
        cb.handler = std::move(first.handler);
        first.handler = nullptr;
        const std::uint64_t end = first.group_end;
        for (std::uint64_t i = completed_; i < end; i++)
        {
            queue_item &qi = slot(queue_, i);
            if (qi.ec && !cb.ec)
                cb.ec = qi.ec;
            cb.bytes += qi.bytes_sent;
            qi.gen.reset();
            qi.h = nullptr;
        }
        completed_ = end;
    }
    if (limiter_.burst_full())
        limiter_.end_burst();
    if (!callbacks_.empty())
    {
        // Slots are freed before the handlers run, so a handler may queue more heaps.
        queue_.release(completed_);
        for (pending_callback &cb : callbacks_)
            if (cb.handler)
                cb.handler(cb.ec, cb.bytes);
        callbacks_.clear();
        queue_.handlers_returned(completed_);
    }
}

void send_engine::run(std::uint64_t until)
{
    while (true)
    {
        if (!group_active_ && queue_.go_idle_if_drained(next_group_))
            return; // a flush() may destroy the stream from here on
        if (completed_ >= until)
        {
            // An inline run whose heaps are done: the rest belongs on the io_context.
            asio::post(transport_.get_io_context(), [this]() { run(); });
            return;
        }
        if (limiter_.burst_empty())
        {
            const auto now = rate_limiter::clock::now();
            const auto next = limiter_.get_next_burst_time();
            if (now < next)
            {
                timer_.expires_at(next);
                timer_.async_wait([this](const std::error_code &) { run(); });
                return;
            }
            limiter_.start_burst(now);
        }
        if (!fill_batch())
            continue; // raced with nothing: the check above will make us idle
        batch_state_.store(sending);
        transport_.send_batch(batch_);
        int expected = sending;
        if (batch_state_.compare_exchange_strong(expected, idle))
            return; // batch_done() has not run yet: it will resume us
        batch_state_.store(idle);
        process_results();
    }
}

void send_engine::batch_done()
{
    int expected = sending;
    if (batch_state_.compare_exchange_strong(expected, done_while_sending))
        return; // the thread in send_batch carries on
    process_results();
    run();
}

} // namespace spead2::send::detail
