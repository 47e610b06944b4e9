// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A program that uses an installed spead2, built by both consumer projects (find_package and
/// pkg-config). It needs the headers, the library's symbols and its link dependencies.
#include <cstdio>
#include <spead2/common/thread_pool.h>
#include <spead2/features.h>
#include <spead2/protocol/flavour.h>

// Asio's handler memory is shared with the library, so both must pick the same allocation functions.
#ifndef ASIO_DISABLE_STD_ALIGNED_ALLOC
#error "the package does not pass ASIO_DISABLE_STD_ALIGNED_ALLOC to its users"
#endif

int main()
{
    spead2::flavour f(4, 64, 48, spead2::BUG_COMPAT_SWAP_ENDIAN);
    spead2::thread_pool pool(1);
    pool.stop();
    std::printf("spead2 %s: SPEAD-%d-%d bug_compat=%u threads=%d\n", SPEAD2_VERSION,
                f.get_item_pointer_bits(), f.get_heap_address_bits(),
                static_cast<unsigned int>(f.get_bug_compat()), pool.get_num_threads());
    return 0;
}
