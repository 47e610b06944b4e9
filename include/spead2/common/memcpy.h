// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// memcpy with non-temporal (cache-bypassing) stores.
#ifndef SPEAD2_COMMON_MEMCPY_H
#define SPEAD2_COMMON_MEMCPY_H

#include <cstddef>

namespace spead2
{

/**
 * Copies like std::memcpy (same result for every size and alignment; the ranges must not
 * overlap) but writes the bulk with streaming stores, so a large copy into memory that will be
 * read by another core or device does not evict the cache. The widest of AVX-512, AVX2 and SSE2
 * that the CPU supports is chosen at run time; other architectures use std::memcpy.
 * @returns @a dest
 */
void *memcpy_nontemporal(void *__restrict dest, const void *__restrict src, std::size_t n) noexcept;

} // namespace spead2

#endif // SPEAD2_COMMON_MEMCPY_H
