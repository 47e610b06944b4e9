// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: shared pieces of the bindings (objects the recv/send bindings take
/// as arguments, the atexit registry, buffer access and error conversion).
#ifndef SPEAD2_PYTHON_COMMON_H
#define SPEAD2_PYTHON_COMMON_H

#include <functional>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>
#include <Python.h>
#include <nanobind/nanobind.h>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/io_context_ref.h>
#include <spead2/common/thread_pool.h>

namespace spead2::python
{

/// When the atexit hook runs an entry (see register_stoppable).
enum class stop_phase
{
    streams,     ///< streams, groups and anything that may block a worker
    thread_pools ///< after every stream: joining a pool waits for its workers
};

/**
 * Adds @a stop to what the atexit hook runs before the interpreter shuts down: live streams,
 * thread pools and the like must stop while Python still works. Entries run phase by phase, newest
 * first within a phase: a stream (or a group member made on a pool newer than its group) must
 * stop before the pool's threads are joined, or a worker blocked in it keeps the join waiting.
 * They run with the GIL released and the registry's lock held, so @a stop must not call Python or
 * (un)register anything. @a key identifies the entry for unregister_stoppable. Any thread.
 */
void register_stoppable(const void *key, std::function<void()> stop, stop_phase phase = stop_phase::streams);

/**
 * Removes the entry for @a key (no-op if absent, e.g. after the atexit hook ran). Call it from the
 * owner's destructor before the object becomes unusable. If the atexit hook is running, waits
 * until it finishes. Any thread.
 */
void unregister_stoppable(const void *key) noexcept;

/**
 * spead2.ThreadPool. Always owned by a std::shared_ptr (Python holds one), so bindings can take
 * `std::shared_ptr<thread_pool_wrapper>` and build an io_context_ref that keeps the pool alive
 * without touching Python when it is released. Stopped by the atexit hook. The destructor joins
 * the workers with the GIL released; it must not run on one of the pool's own workers.
 */
class thread_pool_wrapper : public thread_pool, public std::enable_shared_from_this<thread_pool_wrapper>
{
public:
    explicit thread_pool_wrapper(int num_threads = 1);
    thread_pool_wrapper(int num_threads, const std::vector<int> &affinity);
    ~thread_pool_wrapper();
};

/// An io_context_ref that keeps the Python thread pool alive (released without the GIL).
inline io_context_ref make_io_context(std::shared_ptr<thread_pool_wrapper> tp)
{
    return io_context_ref(std::shared_ptr<thread_pool>(std::move(tp)));
}

/**
 * spead2.InprocQueue. Owned by a std::shared_ptr, so that streams can share it
 * (`std::shared_ptr<inproc_queue_wrapper>` converts to `std::shared_ptr<inproc_queue>`) and
 * release it from any thread.
 */
class inproc_queue_wrapper : public inproc_queue, public std::enable_shared_from_this<inproc_queue_wrapper>
{
};

/**
 * Read access to a C-contiguous buffer (bytes, bytearray, numpy array, memoryview...).
 * @throws nanobind::python_error (TypeError, BufferError) if @a obj does not provide one.
 * Construct and destroy with the GIL held; the data may be read with the GIL released in between.
 */
class buffer_view
{
private:
    Py_buffer view_{};

public:
    explicit buffer_view(nanobind::handle obj, int flags = PyBUF_SIMPLE);
    ~buffer_view();
    buffer_view(const buffer_view &) = delete;
    buffer_view &operator=(const buffer_view &) = delete;

    const void *data() const { return view_.buf; }
    std::size_t size() const { return static_cast<std::size_t>(view_.len); }
    const Py_buffer &get() const { return view_; }
};

/**
 * The Python exception for an I/O error code: OSError(errno, message), which Python turns into the
 * matching subclass (BlockingIOError for EAGAIN, ConnectionRefusedError...). Codes from other
 * categories give RuntimeError(message). For completion callbacks `(exc_or_None, bytes)`. Needs
 * the GIL.
 */
nanobind::object make_exception(const std::error_code &ec);

} // namespace spead2::python

#endif // SPEAD2_PYTHON_COMMON_H
