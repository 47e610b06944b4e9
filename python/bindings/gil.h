// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: GIL guards that survive interpreter finalisation.
///
/// On Python <= 3.13 a thread that tries to take the GIL while the interpreter finalises is ended
/// with pthread_exit. Its forced unwind runs C++ destructors without the GIL and aborts the process
/// at the first noexcept frame (nanobind's guards have noexcept destructors). These guards catch
/// that unwind where the GIL is taken and park the thread until the process exits instead, which is
/// what Python 3.14 does itself.
#ifndef SPEAD2_PYTHON_GIL_H
#define SPEAD2_PYTHON_GIL_H

#include <Python.h>
#include <nanobind/nanobind.h>
#include <spead2/common/ringbuffer.h>

namespace spead2::python
{

/// PyEval_RestoreThread, or never returns if the interpreter is finalising.
void restore_thread_or_park(PyThreadState *state) noexcept;
/// PyGILState_Ensure, or never returns if the interpreter is finalising.
PyGILState_STATE gil_ensure_or_park() noexcept;

/// Releases the GIL for its lifetime (use instead of nanobind::gil_scoped_release).
class gil_release
{
    PyThreadState *state;

public:
    gil_release()
        : state(PyEval_SaveThread())
    {
    }
    ~gil_release() { restore_thread_or_park(state); }
    gil_release(const gil_release &) = delete;
    gil_release &operator=(const gil_release &) = delete;
};

/// Holds the GIL for its lifetime from any thread (use instead of nanobind::gil_scoped_acquire).
class gil_acquire
{
    PyGILState_STATE state;

public:
    gil_acquire()
        : state(gil_ensure_or_park())
    {
    }
    ~gil_acquire() { PyGILState_Release(state); }
    gil_acquire(const gil_acquire &) = delete;
    gil_acquire &operator=(const gil_acquire &) = delete;
};

/// Raises KeyboardInterrupt & co. from a wait that runs with the GIL released (the interrupt
/// callback of ringbuffer::pop and push). Takes the GIL to check.
void check_signals();

/**
 * Pops the next item of @a ring. One that is ready is taken with the GIL held (no GIL round trip,
 * no exception thrown); otherwise the GIL is released while waiting, and signals are checked.
 * (Polling for a few microseconds before blocking was tried and did not help on the 2-core
 * development machine.)
 * @throws ringbuffer_stopped once the ring is stopped and empty.
 */
template<typename Ring>
auto pop_releasing_gil(Ring &ring)
{
    if (ring.size() > 0)
    {
        try
        {
            return ring.try_pop();
        }
        catch (ringbuffer_empty &)
        {
            // Another consumer took it: wait below.
        }
    }
    gil_release release;
    return ring.pop(&check_signals);
}

/// Put on every binding that can block (waits, joins, I/O): `m.def("f", &f, release_gil())`.
using release_gil = nanobind::call_guard<gil_release>;

} // namespace spead2::python

#endif // SPEAD2_PYTHON_GIL_H
