// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A stream core driven by readers on an io_context.
#ifndef SPEAD2_RECV_STREAM_H
#define SPEAD2_RECV_STREAM_H

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>
#include <spead2/common/checked_mutex.h>
#include <spead2/common/io_context_ref.h>
#include <spead2/recv/reader.h>
#include <spead2/recv/stream_base.h>

namespace spead2::recv
{

/**
 * A stream_base that owns readers, whose handlers run on an io_context (usually a thread_pool's).
 * Only one handler drives the stream at a time (they share the stream lock).
 *
 * Threads: emplace_reader(), start() and stop() may be called from any thread (not from inside
 * heap_ready()). stop() is idempotent; it stops the readers and flushes live heaps.
 *
 * Destruction order: a subclass destructor calls stop() (see stream_base); ~stream then stops
 * (if still needed), detaches the shared state so that late handlers do nothing, and destroys
 * the readers in the calling thread. The io_context must outlive the stream unless it is held
 * through a shared_ptr<thread_pool> in the io_context_ref.
 */
class stream : public stream_base
{
private:
    io_context_ref io_context_;
    /**
     * Guards the reader list. It is separate from the stream lock (queue_mutex) so that adding
     * a reader never waits behind a worker blocked on a full ring. Lock order: the stream lock
     * (if held) before this one.
     */
    spead2::detail::checked_mutex readers_mutex_;
    std::vector<std::unique_ptr<reader>> readers_;
    bool started_ = false;
    bool readers_stopped_ = false;
    std::atomic<int> lossy_readers_{0};

protected:
    /// Stops every reader, then flushes (stream_base::stop_received).
    void stop_received() override;
    /// Whether any reader is lossy.
    bool has_lossy_reader() const { return lossy_readers_.load(std::memory_order_relaxed) > 0; }

public:
    explicit stream(io_context_ref io_context, const stream_config &config = stream_config());
    ~stream() override;

    asio::io_context &get_io_context() const { return *io_context_; }
    /// Old name for get_io_context().
    asio::io_context &get_io_service() const { return *io_context_; }

    /**
     * Constructs a reader of type @a T from (*this, args...) (through reader_factory<T>) and adds it. It
     * starts at once unless the config has explicit_start. After a stop the call is silently ignored.
     * @throws std::runtime_error "Cannot add readers after explicit start" if explicit_start is
     * set and start() has been called; whatever T's constructor throws.
     */
    template<typename T, typename... Args>
    void emplace_reader(Args &&...args)
    {
        std::lock_guard<spead2::detail::checked_mutex> lock(readers_mutex_);
        const bool explicit_start = get_config().get_explicit_start();
        if (explicit_start && started_)
            throw std::runtime_error("Cannot add readers after explicit start");
        if (readers_stopped_)
            return;
        readers_.reserve(readers_.size() + 1); // so that push_back below cannot throw
        std::unique_ptr<reader> r = reader_factory<T>::make_reader(*this, std::forward<Args>(args)...);
        if (r->lossy())
            lossy_readers_++;
        readers_.push_back(std::move(r));
        if (!explicit_start)
            readers_.back()->start();
    }

    /// Starts the readers added so far when explicit_start is set (otherwise does nothing). Idempotent.
    void start();
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_STREAM_H
