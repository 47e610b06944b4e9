// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// CUDA memory for chunks: pinned host memory and device memory (docs/user/gpu.md).
#ifndef SPEAD2_COMMON_CUDA_H
#define SPEAD2_COMMON_CUDA_H

#include <cstddef>
#include <string>
#include <spead2/common/memory_allocator.h>

namespace spead2
{

/**
 * Whether CUDA can be used here: spead2 was built with it (SPEAD2_USE_CUDA), libcudart loads and
 * at least one device is present. If not, and @a reason is given, says why.
 */
bool cuda_available(std::string *reason = nullptr);

/**
 * Page-locked host memory (cudaHostAlloc): the GPU reads it by DMA, so copies from it run at
 * full bus speed and asynchronously. The CPU may write it, so it suits heap buffers and chunks.
 */
class cuda_pinned_allocator : public memory_allocator
{
public:
    /// @throws std::runtime_error if CUDA cannot be used (see cuda_available)
    cuda_pinned_allocator();
    /// @throws std::bad_alloc (the CUDA error is logged)
    pointer allocate(std::size_t size, void *hint) override;

private:
    void free(std::uint8_t *ptr, void *user) override;
};

/**
 * Device memory (cudaMalloc) on one GPU. The CPU must not write it: use it only for chunk data
 * of a chunk stream with a CUDA copy engine (recv::cuda_copy_engine), never for heap buffers.
 */
class cuda_device_allocator : public memory_allocator
{
private:
    int device_;

public:
    /// @throws std::runtime_error if CUDA cannot be used, or @a device does not exist
    explicit cuda_device_allocator(int device = 0);
    /// @throws std::bad_alloc (the CUDA error is logged)
    pointer allocate(std::size_t size, void *hint) override;
    int get_device() const { return device_; }

private:
    void free(std::uint8_t *ptr, void *user) override;
};

} // namespace spead2

#endif // SPEAD2_COMMON_CUDA_H
