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
    detail::cuda_device_scope scope(rt, device);
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
    cudaError_t status;
    try
    {
        // Our device current for the call only: the worker's thread may serve other CUDA code.
        detail::cuda_device_scope scope(rt, device_);
        status = rt.MemcpyAsync(dest, src, n, cudaMemcpyHostToDevice, static_cast<cudaStream_t>(stream_));
    }
    catch (std::runtime_error &e)
    {
        errors_++;
        SPEAD2_LOG_WARNING("cuda_copy_engine: %s", e.what());
        return;
    }
    if (status != cudaSuccess)
        report(status, "cudaMemcpyAsync");
}

std::uint64_t cuda_copy_engine::record()
{
    const detail::cuda_runtime &rt = detail::get_cuda_runtime();
    const std::uint64_t ticket = next_ticket_++;
    cudaEvent_t event = nullptr;
    cudaError_t status = cudaSuccess;
    const char *what = "cudaEventRecord";
    try
    {
        // Events belong to the device that is current when they are made and recorded.
        detail::cuda_device_scope scope(rt, device_);
        if (!spare_events_.empty())
        {
            event = static_cast<cudaEvent_t>(spare_events_.back());
            spare_events_.pop_back();
        }
        else
        {
            status = rt.EventCreateWithFlags(&event, cudaEventDisableTiming);
            what = "cudaEventCreateWithFlags";
        }
        if (status == cudaSuccess)
            status = rt.EventRecord(event, static_cast<cudaStream_t>(stream_));
    }
    catch (std::runtime_error &)
    {
        status = cudaErrorInvalidDevice;
        what = "cudaSetDevice";
    }
    if (status != cudaSuccess)
    {
        report(status, what);
        if (event)
            spare_events_.push_back(event);
        synchronize_on_wait_ = true; // no event to wait for: wait for the whole CUDA stream
        return ticket;
    }
    recorded_.emplace_back(ticket, event);
    return ticket;
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
    if (last)
    {
        const cudaError_t status = rt.EventSynchronize(static_cast<cudaEvent_t>(last));
        if (status != cudaSuccess)
        {
            report(status, "cudaEventSynchronize");
            synchronize_on_wait_ = true;
        }
        spare_events_.push_back(last);
    }
    if (synchronize_on_wait_)
    {
        // An event went missing: waiting for everything queued is the safe fallback.
        const cudaError_t status = rt.StreamSynchronize(static_cast<cudaStream_t>(stream_));
        if (status != cudaSuccess)
            report(status, "cudaStreamSynchronize");
        synchronize_on_wait_ = false;
    }
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
