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
    chunk_stream_group &group_;
    const std::size_t index_;

protected:
    void move_window(std::int64_t id) override
    {
        const std::int64_t target = id - std::int64_t(window_.get_max_chunks()) + 1;
        std::unique_lock<std::mutex> lock(group_.mutex_);
        group_.started_ = true;
        retire_until(target, [](chunk *) {});
        // Publish our progress before asking for new chunks: a LOSSLESS wait must never wait for us.
        group_.set_head_locked(index_, window_.get_head());
        window_.extend_to(
            id, [&](std::int64_t chunk_id)
            { return group_.acquire_locked(lock, index_, chunk_id, get_stream_id(), get_batch_stats()); });
        group_.ready_released_locked(get_batch_stats());
    }

public:
    group_state(chunk_stream_group &group, std::size_t index, const stream_config &config,
                const chunk_stream_config &chunk_config, std::uint64_t *batch_stats)
        : detail::chunk_stream_state(config, chunk_config, batch_stats)
        , group_(group)
        , index_(index)
    {
    }

    /// Releases chunks below @a target (a LOSSY flush request).
    void flush_until(std::int64_t target, std::uint64_t *stats)
    {
        std::lock_guard<std::mutex> lock(group_.mutex_);
        if (target <= window_.get_head())
            return;
        retire_until(target, [](chunk *) {});
        group_.set_head_locked(index_, window_.get_head());
        group_.ready_released_locked(stats);
    }

    /// Releases every chunk and marks the member stopped.
    void release_all(std::uint64_t *stats)
    {
        std::lock_guard<std::mutex> lock(group_.mutex_);
        retire_until(window_.get_tail(), [](chunk *) {});
        group_.member_stopped_locked(index_, stats);
    }
};

chunk_stream_group_member::chunk_stream_group_member(chunk_stream_group &group, std::size_t index,
                                                     io_context_ref io_context, const stream_config &config,
                                                     const chunk_stream_config &chunk_config)
    : stream(std::move(io_context), detail::chunk_stream_state::adjust_config(config, chunk_config))
    , group_(group)
{
    state_ = std::make_unique<group_state>(group, index, get_config(), chunk_config, batch_stats.data());
    set_packet_placement(&detail::chunk_stream_state::place_packet, state_.get());
}

chunk_stream_group_member::~chunk_stream_group_member()
{
    stop_member();
}

const chunk_stream_config &chunk_stream_group_member::get_chunk_config() const
{
    return state_->get_chunk_config();
}

void chunk_stream_group_member::heap_ready(live_heap &&h)
{
    state_->heap_ready(h);
}

void chunk_stream_group_member::stop_received()
{
    stream::stop_received();
    state_->release_all(batch_stats.data());
    // Consumers that see the data ring stop must also see final statistics.
    publish_batch_stats();
    group_.member_stopped();
}

void chunk_stream_group_member::async_flush_until(std::int64_t target)
{
    asio::post(get_io_context(),
               [shared = get_shared(), target]
               {
                   std::lock_guard<std::mutex> lock(shared->queue_mutex);
                   auto *self = static_cast<chunk_stream_group_member *>(shared->self);
                   if (!self || self->is_stopped_unlocked())
                       return;
                   // Not inside a batch: collect statistics separately and add them directly.
                   std::vector<std::uint64_t> stats(self->get_config().get_stats().size(), 0);
                   self->state_->flush_until(target, stats.data());
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
    for (chunk *c : retiring_)
        delete c;
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
        std::lock_guard<std::mutex> lock(mutex_);
        if (started_)
            throw std::runtime_error("Cannot add a stream after group has started receiving data");
        members_.reserve(members_.size() + 1);
        heads_.reserve(heads_.size() + 1);
        auto m = std::make_unique<chunk_stream_group_member>(*this, members_.size(), std::move(io_context),
                                                             config, chunk_config);
        added = m.get();
        members_.push_back(std::move(m));
        heads_.push_back(0);
        live_members_++;
    }
    member_added();
    return *added;
}

std::size_t chunk_stream_group::size() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return members_.size();
}

chunk_stream_group_member &chunk_stream_group::at(std::size_t index)
{
    std::lock_guard<std::mutex> lock(mutex_);
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

void chunk_stream_group::ready_locked(chunk *c, std::uint64_t *batch_stats)
{
    std::unique_ptr<chunk> owned(c);
    if (config_.get_ready())
        config_.get_ready()(std::move(owned), batch_stats);
}

void chunk_stream_group::ready_released_locked(std::uint64_t *batch_stats)
{
    const std::int64_t min_head = min_head_locked();
    while (!retiring_.empty() && retiring_.front()->chunk_id < min_head)
    {
        chunk *c = retiring_.front();
        retiring_.pop_front();
        ready_locked(c, batch_stats);
    }
}

void chunk_stream_group::set_head_locked(std::size_t index, std::int64_t head)
{
    if (head > heads_[index])
    {
        heads_[index] = head;
        heads_changed_.notify_all();
    }
}

chunk *chunk_stream_group::acquire_locked(std::unique_lock<std::mutex> &lock, std::size_t index,
                                          std::int64_t id, std::uintptr_t stream_id,
                                          std::uint64_t *batch_stats)
{
    (void)index;
    while (true)
    {
        if (stopped_ || id < window_.get_head())
            return nullptr;
        if (id < window_.get_tail())
            return window_.get(id);
        const std::int64_t target = id - std::int64_t(window_.get_max_chunks()) + 1;
        if (target > window_.get_head())
        {
            if (config_.get_eviction_mode() == chunk_stream_group_config::eviction_mode::LOSSLESS)
            {
                if (min_head_locked() < target)
                {
                    // Others may move the window while we wait: re-examine everything afterwards.
                    heads_changed_.wait(lock);
                    continue;
                }
            }
            else
            {
                for (std::size_t i = 0; i < members_.size(); i++)
                    if (heads_[i] < target)
                        members_[i]->async_flush_until(target);
            }
            window_.flush_until(target,
                                [this](chunk *c)
                                {
                                    if (c)
                                        retiring_.push_back(c);
                                });
        }
        window_.extend_to(id,
                          [&](std::int64_t chunk_id) -> chunk *
                          {
                              std::unique_ptr<chunk> c = config_.get_allocate()(chunk_id, batch_stats);
                              if (c)
                              {
                                  c->chunk_id = chunk_id;
                                  c->stream_id = stream_id;
                              }
                              return c.release();
                          });
        return window_.get(id);
    }
}

void chunk_stream_group::member_stopped_locked(std::size_t index, std::uint64_t *batch_stats)
{
    heads_[index] = stopped_head;
    heads_changed_.notify_all();
    if (--live_members_ == 0)
        window_.flush_until(window_.get_tail(),
                            [this](chunk *c)
                            {
                                if (c)
                                    retiring_.push_back(c);
                            });
    ready_released_locked(batch_stats);
}

void chunk_stream_group::stop_members()
{
    std::vector<chunk_stream_group_member *> members;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (const auto &m : members_)
            members.push_back(m.get());
    }
    for (chunk_stream_group_member *m : members)
        m->stop_member();
}

void chunk_stream_group::stop()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopped_ = true;
        heads_changed_.notify_all();
    }
    stop_members();
}

} // namespace spead2::recv
