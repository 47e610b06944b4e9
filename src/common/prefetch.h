// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Software prefetch of a byte range, for packet data the hardware prefetcher does not see coming.
#ifndef SPEAD2_COMMON_PREFETCH_H
#define SPEAD2_COMMON_PREFETCH_H

#include <cstddef>
#include <cstdint>

namespace spead2::detail
{

/// Starts loading every cache line of [@a data, @a data + @a size) into the caches.
inline void prefetch_range(const std::uint8_t *data, std::size_t size)
{
    constexpr std::size_t cache_line = 64;
    for (std::size_t offset = 0; offset < size; offset += cache_line)
        __builtin_prefetch(data + offset);
}

} // namespace spead2::detail

#endif // SPEAD2_COMMON_PREFETCH_H
