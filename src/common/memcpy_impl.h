// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The individual memcpy_nontemporal variants, exposed so that tests can check each one.
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
    bool supported; ///< Whether this CPU can run it
};

/// Every variant built into this binary, widest last.
const memcpy_variant *get_memcpy_variants(std::size_t &count) noexcept;

} // namespace spead2::detail

#endif // SPEAD2_COMMON_MEMCPY_IMPL_H
