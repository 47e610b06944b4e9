// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: pieces shared by the recv binding files (recv.cpp, recv_stream.cpp).
#ifndef SPEAD2_PYTHON_RECV_BINDINGS_H
#define SPEAD2_PYTHON_RECV_BINDINGS_H

#include <nanobind/nanobind.h>
#include <spead2/recv/live_heap.h>

namespace spead2::python
{

/**
 * Freezes a heap popped from a ring into a Python spead2.recv.Heap (contiguous) or IncompleteHeap
 * (whose byte ranges are recorded if @a keep_payload_ranges). Needs the GIL.
 */
nanobind::object heap_to_python(recv::live_heap &&h, bool keep_payload_ranges);

/// _Stream, Stream and Stream.Ringbuffer (recv_stream.cpp); after the heap and config classes.
void bind_recv_streams(nanobind::module_ &m);

} // namespace spead2::python

#endif // SPEAD2_PYTHON_RECV_BINDINGS_H
