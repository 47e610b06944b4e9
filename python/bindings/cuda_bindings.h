// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// spead2.recv.cuda: GPU chunk memory from Python.
#ifndef SPEAD2_PYTHON_CUDA_BINDINGS_H
#define SPEAD2_PYTHON_CUDA_BINDINGS_H

#include <nanobind/nanobind.h>
#include <Python.h>
#include <spead2/recv/chunk_copy_engine.h>

namespace spead2::python
{

/**
 * If @a obj exports __cuda_array_interface__ (a C-contiguous, writable device array: CuPy,
 * PyTorch, numba.cuda, DeviceBuffer), fills @a view with its address and size and a reference
 * to @a obj (PyBuffer_Release then just drops it) and returns true; returns false for any other
 * object. @throws nb::python_error (ValueError) for an interface that cannot be used
 */
bool get_cuda_array(nanobind::handle obj, Py_buffer &view);

/// The submodule spead2._spead2.recv.cuda (is_available, DeviceBuffer, pinned_buffer, CopyEngine).
void bind_cuda(nanobind::module_ &recv);

/// spead2.recv.cuda.CopyEngine: a CUDA device to copy chunk payload to (one CUDA stream per stream).
struct py_copy_engine
{
    int device;
    recv::chunk_copy_engine_factory factory;
};

} // namespace spead2::python

#endif // SPEAD2_PYTHON_CUDA_BINDINGS_H
