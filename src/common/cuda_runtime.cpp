// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Loading libcudart at run time.
#include <mutex>
#include <stdexcept>
#include "common/cuda_runtime.h"
#include "os/dynamic_library.h"

namespace spead2::detail
{

#if SPEAD2_USE_CUDA

namespace
{

// The runtime API renames some functions with macros (e.g. _v2 versions): bind what they expand to.
#define SPEAD2_CUDA_NAME(name) SPEAD2_CUDA_STR(name)
#define SPEAD2_CUDA_STR(name) #name
#define SPEAD2_CUDA_BIND(field) library.bind(rt.field, SPEAD2_CUDA_NAME(cuda##field))

struct loaded_runtime
{
    dynamic_library library;
    cuda_runtime rt;

    loaded_runtime()
        : library({SPEAD2_CUDART_SONAME, "libcudart.so"})
    {
        SPEAD2_CUDA_BIND(GetDeviceCount);
        SPEAD2_CUDA_BIND(GetErrorString);
        SPEAD2_CUDA_BIND(GetDevice);
        SPEAD2_CUDA_BIND(SetDevice);
        SPEAD2_CUDA_BIND(Malloc);
        SPEAD2_CUDA_BIND(Free);
        SPEAD2_CUDA_BIND(HostAlloc);
        SPEAD2_CUDA_BIND(FreeHost);
        SPEAD2_CUDA_BIND(Memcpy);
        SPEAD2_CUDA_BIND(MemcpyAsync);
        SPEAD2_CUDA_BIND(StreamCreateWithFlags);
        SPEAD2_CUDA_BIND(StreamDestroy);
        SPEAD2_CUDA_BIND(StreamSynchronize);
        SPEAD2_CUDA_BIND(EventCreateWithFlags);
        SPEAD2_CUDA_BIND(EventRecord);
        SPEAD2_CUDA_BIND(EventSynchronize);
        SPEAD2_CUDA_BIND(EventDestroy);
    }
};

#undef SPEAD2_CUDA_BIND

} // namespace

std::string cuda_runtime::message(cudaError_t status, const char *what) const
{
    return std::string(what) + ": " + GetErrorString(status);
}

void cuda_runtime::check(cudaError_t status, const char *what) const
{
    if (status != cudaSuccess)
        throw std::runtime_error(message(status, what));
}

cuda_device_scope::cuda_device_scope(const cuda_runtime &rt, int device)
    : rt_(rt)
{
    if (rt.GetDevice(&previous_) != cudaSuccess)
        previous_ = -1;
    if (previous_ != device)
        rt.check(rt.SetDevice(device), "cudaSetDevice");
}

cuda_device_scope::~cuda_device_scope()
{
    int current = -1;
    if (previous_ >= 0 && rt_.GetDevice(&current) == cudaSuccess && current != previous_)
        rt_.SetDevice(previous_);
}

const cuda_runtime &get_cuda_runtime()
{
    // Loaded once and never unloaded (other code may still call CUDA during exit); a failure
    // is remembered, so every caller gets the same message.
    static std::once_flag once;
    static loaded_runtime *loaded = nullptr;
    static std::string failure;
    std::call_once(once,
                   []
                   {
                       try
                       {
                           loaded = new loaded_runtime();
                       }
                       catch (std::exception &e)
                       {
                           failure = std::string("CUDA support needs the CUDA runtime (") + e.what() + ")";
                       }
                   });
    if (!loaded)
        throw std::runtime_error(failure);
    return loaded->rt;
}

#else

const cuda_runtime &get_cuda_runtime()
{
    throw std::runtime_error("spead2 was built without CUDA support");
}

#endif

} // namespace spead2::detail
