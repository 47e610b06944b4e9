// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The report made when a blocking wait happens under a checked lock.
#include <cstdio>
#include <cstdlib>
#include <spead2/common/checked_mutex.h>

namespace spead2::detail
{

void blocking_under_lock(const char *what, int held) noexcept
{
    // Not through the logger: its sink may itself need a lock, and the process is about to abort.
    std::fprintf(stderr, "spead2: %s would block while holding %d checked lock(s) (see DESIGN.md)\n", what,
                 held);
    std::abort();
}

} // namespace spead2::detail
