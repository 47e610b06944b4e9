// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Validation of a memcpy_choice.
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <spead2/common/memcpy.h>
#include <spead2/recv/memcpy_choice.h>
#include "common/memcpy_impl.h"

namespace spead2::recv
{

namespace
{

// MEMCPY_STD: ordinary stores, by our fastest loop (a memcpy_function_t is not noexcept, the
// copy routines are).
void *std_memcpy(void *__restrict dest, const void *__restrict src, std::size_t n)
{
    return spead2::detail::memcpy_cached(dest, src, n);
}

void *nontemporal_memcpy(void *__restrict dest, const void *__restrict src, std::size_t n)
{
    return memcpy_nontemporal(dest, src, n);
}

} // namespace

memcpy_choice::memcpy_choice()
    : function_(std_memcpy)
{
}

memcpy_choice::memcpy_choice(memcpy_function_id id)
    : kind_(kind::builtin)
    , id_(id)
{
    switch (id)
    {
    case MEMCPY_STD:
        function_ = std_memcpy;
        break;
    case MEMCPY_NONTEMPORAL:
        function_ = nontemporal_memcpy;
        break;
    default:
        throw std::invalid_argument("unknown memcpy function id " + std::to_string(unsigned(id)));
    }
}

memcpy_choice::memcpy_choice(memcpy_function_t function)
    : kind_(kind::plain)
    , function_(function)
{
    if (!function)
        throw std::invalid_argument("memcpy function must not be null");
}

memcpy_choice::memcpy_choice(memcpy_context_function_t function, void *context)
    : kind_(kind::with_context)
    , function_(nullptr)
    , context_function_(function)
    , context_(context)
{
    if (!function)
        throw std::invalid_argument("memcpy function must not be null");
}

memcpy_choice::memcpy_choice(packet_memcpy_function function)
    : kind_(kind::per_packet)
    , function_(nullptr)
{
    if (!function)
        throw std::invalid_argument("packet memcpy function must not be empty");
    packet_function_ = std::make_shared<const packet_memcpy_function>(std::move(function));
}

memcpy_function_id memcpy_choice::get_id() const
{
    if (is_custom())
        throw std::invalid_argument("stream_config has a custom memcpy function");
    return id_;
}

} // namespace spead2::recv
