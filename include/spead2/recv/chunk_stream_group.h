// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Chunk stream groups: several streams (one thread each) filling one sequence of chunks.
#ifndef SPEAD2_RECV_CHUNK_STREAM_GROUP_H
#define SPEAD2_RECV_CHUNK_STREAM_GROUP_H

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>
#include <spead2/common/io_context_ref.h>
#include <spead2/recv/chunk.h>
#include <spead2/recv/chunk_stream.h>
#include <spead2/recv/chunk_stream_config.h>
#include <spead2/recv/chunk_window.h>
#include <spead2/recv/stream.h>

namespace spead2::recv
{

/// Settings of a chunk_stream_group (fluent setters; @throws std::invalid_argument on bad values).
class chunk_stream_group_config
{
public:
    static constexpr std::size_t default_max_chunks = chunk_stream_config::default_max_chunks;

    /// What the group does when a member wants a chunk beyond the group's window.
    enum class eviction_mode
    {
        /// Move on at once; lagging members are asked (asynchronously) to give up old chunks.
        LOSSY,
        /// Wait until every member has moved past the chunks being retired.
        LOSSLESS
    };

private:
    std::size_t max_chunks_ = default_max_chunks;
    eviction_mode eviction_mode_ = eviction_mode::LOSSY;
    chunk_allocate_function allocate_;
    chunk_ready_function ready_;

public:
    /// @throws std::invalid_argument if 0
    chunk_stream_group_config &set_max_chunks(std::size_t max_chunks);
    std::size_t get_max_chunks() const { return max_chunks_; }

    chunk_stream_group_config &set_eviction_mode(eviction_mode mode);
    eviction_mode get_eviction_mode() const { return eviction_mode_; }

    /// Used instead of the members' allocate callbacks.
    chunk_stream_group_config &set_allocate(chunk_allocate_function allocate);
    const chunk_allocate_function &get_allocate() const { return allocate_; }

    /// Used instead of the members' ready callbacks.
    chunk_stream_group_config &set_ready(chunk_ready_function ready);
    const chunk_ready_function &get_ready() const { return ready_; }
};

class chunk_stream_group;

/**
 * One stream of a chunk_stream_group: places its heaps into the group's chunks through its own
 * window (max_chunks of its chunk_stream_config, at most the group's). Created by
 * chunk_stream_group::emplace_back and owned by the group.
 *
 * Each member must be driven by its own thread (e.g. its own thread_pool), because a member may
 * wait for the others (LOSSLESS) while holding its stream lock. stop() stops the whole group.
 */
class chunk_stream_group_member : public stream
{
    friend class chunk_stream_group;

private:
    class group_state;

    chunk_stream_group &group_;
    std::unique_ptr<group_state> state_;

    /// Asks the member, asynchronously on its io_context, to release chunks below @a target.
    void async_flush_until(std::int64_t target);
    /// Stops this member only (stream::stop).
    void stop_member();

protected:
    void heap_ready(live_heap &&h) override;
    void stop_received() override;

public:
    /// Use chunk_stream_group::emplace_back instead. @throws std::invalid_argument
    chunk_stream_group_member(chunk_stream_group &group, std::size_t index, io_context_ref io_context,
                              const stream_config &config, const chunk_stream_config &chunk_config);
    ~chunk_stream_group_member() override;

    chunk_stream_group &get_group() const { return group_; }
    const chunk_stream_config &get_chunk_config() const;

    /// Stops the whole group (see chunk_stream_group::stop).
    void stop() override;
};

/**
 * A group of chunk streams sharing one sliding window of max_chunks chunks, obtained from the
 * group config's allocate callback (IDs strictly increasing) and passed, in order, to its ready
 * callback once every member has moved past them. Members' windows lie within the group's.
 *
 * When a member needs a chunk beyond the group window, the window moves: in LOSSY mode at once,
 * asking lagging members to release the old chunks (those chunks are readied when the last
 * laggard has done so); in LOSSLESS mode the member waits for every other member to move past
 * them, so one member that receives nothing stalls the group. A stopped member counts as being
 * infinitely far ahead. When the last member stops, the rest of the window is readied.
 *
 * Threads: emplace_back only before any member has received data (@throws std::runtime_error
 * otherwise); stop() from any thread except a callback. The callbacks run on member threads
 * under the group lock. Lifetime: destroying the group stops it and then destroys the members.
 */
class chunk_stream_group
{
    friend class chunk_stream_group_member;

private:
    const chunk_stream_group_config config_;
    mutable std::mutex mutex_;
    std::condition_variable heads_changed_;
    // Everything below is guarded by mutex_.
    detail::chunk_window window_;
    /// Chunks evicted from the window that some laggard still holds (ascending IDs).
    std::deque<chunk *> retiring_;
    std::vector<std::unique_ptr<chunk_stream_group_member>> members_;
    /// Per member: every chunk below it has been released (INT64_MAX once stopped).
    std::vector<std::int64_t> heads_;
    std::size_t live_members_ = 0;
    bool started_ = false;
    bool stopped_ = false;

    std::int64_t min_head_locked() const;
    void ready_locked(chunk *c, std::uint64_t *batch_stats);
    /// Readies retiring chunks that every member has released (in order).
    void ready_released_locked(std::uint64_t *batch_stats);
    /// The group's chunk @a id for member @a index, moving the group window if needed; may wait (LOSSLESS).
    chunk *acquire_locked(std::unique_lock<std::mutex> &lock, std::size_t index, std::int64_t id,
                          std::uintptr_t stream_id, std::uint64_t *batch_stats);
    void set_head_locked(std::size_t index, std::int64_t head);
    void member_stopped_locked(std::size_t index, std::uint64_t *batch_stats);

protected:
    /// Called (without the group lock) when a member is added.
    virtual void member_added() {}
    /// Called (without the group lock) after a member has stopped and released its chunks.
    virtual void member_stopped() {}
    /// Stops every member (members stop their own readers; their chunks are released).
    void stop_members();

public:
    /// @throws std::invalid_argument if the config has no allocate callback
    explicit chunk_stream_group(const chunk_stream_group_config &config);
    virtual ~chunk_stream_group();
    chunk_stream_group(const chunk_stream_group &) = delete;
    chunk_stream_group &operator=(const chunk_stream_group &) = delete;

    const chunk_stream_group_config &get_config() const { return config_; }

    /**
     * Adds a member. @throws std::runtime_error "Cannot add a stream after group has started
     * receiving data"; std::invalid_argument if chunk_config's max_chunks exceeds the group's,
     * or as chunk_stream
     */
    chunk_stream_group_member &emplace_back(io_context_ref io_context, const stream_config &config,
                                            const chunk_stream_config &chunk_config);

    std::size_t size() const;
    /// @throws std::out_of_range
    chunk_stream_group_member &at(std::size_t index);
    chunk_stream_group_member &operator[](std::size_t index) { return at(index); }

    /// Stops every member (interrupting LOSSLESS waits). Idempotent; any thread.
    virtual void stop();
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_CHUNK_STREAM_GROUP_H
