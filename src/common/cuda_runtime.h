// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Internal: the CUDA runtime functions spead2 calls, from libcudart opened at first use.
#ifndef SPEAD2_SRC_COMMON_CUDA_RUNTIME_H
#define SPEAD2_SRC_COMMON_CUDA_RUNTIME_H

#include <string>
#include <spead2/features.h>
#if SPEAD2_USE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace spead2::detail
{

#if SPEAD2_USE_CUDA
/// Function pointers into libcudart (names as in the runtime API, without the cuda prefix).
struct cuda_runtime
{
    decltype(&::cudaGetDeviceCount) GetDeviceCount;
    decltype(&::cudaGetErrorString) GetErrorString;
    decltype(&::cudaGetDevice) GetDevice;
    decltype(&::cudaSetDevice) SetDevice;
    decltype(&::cudaMalloc) Malloc;
    decltype(&::cudaFree) Free;
    decltype(&::cudaHostAlloc) HostAlloc;
    decltype(&::cudaFreeHost) FreeHost;
    decltype(&::cudaMemcpy) Memcpy;
    decltype(&::cudaMemcpyAsync) MemcpyAsync;
    decltype(&::cudaStreamCreateWithFlags) StreamCreateWithFlags;
    decltype(&::cudaStreamDestroy) StreamDestroy;
    decltype(&::cudaStreamSynchronize) StreamSynchronize;
    decltype(&::cudaEventCreateWithFlags) EventCreateWithFlags;
    decltype(&::cudaEventRecord) EventRecord;
    decltype(&::cudaEventSynchronize) EventSynchronize;
    decltype(&::cudaEventDestroy) EventDestroy;

    /// "what: <CUDA's message>".
    std::string message(cudaError_t status, const char *what) const;
    /// @throws std::runtime_error with message() unless @a status is cudaSuccess
    void check(cudaError_t status, const char *what) const;
};

/**
 * Makes @a device current for the calling thread while it lives, then restores the thread's
 * previous device, so that spead2 never changes the device that other CUDA code (CuPy, PyTorch)
 * on the same thread works with.
 */
class cuda_device_scope
{
private:
    const cuda_runtime &rt_;
    int previous_ = -1;

public:
    /// @throws std::runtime_error if @a device cannot be made current
    cuda_device_scope(const cuda_runtime &rt, int device);
    ~cuda_device_scope();
    cuda_device_scope(const cuda_device_scope &) = delete;
    cuda_device_scope &operator=(const cuda_device_scope &) = delete;
};
#else
struct cuda_runtime;
#endif

/**
 * The runtime, loaded on first use (and then kept). @throws std::runtime_error saying why CUDA
 * cannot be used: spead2 built without it, or libcudart not found.
 */
const cuda_runtime &get_cuda_runtime();

} // namespace spead2::detail

#endif // SPEAD2_SRC_COMMON_CUDA_RUNTIME_H
