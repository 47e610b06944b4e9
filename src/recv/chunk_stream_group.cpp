// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Chunk stream groups: the shared window, LOSSY/LOSSLESS eviction and member streams.
#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <asio.hpp>
#include <spead2/recv/chunk_stream_group.h>

namespace spead2::recv
{

namespace
{

constexpr std::int64_t stopped_head = std::numeric_limits<std::int64_t>::max();

} // namespace

chunk_stream_group_config &chunk_stream_group_config::set_max_chunks(std::size_t max_chunks)
{
    if (max_chunks == 0)
        throw std::invalid_argument("max_chunks cannot be 0");
    max_chunks_ = max_chunks;
    return *this;
}

chunk_stream_group_config &chunk_stream_group_config::set_eviction_mode(eviction_mode mode)
{
    eviction_mode_ = mode;
    return *this;
}

chunk_stream_group_config &chunk_stream_group_config::set_allocate(chunk_allocate_function allocate)
{
    allocate_ = std::move(allocate);
    return *this;
}

chunk_stream_group_config &chunk_stream_group_config::set_ready(chunk_ready_function ready)
{
    ready_ = std::move(ready);
    return *this;
}

/// A member's window: chunks come from, and are released to, the group.
class chunk_stream_group_member::group_state : public detail::chunk_stream_state
{
private:
    chunk_stream_group_member &member_;
    chunk_stream_group &group_;
    const std::size_t index_;

protected:
    void move_window(std::int64_t id) override
    {
        const std::int64_t target = id - std::int64_t(window_.get_max_chunks()) + 1;
        // The group may make us wait (for other members, a free chunk or the consumer): the
        // statistics read meanwhile must include what this batch has done so far.
        member_.publish_batch_stats();
        std::unique_lock<spead2::detail::checked_mutex> lock(group_.mutex_);
        group_.started_ = true;
        // Publish our progress before asking for new chunks: no one may wait for chunks we no
        // longer need.
        release_below_locked(target);
        // The chunks of our new window are asked for in order, from its first one: after a jump,
        // the group fills its window from there as spead2's does (LOSSY groups deliver the same
        // empty chunks as spead2's then).
        bool reached = true;
        for (std::int64_t c = std::max(window_.get_tail(), target); reached && c <= id; c++)
            reached = group_.reach_locked(lock, c, get_batch_stats());
        window_.extend_to(id,
                          [&](std::int64_t chunk_id) -> chunk *
                          {
                              chunk *c = reached && chunk_id >= group_.window_.get_head()
                                             ? group_.window_.get(chunk_id)
                                             : nullptr;
                              // As in spead2: the last member to take the chunk into its window.
                              if (c)
                                  c->stream_id = get_stream_id();
                              return c;
                          });
        group_.deliver_locked(lock, get_batch_stats());
    }

public:
    group_state(chunk_stream_group_member &member, std::size_t index, const stream_config &config,
                const chunk_stream_config &chunk_config, std::uint64_t *batch_stats)
        : detail::chunk_stream_state(config, chunk_config, batch_stats)
        , member_(member)
        , group_(member.get_group())
        , index_(index)
    {
    }

    /**
     * Releases this member's chunks below @a target (group lock held, and the member's own
     * lock: only its worker, or whoever holds its stream lock, may call this).
     */
    void release_below_locked(std::int64_t target)
    {
        if (target <= window_.get_head())
            return;
        retire_until(target, [](chunk *) {});
        group_.set_head_locked(index_, window_.get_head());
    }

    /// Releases what the group asks to evict (a LOSSY flush request), with @a stats for callbacks.
    void flush_evicted(std::uint64_t *stats)
    {
        std::unique_lock<spead2::detail::checked_mutex> lock(group_.mutex_);
        release_below_locked(group_.release_floor_locked());
        group_.deliver_locked(lock, stats);
    }

    /// Releases every chunk, marks the member stopped and waits until its chunks are delivered.
    void release_all(std::uint64_t *stats)
    {
        std::unique_lock<spead2::detail::checked_mutex> lock(group_.mutex_);
        retire_until(window_.get_tail(), [](chunk *) {});
        group_.member_stopped_locked(index_);
        // The data ring may lose its last producer when we return: deliver everything first.
        group_.drain_locked(lock, stats);
    }
};

chunk_stream_group_member::chunk_stream_group_member(chunk_stream_group &group, std::size_t index,
                                                     io_context_ref io_context, const stream_config &config,
                                                     const chunk_stream_config &chunk_config)
    : stream(std::move(io_context), detail::chunk_stream_state::adjust_config(config, chunk_config))
    , group_(group)
{
    auto state = std::make_unique<group_state>(*this, index, get_config(), chunk_config, batch_stats.data());
    state_ = state.get();
    set_payload_sink(std::move(state));
}

chunk_stream_group_member::~chunk_stream_group_member()
{
    stop_member();
}

const chunk_stream_config &chunk_stream_group_member::get_chunk_config() const
{
    return state_->get_chunk_config();
}

void chunk_stream_group_member::stop_received()
{
    stream::stop_received();
    state_->release_all(batch_stats.data());
    // Consumers that see the data ring stop must also see final statistics.
    publish_batch_stats();
    group_.member_stopped();
}

void chunk_stream_group_member::async_flush()
{
    asio::post(get_io_context(),
               [shared = get_shared()]
               {
                   std::lock_guard<std::mutex> lock(shared->queue_mutex);
                   auto *self = static_cast<chunk_stream_group_member *>(shared->self);
                   if (!self || self->is_stopped_unlocked())
                       return;
                   // Not inside a batch: collect statistics separately and add them directly.
                   std::vector<std::uint64_t> stats(self->get_config().get_stats().size(), 0);
                   self->state_->flush_evicted(stats.data());
                   for (std::size_t i = 0; i < stats.size(); i++)
                       if (stats[i] != 0)
                           self->add_stat_now(i, stats[i]);
               });
}

void chunk_stream_group_member::stop_member()
{
    stream::stop();
}

void chunk_stream_group_member::stop()
{
    group_.stop();
}

chunk_stream_group::chunk_stream_group(const chunk_stream_group_config &config)
    : config_(config)
    , window_(config.get_max_chunks())
{
    if (!config_.get_allocate())
        throw std::invalid_argument("chunk_stream_group_config.allocate is not set");
}

chunk_stream_group::~chunk_stream_group()
{
    stop();
    members_.clear();
    // Normally empty: the last member to stop readied everything.
    window_.flush_until(window_.get_tail(), [](chunk *c) { delete c; });
}

chunk_stream_group_member &chunk_stream_group::emplace_back(io_context_ref io_context,
                                                            const stream_config &config,
                                                            const chunk_stream_config &chunk_config)
{
    if (chunk_config.get_max_chunks() > config_.get_max_chunks())
        throw std::invalid_argument("stream max_chunks (" + std::to_string(chunk_config.get_max_chunks()) +
                                    ") must not be larger than group max_chunks (" +
                                    std::to_string(config_.get_max_chunks()) + ")");
    chunk_stream_group_member *added;
    {
        std::lock_guard<spead2::detail::checked_mutex> lock(mutex_);
        // Once every member has stopped, the data ring has lost its producers: spead2 refuses
        // then too.
        if (started_ || (!members_.empty() && live_members_ == 0))
            throw std::runtime_error("Cannot add a stream after group has started receiving data");
        members_.reserve(members_.size() + 1);
        heads_.reserve(heads_.size() + 1);
        auto m = std::make_unique<chunk_stream_group_member>(*this, members_.size(), std::move(io_context),
                                                             config, chunk_config);
        added = m.get();
        members_.push_back(std::move(m));
        heads_.push_back(0);
        live_members_++;
        // Under the lock: a member stopping meanwhile must not take the data ring's last producer.
        member_added();
    }
    return *added;
}

std::size_t chunk_stream_group::size() const
{
    std::lock_guard<spead2::detail::checked_mutex> lock(mutex_);
    return members_.size();
}

chunk_stream_group_member &chunk_stream_group::at(std::size_t index)
{
    std::lock_guard<spead2::detail::checked_mutex> lock(mutex_);
    if (index >= members_.size())
        throw std::out_of_range("member index " + std::to_string(index) + " out of range (size " +
                                std::to_string(members_.size()) + ")");
    return *members_[index];
}

std::int64_t chunk_stream_group::min_head_locked() const
{
    std::int64_t result = stopped_head;
    for (std::int64_t h : heads_)
        result = std::min(result, h);
    return result;
}

void chunk_stream_group::wait_locked(std::unique_lock<spead2::detail::checked_mutex> &lock)
{
    spead2::detail::check_may_block("chunk_stream_group wait", 1);
    changed_.wait(lock);
}

std::int64_t chunk_stream_group::release_floor_locked() const
{
    return std::max(window_.get_head(), flush_target_);
}

void chunk_stream_group::retire_locked(std::int64_t target)
{
    window_.flush_until(target,
                        [this](chunk *c)
                        {
                            if (c)
                                ready_queue_.emplace_back(c);
                        });
}

void chunk_stream_group::retire_released_locked()
{
    // At most the tail, so that a member extending the window meanwhile finds its tail where it
    // left it.
    const std::int64_t released = std::min(min_head_locked(), window_.get_tail());
    if (released > window_.get_head())
        retire_locked(released);
}

bool chunk_stream_group::deliver_locked(std::unique_lock<spead2::detail::checked_mutex> &lock,
                                        std::uint64_t *batch_stats)
{
    if (delivering_ || ready_queue_.empty())
        return false;
    // One deliverer at a time keeps chunks in order; the callback may block (a full data ring),
    // so it runs without the lock while others go on filling the window.
    delivering_ = true;
    while (!ready_queue_.empty())
    {
        std::unique_ptr<chunk> c = std::move(ready_queue_.front());
        ready_queue_.pop_front();
        lock.unlock();
        if (config_.get_ready())
            config_.get_ready()(std::move(c), batch_stats);
        c.reset();
        lock.lock();
    }
    delivering_ = false;
    changed_.notify_all();
    return true;
}

void chunk_stream_group::drain_locked(std::unique_lock<spead2::detail::checked_mutex> &lock,
                                      std::uint64_t *batch_stats)
{
    while (!ready_queue_.empty() || delivering_)
    {
        if (delivering_)
            wait_locked(lock);
        else
            deliver_locked(lock, batch_stats);
    }
}

bool chunk_stream_group::reach_locked(std::unique_lock<spead2::detail::checked_mutex> &lock, std::int64_t id,
                                      std::uint64_t *batch_stats)
{
    const auto max_chunks = std::int64_t(window_.get_max_chunks());
    const bool lossless = config_.get_eviction_mode() == chunk_stream_group_config::eviction_mode::LOSSLESS;
    while (true)
    {
        if (stopped_)
            return false;
        if (id < window_.get_tail())
            return true;
        // Chunks no member holds any more leave first (a window emptied that way restarts where
        // the members are), so that a member skipping chunks does not allocate them, as in spead2.
        const std::int64_t min_head = min_head_locked();
        const std::int64_t released = std::min(min_head, id);
        if (!extending_ && released > window_.get_head())
            retire_locked(released);
        // The next chunk to allocate: the tail, or for a jump of a whole window, the first chunk
        // of the new window (chunks in between are never allocated).
        const std::int64_t next = std::max(window_.get_tail(), id - max_chunks + 1);
        const std::int64_t new_head = next == window_.get_tail() ? next - max_chunks + 1 : next;
        const bool must_evict = new_head > window_.get_head();
        const bool held = must_evict && min_head < new_head;
        if (held && !lossless && new_head > flush_target_)
        {
            // LOSSY: the members still holding chunks that must leave are told to let go now,
            // whether or not they have data for them; we wait only for them to do so.
            flush_target_ = new_head;
            for (std::size_t i = 0; i < members_.size(); i++)
                if (heads_[i] < new_head)
                    members_[i]->async_flush();
        }
        // Wait while someone else allocates, while delivery lags a window behind, or while a
        // member still holds a chunk that must leave.
        if (extending_ || (delivering_ && ready_queue_.size() >= window_.get_max_chunks()) || held)
        {
            // Members waiting here hold nothing that others wait for (see the design note), but
            // chunks that are ready must not wait for us.
            if (!deliver_locked(lock, batch_stats))
                wait_locked(lock);
            continue;
        }
        if (must_evict)
            retire_locked(new_head);
        // Evicted chunks must be on their way to the consumer before we wait for a free one;
        // delivering releases the lock, so look at everything again afterwards.
        if (deliver_locked(lock, batch_stats))
            continue;
        extending_ = true;
        lock.unlock();
        std::unique_ptr<chunk> c = config_.get_allocate()(next, batch_stats);
        lock.lock();
        extending_ = false;
        changed_.notify_all();
        if (c)
            c->chunk_id = next;
        // Only the extending thread moves the window, and stop leaves it alone while a member
        // (we) is live: its tail is still next.
        window_.extend_to(next, [&](std::int64_t) { return c.release(); });
    }
}

void chunk_stream_group::set_head_locked(std::size_t index, std::int64_t head)
{
    if (head > heads_[index])
    {
        heads_[index] = head;
        changed_.notify_all();
        // Chunks that this member was the last to hold go to the consumer now, as in spead2,
        // rather than when the group window next has to move.
        retire_released_locked();
    }
}

void chunk_stream_group::member_stopped_locked(std::size_t index)
{
    heads_[index] = stopped_head;
    changed_.notify_all();
    if (--live_members_ == 0)
        retire_locked(window_.get_tail());
    else
        retire_released_locked(); // what only this member still held
}

void chunk_stream_group::stop_members()
{
    std::vector<chunk_stream_group_member *> members;
    {
        std::lock_guard<spead2::detail::checked_mutex> lock(mutex_);
        for (const auto &m : members_)
            members.push_back(m.get());
    }
    for (chunk_stream_group_member *m : members)
        m->stop_member();
}

void chunk_stream_group::stop()
{
    {
        std::lock_guard<spead2::detail::checked_mutex> lock(mutex_);
        stopped_ = true;
        changed_.notify_all();
    }
    stop_members();
}

} // namespace spead2::recv
