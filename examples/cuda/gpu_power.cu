// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The GPU half of gpu_chunks.cpp: the total power of int8 samples already in device memory.
#include <cstddef>
#include <cstdint>
#include <cuda_runtime.h>

namespace
{

__global__ void power_kernel(const std::int8_t *samples, std::size_t n, unsigned long long *total)
{
    unsigned long long sum = 0;
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
         i += std::size_t(blockDim.x) * gridDim.x)
        sum += (unsigned long long)(int(samples[i]) * int(samples[i]));
    atomicAdd(total, sum);
}

} // namespace

/// Sum of the squares of @a n int8 samples at @a device_samples; runs the kernel and waits for it.
unsigned long long chunk_power(const void *device_samples, std::size_t n)
{
    unsigned long long *total = nullptr;
    unsigned long long result = 0;
    if (cudaMalloc(&total, sizeof(*total)) != cudaSuccess)
        return ~0ull;
    cudaMemset(total, 0, sizeof(*total));
    power_kernel<<<64, 256>>>(static_cast<const std::int8_t *>(device_samples), n, total);
    cudaMemcpy(&result, total, sizeof(result), cudaMemcpyDeviceToHost);
    cudaFree(total);
    return result;
}
