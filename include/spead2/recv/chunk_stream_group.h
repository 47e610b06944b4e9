// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Chunk stream groups: several streams (one thread each) filling one sequence of chunks.
#ifndef SPEAD2_RECV_CHUNK_STREAM_GROUP_H
#define SPEAD2_RECV_CHUNK_STREAM_GROUP_H

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>
#include <spead2/common/checked_mutex.h>
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
 * Each member must be driven by its own thread (e.g. its own thread_pool): a member that wants a
 * chunk the group cannot give yet (LOSSLESS eviction, an empty free ring, a full data ring)
 * waits on its worker thread. stop() stops the whole group.
 */
class chunk_stream_group_member : public stream
{
    friend class chunk_stream_group;

private:
    class group_state;

    chunk_stream_group &group_;
    /// Owned by stream_base, as its payload sink.
    group_state *state_;

    /// Asks the member, asynchronously on its io_context, to release the chunks the group evicted.
    void async_flush();
    /// Stops this member only (stream::stop).
    void stop_member();

protected:
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
 * When a member needs a chunk beyond the group window, the window first drops the chunks no
 * member holds any more (an emptied window restarts where the members are), then moves one chunk
 * at a time, allocating each new chunk (a jump of a whole window allocates only the new window).
 * A chunk leaves only once no member holds it: in LOSSLESS mode the member waits for the others to
 * move past it, so one member that receives nothing stalls the group; in LOSSY mode it also asks
 * the members holding it to let go (asynchronously, on their own threads: an idle member does so
 * at once, a receiving one when its current batch ends) and waits only for that. A member holds
 * every group chunk from the head of its own window on (so a member that has received nothing
 * yet holds them all); a stopped member holds none, so chunks that only it held are readied
 * when it stops, and when the last member stops, the rest of the window.
 *
 * Locking (docs/dev/chunk_stream_group.md): the group lock is never held across a wait or a
 * callback. A member waits for the group on a condition variable and runs the allocate and
 * ready callbacks with the lock released; one thread at a time runs the ready callback (so
 * chunks stay in order) and one at a time the allocate callback (the window stays put
 * meanwhile). A member waits only for members that are not waiting themselves.
 *
 * Threads: emplace_back only before any member has received data and while some member (if
 * any) is live (@throws std::runtime_error otherwise); stop() from any thread except a callback. The
 * callbacks run on member threads (or the thread calling stop), without the group lock. Lifetime: destroying
 * the group stops it and then destroys the members.
 */
class chunk_stream_group
{
    friend class chunk_stream_group_member;

private:
    const chunk_stream_group_config config_;
    mutable spead2::detail::checked_mutex mutex_;
    /// Signalled whenever a member's head, the window, delivery or the stop flag changes.
    std::condition_variable_any changed_;
    // Everything below is guarded by mutex_.
    detail::chunk_window window_;
    /// LOSSY: members must let go of every chunk below this (they were asked to flush).
    std::int64_t flush_target_ = std::numeric_limits<std::int64_t>::min();
    /// Chunks every member has released, waiting (in order) for the ready callback.
    std::deque<std::unique_ptr<chunk>> ready_queue_;
    /// A thread is running the ready callback (it takes chunks from ready_queue_ until it is empty).
    bool delivering_ = false;
    /// A thread is running the allocate callback for the chunk at the window's tail (or the
    /// first chunk of a restarted window).
    bool extending_ = false;
    std::vector<std::unique_ptr<chunk_stream_group_member>> members_;
    /// Per member: the head of its window; it holds every group chunk from there on
    /// (INT64_MAX once stopped).
    std::vector<std::int64_t> heads_;
    std::size_t live_members_ = 0;
    bool started_ = false;
    bool stopped_ = false;

    std::int64_t min_head_locked() const;
    /// Waits for changed_, releasing the group lock meanwhile.
    void wait_locked(std::unique_lock<spead2::detail::checked_mutex> &lock);
    /// What a LOSSY flush request releases below: the head, or the flush target if higher.
    std::int64_t release_floor_locked() const;
    /// Moves the window's chunks below @a target, which no member holds, to ready_queue_.
    void retire_locked(std::int64_t target);
    /// Retires the chunks that no member holds any more, up to the window's tail.
    void retire_released_locked();
    /**
     * Runs the ready callback on queued chunks, unless another thread already does. Returns
     * whether it did (and so released the lock meanwhile).
     */
    bool deliver_locked(std::unique_lock<spead2::detail::checked_mutex> &lock, std::uint64_t *batch_stats);
    /// Like deliver_locked, but returns only once every queued chunk has been delivered.
    void drain_locked(std::unique_lock<spead2::detail::checked_mutex> &lock, std::uint64_t *batch_stats);
    /**
     * Grows the window until it holds chunk @a id, for a member whose window now starts at or
     * above id - its max_chunks + 1 (so it holds nothing that must leave for @a id). Callbacks
     * get @a batch_stats. Returns false if the group stopped first.
     */
    bool reach_locked(std::unique_lock<spead2::detail::checked_mutex> &lock, std::int64_t id,
                      std::uint64_t *batch_stats);
    /// Member @a index now holds only chunks from @a head on.
    void set_head_locked(std::size_t index, std::int64_t head);
    void member_stopped_locked(std::size_t index);

protected:
    /// Called with the group lock held when a member is added: it must not block or call the group.
    virtual void member_added() {}
    /// Called (without the group lock) after a member has stopped and its chunks were delivered.
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

    /// Forward iterator over the members, by index (what at() gives), as over a std::vector.
    class iterator
    {
    private:
        chunk_stream_group *group_ = nullptr;
        std::size_t index_ = 0;

    public:
        typedef std::forward_iterator_tag iterator_category;
        typedef chunk_stream_group_member value_type;
        typedef std::ptrdiff_t difference_type;
        typedef chunk_stream_group_member *pointer;
        typedef chunk_stream_group_member &reference;

        iterator() = default;
        iterator(chunk_stream_group &group, std::size_t index)
            : group_(&group)
            , index_(index)
        {
        }
        reference operator*() const { return group_->at(index_); }
        pointer operator->() const { return &**this; }
        iterator &operator++()
        {
            index_++;
            return *this;
        }
        iterator operator++(int)
        {
            iterator old = *this;
            index_++;
            return old;
        }
        bool operator==(const iterator &other) const = default;
    };

    /// The members there are now (a member added during the loop is not visited).
    iterator begin() { return iterator(*this, 0); }
    iterator end() { return iterator(*this, size()); }

    /// Stops every member (interrupting waits for the group). Idempotent; any thread.
    virtual void stop();
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_CHUNK_STREAM_GROUP_H
