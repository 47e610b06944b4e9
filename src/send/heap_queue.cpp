// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The queue between a send stream and its engine (see detail/heap_queue.h).
#include <spead2/send/detail/heap_queue.h>
#include "send/queue_item.h"

namespace spead2::send::detail
{

heap_queue::heap_queue(std::size_t max_heaps)
    : max_heaps_(max_heaps)
    , slots_(new queue_item[max_heaps])
{
}

heap_queue::~heap_queue() = default;

std::uint64_t heap_queue::get_tail() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return tail_;
}

void heap_queue::release(std::uint64_t head)
{
    std::lock_guard<std::mutex> lock(mutex_);
    head_ = head;
}

bool heap_queue::go_idle_if_drained(std::uint64_t next)
{
    std::lock_guard<std::mutex> lock(mutex_);
    if (next != tail_)
        return false;
    engine_idle_ = true;
    // Notify under the lock: once flush() sees idle, the stream may be destroyed.
    idle_cv_.notify_all();
    return true;
}

void heap_queue::flush()
{
    std::unique_lock<std::mutex> lock(mutex_);
    idle_cv_.wait(lock, [this] { return head_ == tail_ && engine_idle_; });
}

void heap_queue::flush_queued()
{
    std::unique_lock<std::mutex> lock(mutex_);
    const std::uint64_t target = tail_;
    flush_queued_waiters_++;
    idle_cv_.wait(lock, [this, target] { return handled_ >= target || (head_ == tail_ && engine_idle_); });
    flush_queued_waiters_--;
}

void heap_queue::note_handled(std::uint64_t end)
{
    std::lock_guard<std::mutex> lock(mutex_);
    handled_ = end;
    idle_cv_.notify_all();
}

} // namespace spead2::send::detail
