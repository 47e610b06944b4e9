// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The individual memcpy_nontemporal variants (exposed so that tests can check each one), and the
/// unfenced form for copying many pieces.
#ifndef SPEAD2_COMMON_MEMCPY_IMPL_H
#define SPEAD2_COMMON_MEMCPY_IMPL_H

#include <cstddef>

namespace spead2::detail
{

typedef void *(*memcpy_function_ptr)(void *__restrict, const void *__restrict, std::size_t) noexcept;

struct memcpy_variant
{
    const char *name;
    memcpy_function_ptr function;
    memcpy_function_ptr unfenced; ///< The same copy without the closing store fence
    bool supported;               ///< Whether this CPU can run it
};

/// Every variant built into this binary, widest last.
const memcpy_variant *get_memcpy_variants(std::size_t &count) noexcept;

/**
 * memcpy_nontemporal without its closing store fence, for callers that copy many pieces and
 * publish them together: they must call store_fence() before another thread may read the copies.
 */
void *memcpy_nontemporal_unfenced(void *__restrict dest, const void *__restrict src, std::size_t n) noexcept;

/// std::memcpy's result with ordinary (cached) stores, by the fastest loop for this CPU (MEMCPY_STD).
void *memcpy_cached(void *__restrict dest, const void *__restrict src, std::size_t n) noexcept;

/// Orders earlier non-temporal stores of this thread before its later stores (sfence on x86).
void store_fence() noexcept;

} // namespace spead2::detail

#endif // SPEAD2_COMMON_MEMCPY_IMPL_H
