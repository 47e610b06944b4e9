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
 * The values --verify puts in the test items, as spead2's tools do: the outputs of
 * std::minstd_rand with its default seed, in order (the k-th is 48271^(k+1) mod 2^31 - 1). Item
 * @a item of heap @a cnt starts at k = ((cnt - 1) * heap_items + item) * elements, where
 * @a heap_items counts every item of the heap, descriptors included: that is what spead2's
 * receiver expects, so both tools agree with it (and a heap that is lost costs nothing).
 */
class verify_sequence
{
    static constexpr std::uint64_t modulus = 2147483647; // 2^31 - 1
    static constexpr std::uint64_t multiplier = 48271;
    std::uint64_t state_; ///< multiplier^k mod modulus: next() returns value k

public:
    verify_sequence(s_item_pointer_t cnt, std::size_t heap_items, std::size_t item, std::size_t elements)
    {
        // Unsigned arithmetic wraps as spead2's does; the generator's period is modulus - 1.
        std::uint64_t k = ((std::uint64_t(cnt) - 1) * heap_items + item) * elements;
        k %= modulus - 1;
        std::uint64_t base = multiplier;
        state_ = 1;
        for (; k != 0; k >>= 1)
        {
            if (k & 1)
                state_ = state_ * base % modulus;
            base = base * base % modulus;
        }
    }

    std::uint32_t next()
    {
        state_ = state_ * multiplier % modulus;
        return std::uint32_t(state_);
    }
};

/// Descriptor of test item @a item: @a elements big-endian uint32 values (numpy '>u4').
inline descriptor make_test_descriptor(std::size_t item, std::size_t elements)
{
    descriptor d;
    d.id = first_item_id + s_item_pointer_t(item);
    d.name = "Test item " + std::to_string(item);
    d.description = "A test item with arbitrary value";
    // The same bytes as spead2's tools (keys in this order).
    d.numpy_header = "{'shape': (" + std::to_string(elements) + ",), 'fortran_order': False, 'descr': '>u4'}";
    return d;
}

} // namespace spead2::tools

#endif // SPEAD2_TOOLS_CMDLINE_TEST_DATA_H
