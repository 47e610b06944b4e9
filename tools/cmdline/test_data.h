// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The items spead2_send and spead2_bench put in their heaps, and the values --verify checks.
#ifndef SPEAD2_TOOLS_CMDLINE_TEST_DATA_H
#define SPEAD2_TOOLS_CMDLINE_TEST_DATA_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <spead2/protocol/constants.h>
#include <spead2/protocol/descriptor.h>

namespace spead2::tools
{

/// ID of the first test item; item i has ID first_item_id + i.
static constexpr s_item_pointer_t first_item_id = 0x1000;

/**
 * The value --verify puts in element @a index of item @a item of heap @a cnt: a fixed mix of the
 * three (so a receiver can check it without any shared state), looking random.
 */
inline std::uint32_t verify_value(s_item_pointer_t cnt, std::size_t item, std::size_t index)
{
    std::uint64_t x = std::uint64_t(cnt) * 0x9E3779B97F4A7C15ULL ^ (std::uint64_t(item) << 40) ^ index;
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return std::uint32_t(x);
}

/// Descriptor of test item @a item: @a elements big-endian uint32 values (numpy '>u4').
inline descriptor make_test_descriptor(std::size_t item, std::size_t elements)
{
    descriptor d;
    d.id = first_item_id + s_item_pointer_t(item);
    d.name = "Test item " + std::to_string(item);
    d.description = "A test item with arbitrary value";
    d.numpy_header = "{'descr': '>u4', 'fortran_order': False, 'shape': (" + std::to_string(elements) + ",)}";
    return d;
}

} // namespace spead2::tools

#endif // SPEAD2_TOOLS_CMDLINE_TEST_DATA_H
