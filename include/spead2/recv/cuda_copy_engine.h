// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The CUDA copy engine: chunk streams that receive straight into GPU memory (docs/user/gpu.md).
#ifndef SPEAD2_RECV_CUDA_COPY_ENGINE_H
#define SPEAD2_RECV_CUDA_COPY_ENGINE_H

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <utility>
#include <vector>
#include <spead2/common/cuda.h>
#include <spead2/recv/chunk_copy_engine.h>

namespace spead2::recv
{

/**
 * Copies staged payload from pinned host memory to device memory on a CUDA stream of its own,
 * with one event per batch to wait for (see chunk_copy_engine). Failures are logged and counted
 * (get_errors), never thrown from the stream's worker; a failed copy leaves the chunk's bytes
 * undefined (its heaps still count as present), so check get_errors() when it matters. The
 * calling thread's current CUDA device is never changed.
 */
class cuda_copy_engine : public chunk_copy_engine
{
private:
    int device_;
    /// cudaStream_t and cudaEvent_t, kept opaque here.
    void *stream_ = nullptr;
    std::shared_ptr<cuda_pinned_allocator> staging_allocator_;
    /// Events recorded and not yet waited for, oldest first, with their tickets.
    std::deque<std::pair<std::uint64_t, void *>> recorded_;
    std::vector<void *> spare_events_;
    std::uint64_t next_ticket_ = 1;
    std::uint64_t errors_ = 0;
    /// An event could not be made or recorded: the next wait synchronises the whole CUDA stream.
    bool synchronize_on_wait_ = false;

    void report(int status, const char *what);

public:
    /// @throws std::runtime_error if CUDA cannot be used or @a device does not exist
    explicit cuda_copy_engine(int device = 0);
    ~cuda_copy_engine() override;
    cuda_copy_engine(const cuda_copy_engine &) = delete;
    cuda_copy_engine &operator=(const cuda_copy_engine &) = delete;

    memory_allocator::pointer allocate_staging(std::size_t size) override;
    void copy_async(void *dest, const void *src, std::size_t n) override;
    std::uint64_t record() override;
    void wait(std::uint64_t ticket) override;

    int get_device() const { return device_; }
    /// CUDA calls that failed since construction (each is logged).
    std::uint64_t get_errors() const { return errors_; }
};

/// For chunk_stream_config::set_copy_engine: one cuda_copy_engine (one CUDA stream) per stream.
chunk_copy_engine_factory cuda_copy_engine_factory(int device = 0);

} // namespace spead2::recv

#endif // SPEAD2_RECV_CUDA_COPY_ENGINE_H
