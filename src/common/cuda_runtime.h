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
    decltype(&::cudaSetDevice) SetDevice;
    decltype(&::cudaMalloc) Malloc;
    decltype(&::cudaFree) Free;
    decltype(&::cudaHostAlloc) HostAlloc;
    decltype(&::cudaFreeHost) FreeHost;
    decltype(&::cudaMemcpy) Memcpy;
    decltype(&::cudaMemcpyAsync) MemcpyAsync;
    decltype(&::cudaStreamCreateWithFlags) StreamCreateWithFlags;
    decltype(&::cudaStreamDestroy) StreamDestroy;
    decltype(&::cudaEventCreateWithFlags) EventCreateWithFlags;
    decltype(&::cudaEventRecord) EventRecord;
    decltype(&::cudaEventSynchronize) EventSynchronize;
    decltype(&::cudaEventDestroy) EventDestroy;

    /// "what: <CUDA's message>".
    std::string message(cudaError_t status, const char *what) const;
    /// @throws std::runtime_error with message() unless @a status is cudaSuccess
    void check(cudaError_t status, const char *what) const;
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
