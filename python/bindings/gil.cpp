// SPDX-License-Identifier: LGPL-3.0-or-later
#include "gil.h"

#include <unistd.h>

namespace spead2::python
{

namespace
{

/// The thread may hold pointers into objects the main thread is destroying: it must never run again.
[[noreturn]] void park_forever() noexcept
{
    for (;;)
        pause();
}

} // namespace

// Both catch with `...`: only the forced unwind can arrive (these are C calls), and it has no C++
// object, so catching it as `abi::__forced_unwind &` binds a reference to null (UBSan says so).

void restore_thread_or_park(PyThreadState *state) noexcept
{
    try
    {
        PyEval_RestoreThread(state);
    }
    catch (...)
    {
        park_forever();
    }
}

PyGILState_STATE gil_ensure_or_park() noexcept
{
    try
    {
        return PyGILState_Ensure();
    }
    catch (...)
    {
        park_forever();
    }
}

void check_signals()
{
    gil_acquire gil;
    if (PyErr_CheckSignals() != 0)
        throw nanobind::python_error();
}

} // namespace spead2::python
