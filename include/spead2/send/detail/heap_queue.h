// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The queue between a send stream (which appends heaps) and its send engine (which walks,
/// packetises and completes them). Internal: only send::stream and the engine use it.
#ifndef SPEAD2_SEND_DETAIL_HEAP_QUEUE_H
#define SPEAD2_SEND_DETAIL_HEAP_QUEUE_H

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace spead2::send::detail
{

struct queue_item;

/**
 * A ring of max_heaps slots with absolute indices: [head, tail) are occupied. A producer fills
 * slot(tail) under the lock (append_locked); from then on the slot belongs to the engine, which
 * reads it without the lock until it moves head past it (release). The engine is either busy
 * (one step in flight) or idle; a producer that finds it idle claims it and must start it.
 *
 * Threads: the methods ending in _locked need mutex() held; a slot may be touched with the lock
 * held or by its owner as above; the others take the lock themselves when they need it.
 */
class heap_queue
{
private:
    const std::size_t max_heaps_;
    std::unique_ptr<queue_item[]> slots_;
    mutable std::mutex mutex_;
    std::condition_variable idle_cv_;
    std::uint64_t head_ = 0;
    std::uint64_t tail_ = 0;
    bool engine_idle_ = true;
    /// Heaps whose handlers have returned; kept up to date only while flush_queued() waits.
    std::uint64_t handled_ = 0;
    std::atomic<int> flush_queued_waiters_{0};

public:
    explicit heap_queue(std::size_t max_heaps);
    ~heap_queue();
    heap_queue(const heap_queue &) = delete;
    heap_queue &operator=(const heap_queue &) = delete;

    std::mutex &mutex() const { return mutex_; }
    /// The slots, for detail::slot() (src/send/queue_item.h, where queue_item is complete).
    queue_item *get_slots() const { return slots_.get(); }
    std::size_t get_max_heaps() const { return max_heaps_; }

    // Producer side.
    bool has_room_locked(std::size_t n) const { return tail_ - head_ + n <= max_heaps_; }
    std::uint64_t get_tail_locked() const { return tail_; }
    /// Index of the next free slot, now occupied (fill it before releasing the lock).
    std::uint64_t append_locked() { return tail_++; }
    /// If the engine is idle, marks it busy and returns true: the caller must start it.
    bool claim_idle_engine_locked()
    {
        if (!engine_idle_)
            return false;
        engine_idle_ = false;
        return true;
    }

    // Engine side.
    std::uint64_t get_tail() const;
    /// Frees the slots before @a head (their handlers are about to run).
    void release(std::uint64_t head);
    /**
     * Marks the engine idle if nothing is queued from @a next on, and returns whether it did. A
     * flush() waiting for the idle engine may then destroy the stream at once: after true the
     * engine must not touch the queue again.
     */
    bool go_idle_if_drained(std::uint64_t next);
    /// Called after the handlers of the heaps before @a end have returned.
    void handlers_returned(std::uint64_t end)
    {
        // An atomic load per batch; the lock is only taken while someone waits for these heaps.
        if (flush_queued_waiters_.load() > 0)
            note_handled(end);
    }

    // Waiting (any thread but the engine's).
    /// Blocks until every heap queued so far has completed and the engine is idle.
    void flush();
    /// Blocks until the heaps queued before the call have completed and their handlers returned.
    void flush_queued();

private:
    void note_handled(std::uint64_t end);
};

} // namespace spead2::send::detail

#endif // SPEAD2_SEND_DETAIL_HEAP_QUEUE_H
