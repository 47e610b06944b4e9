// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The send stream's heap queue: admission, cnt assignment, flush.
#include <cerrno>
#include <stdexcept>
#include <asio.hpp>
#include <spead2/common/logging.h>
#include <spead2/send/stream.h>
#include "send/queue_item.h"
#include "send/send_engine.h"

namespace spead2::send
{

stream::stream(std::unique_ptr<writer> &&w)
    : writer_(std::move(w))
    , queue_(writer_->get_config().get_max_heaps())
    , engine_(std::make_unique<detail::send_engine>(queue_, *writer_))
{
    writer_->engine_ = engine_.get();
}

stream::~stream()
{
    flush();
}

std::error_code stream::check_heap(const heap_reference &ref) const
{
    packet_generator::check(ref.heap, writer_->get_config().get_max_packet_size());
    if (ref.substream_index >= get_num_substreams())
    {
        log_warning("async_send_heap(s): dropping heap because substream index is out of range");
        return std::error_code(EINVAL, std::system_category());
    }
    int hab = ref.heap.get_flavour().get_heap_address_bits();
    if (ref.cnt >= 0 && item_pointer_t(ref.cnt) >> hab)
    {
        log_warning("async_send_heap(s): dropping heap because cnt is out of range");
        return std::error_code(EINVAL, std::system_category());
    }
    return std::error_code();
}

void stream::enqueue_locked(const heap_reference &ref, std::uint64_t group_end, group_mode mode)
{
    detail::queue_item &item = detail::slot(queue_, queue_.append_locked());
    item.h = &ref.heap;
    if (ref.cnt < 0)
    {
        int hab = ref.heap.get_flavour().get_heap_address_bits();
        item.cnt = next_cnt_ & ((item_pointer_t(1) << hab) - 1);
        next_cnt_ += step_cnt_;
    }
    else
        item.cnt = ref.cnt;
    item.substream_index = ref.substream_index;
    item.rate = ref.rate < 0.0 ? writer_->get_software_rate() : ref.rate;
    item.group_end = group_end;
    item.mode = mode;
    item.gen.reset();
    item.ec = std::error_code();
    item.bytes_sent = 0;
}

bool stream::commit_locked(std::uint64_t group_start, completion_handler &&handler, bool run_inline)
{
    detail::slot(queue_, group_start).handler = std::move(handler);
    if (!queue_.claim_idle_engine_locked())
        return false; // the step in flight will find the new heaps
    if (run_inline)
        return true;
    engine_->wakeup();
    return false;
}

void stream::run_engine_inline(std::uint64_t until)
{
    engine_->run_inline(until);
}

stream::completion_handler stream::future_handler(std::future<item_pointer_t> &future)
{
    auto promise = std::make_shared<std::promise<item_pointer_t>>();
    future = promise->get_future();
    return [promise = std::move(promise)](const std::error_code &ec, item_pointer_t bytes_transferred)
    {
        if (ec)
            promise->set_exception(std::make_exception_ptr(std::system_error(ec)));
        else
            promise->set_value(bytes_transferred);
    };
}

void stream::post_error(completion_handler &&handler, const std::error_code &ec)
{
    asio::post(writer_->get_io_context(), [handler = std::move(handler), ec]() { handler(ec, 0); });
}

void stream::fail_full(completion_handler &&handler)
{
    log_warning("async_send_heap(s): dropping heap because queue is full");
    post_error(std::move(handler), std::error_code(EAGAIN, std::system_category()));
}

void stream::fail_empty(completion_handler &&handler)
{
    log_warning("Empty heap group");
    post_error(std::move(handler), std::error_code(EINVAL, std::system_category()));
}

bool stream::async_send_heap(const heap &h, completion_handler handler, s_item_pointer_t cnt,
                             std::size_t substream_index, double rate)
{
    heap_reference ref(h, cnt, substream_index, rate);
    return async_send_heaps(&ref, &ref + 1, std::move(handler), group_mode::SERIAL);
}

bool stream::async_send_heap_inline(const heap &h, completion_handler handler, s_item_pointer_t cnt,
                                    std::size_t substream_index, double rate)
{
    heap_reference ref(h, cnt, substream_index, rate);
    return async_send_heaps_inline(&ref, &ref + 1, std::move(handler), group_mode::SERIAL);
}

void stream::flush()
{
    queue_.flush();
}

void stream::flush_queued()
{
    queue_.flush_queued();
}

void stream::set_cnt_sequence(item_pointer_t next, item_pointer_t step)
{
    if (step == 0)
        throw std::invalid_argument("step cannot be 0");
    std::lock_guard<std::mutex> lock(queue_.mutex());
    next_cnt_ = next;
    step_cnt_ = step;
}

std::size_t stream::get_num_substreams() const
{
    return writer_->get_num_substreams();
}

} // namespace spead2::send
