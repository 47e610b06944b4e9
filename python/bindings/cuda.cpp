// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// spead2.recv.cuda: device and pinned buffers, the copy engine, and device arrays as chunk data.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <spead2/common/cuda.h>
#include <spead2/recv/cuda_copy_engine.h>
#include "bindings_util.h"
#include "cuda_bindings.h"
#include "common/cuda_runtime.h"
#include "string_caster.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace spead2::python
{

namespace
{

[[noreturn]] void value_error(const std::string &message)
{
    PyErr_SetString(PyExc_ValueError, message.c_str());
    throw nb::python_error();
}

/// Device memory owned by Python: what DeviceBuffer(nbytes, device) allocates.
class device_buffer
{
public:
    std::shared_ptr<cuda_device_allocator> allocator;
    memory_allocator::pointer memory;
    std::size_t nbytes;

    device_buffer(std::size_t size, int device)
        : allocator(std::make_shared<cuda_device_allocator>(device))
        , memory(allocator->allocate(size, nullptr))
        , nbytes(size)
    {
    }

    std::uintptr_t ptr() const { return reinterpret_cast<std::uintptr_t>(memory.get()); }
};

/// The CUDA device a memory area is on (its __dlpack_device__), and a view over it.
nb::ndarray<std::uint8_t, nb::ndim<1>, nb::c_contig> as_ndarray(nb::handle self, device_buffer &b)
{
    const std::size_t shape[1] = {b.nbytes};
    return nb::ndarray<std::uint8_t, nb::ndim<1>, nb::c_contig>(
        b.memory.get(), 1, shape, self, nullptr, nb::dtype<std::uint8_t>(), nb::device::cuda::value,
        b.allocator->get_device());
}

} // namespace

bool get_cuda_array(nb::handle obj, Py_buffer &view)
{
    if (!nb::hasattr(obj, "__cuda_array_interface__"))
        return false;
    nb::dict iface = nb::cast<nb::dict>(obj.attr("__cuda_array_interface__"));
    nb::tuple data = nb::cast<nb::tuple>(iface["data"]);
    if (nb::cast<truthy>(data[1]))
        value_error("chunk data: the device array is read-only");
    const std::string typestr = nb::cast<std::string>(iface["typestr"]);
    const std::size_t itemsize = typestr.size() > 2 ? std::stoul(typestr.substr(2)) : 0;
    if (itemsize == 0)
        value_error("chunk data: cannot read the item size from typestr '" + typestr + "'");
    std::size_t size = itemsize;
    nb::tuple shape = nb::cast<nb::tuple>(iface["shape"]);
    std::vector<std::size_t> dims;
    for (nb::handle d : shape)
    {
        dims.push_back(nb::cast<std::size_t>(d));
        size *= dims.back();
    }
    if (iface.contains("strides") && !iface["strides"].is_none())
    {
        // Strides are allowed when they describe the C-contiguous layout anyway.
        nb::tuple strides = nb::cast<nb::tuple>(iface["strides"]);
        std::size_t expected = itemsize;
        for (std::size_t i = dims.size(); i-- > 0;)
        {
            if (dims[i] > 1 && nb::cast<std::size_t>(strides[i]) != expected)
                value_error("chunk data: the device array is not C-contiguous");
            expected *= dims[i];
        }
    }
#if SPEAD2_USE_CUDA
    // Interface version 3: work the producer queued on its stream (e.g. CuPy zeroing the array)
    // must finish before our copies, which run on a stream of their own.
    if (iface.contains("stream") && !iface["stream"].is_none())
    {
        const std::uintptr_t producer = nb::cast<std::uintptr_t>(iface["stream"]);
        const cudaStream_t stream = producer == 1   ? cudaStreamLegacy
                                    : producer == 2 ? cudaStreamPerThread
                                                    : reinterpret_cast<cudaStream_t>(producer);
        const detail::cuda_runtime &rt = detail::get_cuda_runtime();
        rt.check(rt.StreamSynchronize(stream), "chunk data: cudaStreamSynchronize on the array's stream");
    }
#endif
    view = Py_buffer{};
    view.buf = reinterpret_cast<void *>(nb::cast<std::uintptr_t>(data[0]));
    view.len = Py_ssize_t(size);
    view.itemsize = 1;
    view.obj = obj.inc_ref().ptr();
    return true;
}

void bind_cuda(nb::module_ &recv)
{
    nb::module_ m = recv.def_submodule(
        "cuda", "GPU chunk memory: chunks received straight into device memory (docs/user/gpu.md).");
    m.def(
        "is_available",
        []
        {
            std::string reason;
            return cuda_available(&reason);
        },
        "Whether CUDA can be used: spead2 built with it, libcudart found, a device present.");
    m.def(
        "unavailable_reason",
        []
        {
            std::string reason;
            return cuda_available(&reason) ? std::string() : reason;
        },
        "Why CUDA cannot be used (empty if it can).");

    nb::class_<device_buffer>(
        m, "DeviceBuffer", nb::is_weak_referenceable(),
        "Device memory (cudaMalloc) for chunk data; exposes __cuda_array_interface__ and "
        "DLPack, so CuPy, PyTorch and numba.cuda use it without copies.")
        .def(nb::init<std::size_t, int>(), "nbytes"_a, "device"_a = 0)
        .def_ro("nbytes", &device_buffer::nbytes)
        .def_prop_ro("device", [](const device_buffer &b) { return b.allocator->get_device(); })
        .def_prop_ro("ptr", &device_buffer::ptr)
        .def_prop_ro("__cuda_array_interface__",
                     [](const device_buffer &b)
                     {
                         nb::dict iface;
                         iface["shape"] = nb::make_tuple(b.nbytes);
                         iface["typestr"] = "|u1";
                         iface["data"] = nb::make_tuple(b.ptr(), false);
                         iface["strides"] = nb::none();
                         iface["version"] = 3;
                         return iface;
                     })
        .def(
            "__dlpack__",
            [](nb::handle self, nb::kwargs kwargs) {
                return nb::cast(as_ndarray(self, nb::cast<device_buffer &>(self)))
                    .attr("__dlpack__")(**kwargs);
            },
            "kwargs"_a)
        .def("__dlpack_device__", [](const device_buffer &b)
             { return nb::make_tuple(int(nb::device::cuda::value), b.allocator->get_device()); })
        .def(
            "to_bytes",
            [](const device_buffer &b)
            {
#if SPEAD2_USE_CUDA
                const detail::cuda_runtime &rt = detail::get_cuda_runtime();
                std::string out(b.nbytes, '\0');
                rt.check(rt.Memcpy(out.data(), b.memory.get(), b.nbytes, cudaMemcpyDeviceToHost),
                         "cudaMemcpy");
                return nb::bytes(out.data(), out.size());
#else
                (void) b;
                return nb::bytes();
#endif
            },
            "A copy of the contents in host memory (for tests and debugging).");

    m.def(
        "pinned_buffer",
        [](std::size_t nbytes)
        {
            auto allocator = std::make_shared<cuda_pinned_allocator>();
            auto *memory = new memory_allocator::pointer(allocator->allocate(nbytes, nullptr));
            nb::capsule owner(memory,
                              [](void *p) noexcept { delete static_cast<memory_allocator::pointer *>(p); });
            const std::size_t shape[1] = {nbytes};
            return nb::ndarray<nb::numpy, std::uint8_t, nb::ndim<1>>(memory->get(), 1, shape, owner);
        },
        "nbytes"_a, "A numpy uint8 array of nbytes in pinned host memory (cudaHostAlloc).");

    nb::class_<py_copy_engine>(m, "CopyEngine", nb::is_weak_referenceable(),
                               "For ChunkStreamConfig.copy_engine: chunk data is device memory on this "
                               "device, filled through pinned staging buffers and asynchronous copies "
                               "(one CUDA stream per chunk stream).")
        .def(
            "__init__",
            [](py_copy_engine *self, int device) {
                new (self) py_copy_engine{device, recv::cuda_copy_engine_factory(device)};
            },
            "device"_a = 0)
        .def_ro("device", &py_copy_engine::device);
}

} // namespace spead2::python
