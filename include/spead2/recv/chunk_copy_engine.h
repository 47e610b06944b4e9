// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Copy engines: how a chunk stream fills chunks that the CPU does not write itself (GPU memory).
#ifndef SPEAD2_RECV_CHUNK_COPY_ENGINE_H
#define SPEAD2_RECV_CHUNK_COPY_ENGINE_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <spead2/common/memory_allocator.h>

namespace spead2::recv
{

/**
 * Moves payload into chunk memory that the CPU must not write directly, such as device memory.
 * A chunk stream with an engine (chunk_stream_config::set_copy_engine) copies each packet's
 * payload into a host staging buffer that mirrors the chunk (from allocate_staging, so pinned for
 * DMA), and at the end of every batch queues one asynchronous copy per chunk touched, of the byte
 * range the batch wrote. Before a chunk leaves the stream (to the ready callback, a ring or a
 * group) the stream waits until its copies are complete, so the consumer sees the data in place.
 *
 * Each stream makes its own engine (one queue, e.g. one CUDA stream, per chunk stream) and calls
 * it only from the thread running its batch. copy_async, record and wait run with the stream lock
 * held and must not throw: an engine reports its failures itself (log, counters).
 */
class chunk_copy_engine
{
public:
    virtual ~chunk_copy_engine() = default;

    /// Host memory of @a size bytes to stage payload in. @throws std::bad_alloc or std::runtime_error
    virtual memory_allocator::pointer allocate_staging(std::size_t size) = 0;

    /// Queues a copy of @a n bytes from host @a src to chunk memory @a dest, and returns at once.
    virtual void copy_async(void *dest, const void *src, std::size_t n) = 0;

    /// Marks the copies queued so far; returns a ticket for wait().
    virtual std::uint64_t record() = 0;

    /// Returns once every copy queued before record() gave @a ticket has completed.
    virtual void wait(std::uint64_t ticket) = 0;
};

/// Makes the copy engine of one stream (called once per stream, when it is constructed).
typedef std::function<std::unique_ptr<chunk_copy_engine>()> chunk_copy_engine_factory;

} // namespace spead2::recv

#endif // SPEAD2_RECV_CHUNK_COPY_ENGINE_H
