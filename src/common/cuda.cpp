// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// CUDA availability and the pinned and device allocators.
#include <new>
#include <stdexcept>
#include <spead2/common/cuda.h>
#include <spead2/common/logging.h>
#include "common/cuda_runtime.h"

namespace spead2
{

#if SPEAD2_USE_CUDA

bool cuda_available(std::string *reason)
{
    try
    {
        const detail::cuda_runtime &rt = detail::get_cuda_runtime();
        int count = 0;
        const cudaError_t status = rt.GetDeviceCount(&count);
        if (status != cudaSuccess)
            throw std::runtime_error(rt.message(status, "no usable CUDA device (cudaGetDeviceCount)"));
        if (count == 0)
            throw std::runtime_error("no CUDA device");
        return true;
    }
    catch (std::exception &e)
    {
        if (reason)
            *reason = e.what();
        return false;
    }
}

namespace
{

/// @throws std::runtime_error saying why CUDA cannot be used
void require_cuda()
{
    if (std::string reason; !cuda_available(&reason))
        throw std::runtime_error(reason);
}

} // namespace

cuda_pinned_allocator::cuda_pinned_allocator()
{
    require_cuda();
}

memory_allocator::pointer cuda_pinned_allocator::allocate(std::size_t size, void *)
{
    const detail::cuda_runtime &rt = detail::get_cuda_runtime();
    void *ptr = nullptr;
    const cudaError_t status = rt.HostAlloc(&ptr, size, cudaHostAllocDefault);
    if (status != cudaSuccess)
    {
        SPEAD2_LOG_WARNING("%s", rt.message(status, "cudaHostAlloc").c_str());
        throw std::bad_alloc();
    }
    return prepare_for_deallocate(static_cast<std::uint8_t *>(ptr));
}

void cuda_pinned_allocator::free(std::uint8_t *ptr, void *)
{
    const detail::cuda_runtime &rt = detail::get_cuda_runtime();
    const cudaError_t status = rt.FreeHost(ptr);
    if (status != cudaSuccess)
        SPEAD2_LOG_WARNING("%s", rt.message(status, "cudaFreeHost").c_str());
}

cuda_device_allocator::cuda_device_allocator(int device)
    : device_(device)
{
    require_cuda();
    detail::cuda_device_scope scope(detail::get_cuda_runtime(), device); // checks that it exists
}

memory_allocator::pointer cuda_device_allocator::allocate(std::size_t size, void *)
{
    const detail::cuda_runtime &rt = detail::get_cuda_runtime();
    void *ptr = nullptr;
    cudaError_t status;
    try
    {
        detail::cuda_device_scope scope(rt, device_);
        status = rt.Malloc(&ptr, size);
    }
    catch (std::runtime_error &e)
    {
        SPEAD2_LOG_WARNING("%s", e.what());
        throw std::bad_alloc();
    }
    if (status != cudaSuccess)
    {
        SPEAD2_LOG_WARNING("%s", rt.message(status, "cudaMalloc").c_str());
        throw std::bad_alloc();
    }
    return prepare_for_deallocate(static_cast<std::uint8_t *>(ptr));
}

void cuda_device_allocator::free(std::uint8_t *ptr, void *)
{
    const detail::cuda_runtime &rt = detail::get_cuda_runtime();
    const cudaError_t status = rt.Free(ptr);
    if (status != cudaSuccess)
        SPEAD2_LOG_WARNING("%s", rt.message(status, "cudaFree").c_str());
}

#else // !SPEAD2_USE_CUDA

bool cuda_available(std::string *reason)
{
    if (reason)
        *reason = "spead2 was built without CUDA support";
    return false;
}

cuda_pinned_allocator::cuda_pinned_allocator()
{
    detail::get_cuda_runtime(); // throws
}

memory_allocator::pointer cuda_pinned_allocator::allocate(std::size_t, void *)
{
    throw std::bad_alloc();
}

void cuda_pinned_allocator::free(std::uint8_t *, void *) {}

cuda_device_allocator::cuda_device_allocator(int device)
    : device_(device)
{
    detail::get_cuda_runtime(); // throws
}

memory_allocator::pointer cuda_device_allocator::allocate(std::size_t, void *)
{
    throw std::bad_alloc();
}

void cuda_device_allocator::free(std::uint8_t *, void *) {}

#endif

} // namespace spead2
