// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A pool of worker threads running one Asio io_context.
#ifndef SPEAD2_COMMON_THREAD_POOL_H
#define SPEAD2_COMMON_THREAD_POOL_H

#include <memory>
#include <vector>

namespace asio
{
class io_context;
} // namespace asio

namespace spead2
{

/**
 * Worker threads that run a shared io_context. Streams post their work to it; a stream is served
 * by at most one worker at a time. Workers keep running (even with no pending work) until stop()
 * or destruction. An exception escaping a handler is logged and the worker carries on.
 *
 * Thread safety: get_io_context() and stop() may be called from any thread. stop() must not be
 * called from a worker of this pool (it would join itself); the destructor likewise.
 *
 * Lifetime: destroying the pool stops it; objects using the io_context must be stopped or
 * destroyed first (hold a std::shared_ptr<thread_pool> via io_context_ref to make that automatic).
 */
class thread_pool
{
private:
    struct impl;
    std::unique_ptr<impl> impl_;

public:
    /// @throws std::invalid_argument if @a num_threads < 1
    explicit thread_pool(int num_threads = 1);
    /**
     * Pins worker i to core affinity[i % affinity.size()] (an empty list means no pinning).
     * A failure to pin only logs a warning.
     * @throws std::invalid_argument if @a num_threads < 1
     */
    thread_pool(int num_threads, const std::vector<int> &affinity);
    ~thread_pool();
    thread_pool(const thread_pool &) = delete;
    thread_pool &operator=(const thread_pool &) = delete;

    asio::io_context &get_io_context();
    /// Backwards-compatible name for get_io_context().
    asio::io_context &get_io_service() { return get_io_context(); }

    /// Stops the io_context and joins the workers. Idempotent; pending handlers are abandoned.
    void stop();

    /// Number of worker threads the pool was started with.
    int get_num_threads() const;

    /// Pins the calling thread to @a core. Failure only logs a warning.
    static void set_affinity(int core);
};

} // namespace spead2

#endif // SPEAD2_COMMON_THREAD_POOL_H
