// SPDX-License-Identifier: LGPL-3.0-or-later
#include "gil.h"

#include <cxxabi.h>
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

void restore_thread_or_park(PyThreadState *state) noexcept
{
    try
    {
        PyEval_RestoreThread(state);
    }
    catch (abi::__forced_unwind &)
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
    catch (abi::__forced_unwind &)
    {
        park_forever();
    }
}

} // namespace spead2::python
