// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The data and free ringbuffers shared by chunk_ring_stream and chunk_stream_ring_group.
#ifndef SPEAD2_RECV_CHUNK_RING_PAIR_H
#define SPEAD2_RECV_CHUNK_RING_PAIR_H

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>
#include <spead2/common/checked_mutex.h>
#include <spead2/common/ringbuffer.h>
#include <spead2/recv/chunk.h>
#include <spead2/recv/stream_stats.h>

namespace spead2::recv::detail
{

/**
 * A ring of finished chunks (data) and a ring of empty ones (free), with the allocate and
 * ready logic that connects them to a chunk stream: allocate pops from the free ring (blocking;
 * null once it is stopped), ready pushes to the data ring (blocking; a chunk that finds the ring
 * stopped goes to the graveyard, to be freed by the thread that calls stop).
 *
 * Threads: add_free_chunk and the getters from any thread; make_allocate/make_ready callbacks
 * from workers; clear_graveyard from the stopping thread.
 */
template<typename DataRingbuffer, typename FreeRingbuffer>
class chunk_ring_pair
{
protected:
    const std::shared_ptr<DataRingbuffer> data_ring_;
    const std::shared_ptr<FreeRingbuffer> free_ring_;

private:
    spead2::detail::checked_mutex graveyard_mutex_;
    std::vector<std::unique_ptr<chunk>> graveyard_;

protected:
    /// @throws std::invalid_argument if either ring is null
    chunk_ring_pair(std::shared_ptr<DataRingbuffer> data_ring, std::shared_ptr<FreeRingbuffer> free_ring)
        : data_ring_(data_ring ? std::move(data_ring)
                               : throw std::invalid_argument("data_ring must not be null"))
        , free_ring_(free_ring ? std::move(free_ring)
                               : throw std::invalid_argument("free_ring must not be null"))
    {
    }

    /// An allocate callback taking chunks from the free ring (null once it is stopped).
    chunk_allocate_function make_allocate()
    {
        return [free_ring = free_ring_](std::int64_t, std::uint64_t *) -> std::unique_ptr<chunk>
        {
            try
            {
                return free_ring->pop();
            }
            catch (ringbuffer_stopped &)
            {
                return nullptr;
            }
        };
    }

    /**
     * A ready callback that runs @a user_ready (if any) and then pushes to the data ring,
     * counting a full ring in worker_blocked.
     */
    chunk_ready_function make_ready(chunk_ready_function user_ready)
    {
        return
            [this, user_ready = std::move(user_ready)](std::unique_ptr<chunk> &&c, std::uint64_t *batch_stats)
        {
            if (user_ready)
                user_ready(std::move(c), batch_stats);
            if (!c)
                return;
            try
            {
                try
                {
                    data_ring_->try_push(std::move(c));
                }
                catch (ringbuffer_full &)
                {
                    batch_stats[stream_stat_indices::WORKER_BLOCKED]++;
                    data_ring_->push(std::move(c));
                }
            }
            catch (ringbuffer_stopped &)
            {
                // The consumer may be gone; free it later in the stopping thread, not here.
                std::lock_guard<spead2::detail::checked_mutex> lock(graveyard_mutex_);
                graveyard_.push_back(std::move(c));
            }
        };
    }

    /// Frees chunks that could not be delivered. Call from the thread that stops.
    void clear_graveyard()
    {
        std::vector<std::unique_ptr<chunk>> dead;
        {
            std::lock_guard<spead2::detail::checked_mutex> lock(graveyard_mutex_);
            dead.swap(graveyard_);
        }
    }

public:
    virtual ~chunk_ring_pair() = default;
    chunk_ring_pair(const chunk_ring_pair &) = delete;
    chunk_ring_pair &operator=(const chunk_ring_pair &) = delete;

    /**
     * Zeroes the chunk's presence flags and queues it on the free ring without blocking. A
     * stopped free ring silently drops the chunk.
     * @throws ringbuffer_full if the free ring has no room
     */
    void add_free_chunk(std::unique_ptr<chunk> &&c)
    {
        if (c->present)
            std::fill(c->present.get(), c->present.get() + c->present_size, std::uint8_t(0));
        try
        {
            free_ring_->try_push(std::move(c));
        }
        catch (ringbuffer_stopped &)
        {
        }
    }

    const std::shared_ptr<DataRingbuffer> &get_data_ringbuffer() const { return data_ring_; }
    const std::shared_ptr<FreeRingbuffer> &get_free_ringbuffer() const { return free_ring_; }
};

} // namespace spead2::recv::detail

#endif // SPEAD2_RECV_CHUNK_RING_PAIR_H
