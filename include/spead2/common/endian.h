// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Big-endian conversions: of values (htobe, betoh, as spead2 has them) and loads and stores that are
/// safe on unaligned buffers.
#ifndef SPEAD2_COMMON_ENDIAN_H
#define SPEAD2_COMMON_ENDIAN_H

#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace spead2
{

/// @a value in big-endian byte order (a byte swap on little-endian hosts).
template<typename T>
constexpr T htobe(T value)
{
    static_assert(std::is_unsigned_v<T>);
    if constexpr (std::endian::native == std::endian::little && sizeof(T) > 1)
        return T(__builtin_bswap64(std::uint64_t(value) << (64 - 8 * sizeof(T))));
    else
        return value;
}

/// @a value, in big-endian byte order, in the host's order (the same swap as htobe).
template<typename T>
constexpr T betoh(T value)
{
    return htobe(value);
}

/// Reads a big-endian unsigned integer of type T from @a ptr (any alignment).
template<typename T>
inline T load_be(const void *ptr)
{
    static_assert(std::is_unsigned_v<T>);
    T value;
    std::memcpy(&value, ptr, sizeof(T));
    return betoh(value);
}

/// Writes @a value as a big-endian unsigned integer to @a ptr (any alignment).
template<typename T>
inline void store_be(void *ptr, T value)
{
    static_assert(std::is_unsigned_v<T>);
    value = htobe(value);
    std::memcpy(ptr, &value, sizeof(T));
}

} // namespace spead2

#endif // SPEAD2_COMMON_ENDIAN_H
