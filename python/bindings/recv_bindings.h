// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: pieces shared by the recv binding files (recv.cpp, recv_stream.cpp).
#ifndef SPEAD2_PYTHON_RECV_BINDINGS_H
#define SPEAD2_PYTHON_RECV_BINDINGS_H

#include <memory>
#include <vector>
#include <Python.h>
#include <nanobind/nanobind.h>
#include <spead2/recv/live_heap.h>
#include <spead2/recv/stream.h>
#include "common.h"
#include "gil.h"

namespace spead2::python
{

/**
 * Freezes a heap popped from a ring into a Python spead2.recv.Heap (contiguous) or IncompleteHeap
 * (whose byte ranges are recorded if @a keep_payload_ranges). Needs the GIL.
 */
nanobind::object heap_to_python(recv::live_heap &&h, bool keep_payload_ranges);

/**
 * What every Python receive stream holds besides its C++ stream: the Python buffers that memory
 * readers read from. Reached from the shared _Stream methods through get_extras, because nanobind
 * only supports single inheritance at offset 0 (so this must not be the first base of a class
 * bound with a _Stream base).
 */
class stream_extras
{
public:
    virtual ~stream_extras() = default;
    /// Kept until the stream is stopped and detached; only touched with the GIL held.
    std::vector<std::unique_ptr<buffer_view>> buffers;
};

/**
 * The extras of a Python stream: the stream itself, or for a chunk stream group member, its group
 * (which must derive from stream_extras). @throws std::logic_error for any other stream
 */
stream_extras &get_extras(recv::stream &s);

/// Runs @a f with the GIL released if this thread holds it (destructors run with or without it).
template<typename F>
void without_gil(F &&f)
{
    if (Py_IsInitialized() && PyGILState_Check())
    {
        gil_release release;
        f();
    }
    else
        f();
}

/// _Stream, Stream and Stream.Ringbuffer (recv_stream.cpp); after the heap and config classes.
void bind_recv_streams(nanobind::module_ &m);

} // namespace spead2::python

#endif // SPEAD2_PYTHON_RECV_BINDINGS_H
