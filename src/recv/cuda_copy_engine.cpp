// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Host-to-device copies of staged chunk payload on a CUDA stream, with events per batch.
#include <stdexcept>
#include <spead2/common/logging.h>
#include <spead2/recv/cuda_copy_engine.h>
#include "common/cuda_runtime.h"

namespace spead2::recv
{

#if SPEAD2_USE_CUDA

cuda_copy_engine::cuda_copy_engine(int device)
    : device_(device)
{
    const detail::cuda_runtime &rt = detail::get_cuda_runtime();
    rt.check(rt.SetDevice(device), "cudaSetDevice");
    cudaStream_t stream;
    rt.check(rt.StreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
    stream_ = stream;
    staging_allocator_ = std::make_shared<cuda_pinned_allocator>();
}

cuda_copy_engine::~cuda_copy_engine()
{
    const detail::cuda_runtime &rt = detail::get_cuda_runtime();
    for (const auto &[ticket, event] : recorded_)
    {
        rt.EventSynchronize(static_cast<cudaEvent_t>(event));
        rt.EventDestroy(static_cast<cudaEvent_t>(event));
    }
    for (void *event : spare_events_)
        rt.EventDestroy(static_cast<cudaEvent_t>(event));
    rt.StreamDestroy(static_cast<cudaStream_t>(stream_));
}

void cuda_copy_engine::report(int status, const char *what)
{
    errors_++;
    SPEAD2_LOG_WARNING("cuda_copy_engine: %s",
                       detail::get_cuda_runtime().message(cudaError_t(status), what).c_str());
}

memory_allocator::pointer cuda_copy_engine::allocate_staging(std::size_t size)
{
    return staging_allocator_->allocate(size, nullptr);
}

void cuda_copy_engine::copy_async(void *dest, const void *src, std::size_t n)
{
    const detail::cuda_runtime &rt = detail::get_cuda_runtime();
    // The stream's worker may serve other code between batches: make our device current.
    cudaError_t status = rt.SetDevice(device_);
    if (status == cudaSuccess)
        status = rt.MemcpyAsync(dest, src, n, cudaMemcpyHostToDevice, static_cast<cudaStream_t>(stream_));
    if (status != cudaSuccess)
        report(status, "cudaMemcpyAsync");
}

std::uint64_t cuda_copy_engine::record()
{
    const detail::cuda_runtime &rt = detail::get_cuda_runtime();
    cudaEvent_t event;
    if (!spare_events_.empty())
    {
        event = static_cast<cudaEvent_t>(spare_events_.back());
        spare_events_.pop_back();
    }
    else
    {
        const cudaError_t status = rt.EventCreateWithFlags(&event, cudaEventDisableTiming);
        if (status != cudaSuccess)
        {
            report(status, "cudaEventCreateWithFlags");
            // Without an event, waiting falls back to the events recorded before (or nothing).
            return next_ticket_++;
        }
    }
    const cudaError_t status = rt.EventRecord(event, static_cast<cudaStream_t>(stream_));
    if (status != cudaSuccess)
    {
        report(status, "cudaEventRecord");
        spare_events_.push_back(event);
        return next_ticket_++;
    }
    recorded_.emplace_back(next_ticket_, event);
    return next_ticket_++;
}

void cuda_copy_engine::wait(std::uint64_t ticket)
{
    const detail::cuda_runtime &rt = detail::get_cuda_runtime();
    // Events complete in stream order: waiting for the last one at or before the ticket is enough.
    void *last = nullptr;
    while (!recorded_.empty() && recorded_.front().first <= ticket)
    {
        if (last)
            spare_events_.push_back(last);
        last = recorded_.front().second;
        recorded_.pop_front();
    }
    if (!last)
        return;
    const cudaError_t status = rt.EventSynchronize(static_cast<cudaEvent_t>(last));
    if (status != cudaSuccess)
        report(status, "cudaEventSynchronize");
    spare_events_.push_back(last);
}

#else // !SPEAD2_USE_CUDA

cuda_copy_engine::cuda_copy_engine(int device)
    : device_(device)
{
    detail::get_cuda_runtime(); // throws
}

cuda_copy_engine::~cuda_copy_engine() = default;
void cuda_copy_engine::report(int, const char *) {}
memory_allocator::pointer cuda_copy_engine::allocate_staging(std::size_t)
{
    throw std::runtime_error("spead2 was built without CUDA support");
}
void cuda_copy_engine::copy_async(void *, const void *, std::size_t) {}
std::uint64_t cuda_copy_engine::record()
{
    return 0;
}
void cuda_copy_engine::wait(std::uint64_t) {}

#endif

chunk_copy_engine_factory cuda_copy_engine_factory(int device)
{
    // Fail now, where the user configures the stream, rather than in the stream constructor.
    if (std::string reason; !cuda_available(&reason))
        throw std::runtime_error(reason);
    return [device] { return std::make_unique<cuda_copy_engine>(device); };
}

} // namespace spead2::recv
